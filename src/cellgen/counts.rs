//! Turning generator outputs (ZINB parameters per gene) into a cell's counts.

use super::distributions::zinb;
use crate::error::{Error, Result};
use crate::matrix::CsrRows;
use crate::rng::Rng;

/// Per-gene parameters of the zero-inflated negative binomial for one cell.
#[derive(Debug, Clone, Copy)]
pub struct ZinbParams<'a> {
    /// NB means `mu` (≥ 0), one per gene.
    pub mu: &'a [f32],
    /// Inverse dispersions `theta` (> 0), one per gene.
    pub theta: &'a [f32],
    /// Zero-inflation logits (probability = sigmoid), one per gene.
    pub zi_logits: &'a [f32],
}

impl ZinbParams<'_> {
    /// Checks lengths and value ranges.
    ///
    /// # Errors
    /// [`Error::Shape`] for length mismatches, [`Error::InvalidArgument`] naming the first gene
    /// with an impossible value (negative or non-finite `mu`, non-positive `theta`, NaN logit).
    pub fn validate(&self) -> Result<()> {
        let n = self.mu.len();
        if self.theta.len() != n || self.zi_logits.len() != n {
            return Err(Error::Shape(format!(
                "ZINB parameters disagree in length: mu {n}, theta {}, zi_logits {}",
                self.theta.len(),
                self.zi_logits.len()
            )));
        }
        for g in 0..n {
            let (m, t, z) = (self.mu[g], self.theta[g], self.zi_logits[g]);
            if !(m.is_finite() && m >= 0.0 && t.is_finite() && t > 0.0) || z.is_nan() {
                return Err(Error::InvalidArgument(format!(
                    "gene {g}: invalid ZINB parameters mu={m}, theta={t}, zi_logit={z}"
                )));
            }
        }
        Ok(())
    }
}

/// What to return for a generated cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CountMode {
    /// Integer counts drawn from the ZINB (seeded).
    #[default]
    Sample,
    /// The distribution's expected value `(1 - π) μ` (not integers).
    Expected,
    /// The negative-binomial mean `μ`, ignoring zero inflation (not integers).
    Mu,
}

fn sigmoid(x: f32) -> f64 {
    1.0 / (1.0 + (-(x as f64)).exp())
}

/// Appends one cell (a CSR row over the model's genes, zeros not stored) to `out`.
///
/// With [`CountMode::Sample`], genes are drawn in order from `rng`, so a cell's counts depend
/// only on its parameters and its random stream.
///
/// # Errors
/// As [`ZinbParams::validate`]; [`Error::Shape`] if `out` has another number of columns.
pub fn append_cell(
    params: ZinbParams<'_>,
    mode: CountMode,
    rng: &mut Rng,
    out: &mut CsrRows,
) -> Result<()> {
    params.validate()?;
    if out.n_cols != params.mu.len() {
        return Err(Error::Shape(format!(
            "output has {} genes, parameters have {}",
            out.n_cols,
            params.mu.len()
        )));
    }
    for g in 0..params.mu.len() {
        let mu = params.mu[g] as f64;
        let z = params.zi_logits[g];
        let v = match mode {
            CountMode::Sample => zinb(rng, mu, params.theta[g] as f64, sigmoid(z)),
            // sigmoid(-z) = 1 - π without cancellation for large logits.
            CountMode::Expected => sigmoid(-z) * mu,
            CountMode::Mu => mu,
        };
        if v != 0.0 {
            out.indices.push(g as u32);
            out.data.push(v as f32);
        }
    }
    out.indptr.push(out.indices.len() as u64);
    Ok(())
}

/// The log-library-size prior of the generator: `l ~ Normal(mean, sqrt(var))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LibraryPrior {
    /// Mean of the log library size.
    pub log_mean: f32,
    /// Variance of the log library size (≥ 0).
    pub log_var: f32,
}

impl LibraryPrior {
    /// Draws a log library size.
    pub fn sample(&self, rng: &mut Rng) -> f32 {
        (self.log_mean as f64 + self.log_var.max(0.0).sqrt() as f64 * rng.normal()) as f32
    }
}

/// Fills `z` with independent standard normal deviates (the generator's latent input).
pub fn standard_normal(rng: &mut Rng, z: &mut [f32]) {
    for v in z {
        *v = rng.normal() as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        (
            vec![0.0, 2.0, 30.0, 0.5],
            vec![1.0, 0.5, 10.0, 2.0],
            vec![0.0, -3.0, 1.0, 50.0],
        )
    }

    #[test]
    fn expected_and_mu_modes() {
        let (mu, theta, zi) = params();
        let p = ZinbParams {
            mu: &mu,
            theta: &theta,
            zi_logits: &zi,
        };
        let mut out = CsrRows::new(4);
        let mut rng = Rng::new(0);
        append_cell(p, CountMode::Mu, &mut rng, &mut out).unwrap();
        append_cell(p, CountMode::Expected, &mut rng, &mut out).unwrap();
        assert_eq!(out.row(0), (&[1u32, 2, 3][..], &[2.0f32, 30.0, 0.5][..]));
        let (idx, val) = out.row(1);
        assert_eq!(idx, &[1, 2, 3]);
        let pi = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((val[1] as f64 - (1.0 - pi) * 30.0).abs() < 1e-4);
        assert!(val[2] < 1e-20, "logit 50 zeroes nearly everything");
        out.validate().unwrap();
    }

    #[test]
    fn sampling_is_seeded_and_integer() {
        let (mu, theta, zi) = params();
        let p = ZinbParams {
            mu: &mu,
            theta: &theta,
            zi_logits: &zi,
        };
        let draw = |seed| {
            let mut out = CsrRows::new(4);
            let mut rng = Rng::new(seed);
            for _ in 0..20 {
                append_cell(p, CountMode::Sample, &mut rng, &mut out).unwrap();
            }
            out
        };
        let a = draw(1);
        assert_eq!(a, draw(1));
        assert_ne!(a, draw(2));
        assert!(a.data.iter().all(|v| v.fract() == 0.0 && *v > 0.0));
        assert!(!a.indices.contains(&0), "mu = 0 never yields counts");
        assert_eq!(a.n_rows(), 20);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let (mu, theta, zi) = params();
        let mut rng = Rng::new(0);
        let mut out = CsrRows::new(4);
        let short = ZinbParams {
            mu: &mu[..3],
            theta: &theta,
            zi_logits: &zi,
        };
        assert!(matches!(
            append_cell(short, CountMode::Sample, &mut rng, &mut out),
            Err(Error::Shape(_))
        ));
        let neg = vec![1.0, -1.0, 1.0, 1.0];
        let bad = ZinbParams {
            mu: &neg,
            theta: &theta,
            zi_logits: &zi,
        };
        let err = append_cell(bad, CountMode::Sample, &mut rng, &mut out).unwrap_err();
        assert!(err.to_string().contains("gene 1"), "{err}");
        let zero_theta = vec![1.0, 1.0, 0.0, 1.0];
        let bad = ZinbParams {
            mu: &mu,
            theta: &zero_theta,
            zi_logits: &zi,
        };
        assert!(append_cell(bad, CountMode::Mu, &mut rng, &mut out).is_err());
        let mut wrong_width = CsrRows::new(5);
        let ok = ZinbParams {
            mu: &mu,
            theta: &theta,
            zi_logits: &zi,
        };
        assert!(matches!(
            append_cell(ok, CountMode::Mu, &mut rng, &mut wrong_width),
            Err(Error::Shape(_))
        ));
        assert_eq!(out.n_rows(), 0, "nothing appended on error");
    }

    #[test]
    fn library_prior_moments() {
        let prior = LibraryPrior {
            log_mean: 7.5,
            log_var: 0.25,
        };
        let mut rng = Rng::new(4);
        let xs: Vec<f32> = (0..50_000).map(|_| prior.sample(&mut rng)).collect();
        let m = xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len() as f64;
        let v = xs.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((m - 7.5).abs() < 0.01);
        assert!((v - 0.25).abs() < 0.01);
        let mut z = [0f32; 1000];
        standard_normal(&mut rng, &mut z);
        assert!(z.iter().all(|v| v.is_finite()) && z.iter().any(|&v| v < 0.0));
    }
}
