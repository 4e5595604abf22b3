//! Samplers for the distributions behind generated counts: Gamma, Poisson, and their mixture.
//! All draw from the crate's portable [`Rng`], so a seed fixes every count.

use crate::rng::Rng;

/// Natural logarithm of the Gamma function for `x > 0` (Stirling series after shifting the
/// argument to at least 10; absolute error below 1e-12 over the range used here).
pub fn ln_gamma(x: f64) -> f64 {
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv
        * (1.0 / 12.0
            - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 / 1188.0))));
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

/// A Gamma(shape, rate) deviate (mean `shape / rate`), by Marsaglia and Tsang's method; shapes
/// below 1 use the `U^(1/shape)` boost.
pub fn gamma(rng: &mut Rng, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        let u = rng.uniform_open();
        return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let (x, v) = loop {
            let x = rng.normal();
            let v = 1.0 + c * x;
            if v > 0.0 {
                break (x, v * v * v);
            }
        };
        let u = rng.uniform_open();
        if u < 1.0 - 0.0331 * x * x * x * x || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v / rate;
        }
    }
}

/// A Poisson(`lambda`) deviate: sequential inversion for small means, Hörmann's transformed
/// rejection with squeeze (PTRS) from 10 on.
pub fn poisson(rng: &mut Rng, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda < 10.0 {
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let u = rng.uniform();
        let mut k = 0.0;
        while u > cdf {
            k += 1.0;
            p *= lambda / k;
            cdf += p;
            if p == 0.0 && u > cdf {
                break; // rounding exhausted the tail
            }
        }
        return k;
    }
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.uniform() - 0.5;
        let v = rng.uniform_open();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln()
            <= -lambda + k * loglam - ln_gamma(k + 1.0)
        {
            return k;
        }
    }
}

/// One draw from the zero-inflated negative binomial with mean `mu`, inverse dispersion
/// `theta` and zero-inflation probability `pi`: a Gamma(θ, θ/μ) rate (capped at 1e8, as the
/// reference does), a Poisson count at that rate, then a structural zero with probability π.
pub fn zinb(rng: &mut Rng, mu: f64, theta: f64, pi: f64) -> f64 {
    // Draw in a fixed order (gamma, poisson, zero) so the stream layout never depends on values.
    let rate = if mu > 0.0 {
        gamma(rng, theta, theta / mu).min(1e8)
    } else {
        0.0
    };
    let count = poisson(rng, rate);
    let zero = rng.uniform() < pi;
    if zero {
        0.0
    } else {
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-12);
        assert!((ln_gamma(2.0)).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // ln(10!) = ln(3628800)
        assert!((ln_gamma(11.0) - 3_628_800f64.ln()).abs() < 1e-10);
        assert!((ln_gamma(100.5) - 361.4355404677776).abs() < 1e-9);
    }

    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, v)
    }

    #[test]
    fn gamma_moments() {
        let mut rng = Rng::new(5);
        for &(shape, rate) in &[(0.3, 2.0), (1.0, 1.0), (4.5, 0.5), (50.0, 10.0)] {
            let xs: Vec<f64> = (0..100_000).map(|_| gamma(&mut rng, shape, rate)).collect();
            let (m, v) = moments(&xs);
            let (em, ev) = (shape / rate, shape / (rate * rate));
            assert!((m - em).abs() < 5.0 * (ev / 1e5).sqrt(), "mean {m} vs {em}");
            assert!((v - ev).abs() / ev < 0.05, "var {v} vs {ev}");
        }
    }

    #[test]
    fn poisson_moments_and_pmf() {
        let mut rng = Rng::new(9);
        for &lam in &[0.05, 1.0, 3.7, 9.99, 10.0, 42.0, 1000.0] {
            let xs: Vec<f64> = (0..100_000).map(|_| poisson(&mut rng, lam)).collect();
            assert!(xs.iter().all(|&x| x >= 0.0 && x.fract() == 0.0));
            let (m, v) = moments(&xs);
            assert!(
                (m - lam).abs() < 5.0 * (lam / 1e5).sqrt(),
                "lambda {lam}: mean {m}"
            );
            assert!((v - lam).abs() / lam < 0.05, "lambda {lam}: var {v}");
            // P(X = mode) against the exact probability mass.
            let k = lam.floor();
            let p = (-lam + k * lam.ln() - ln_gamma(k + 1.0)).exp();
            let f = xs.iter().filter(|&&x| x == k).count() as f64 / 1e5;
            assert!(
                (f - p).abs() < 5.0 * (p * (1.0 - p) / 1e5).sqrt(),
                "lambda {lam}: P({k})"
            );
        }
    }

    #[test]
    fn zinb_mean_and_zero_fraction() {
        let mut rng = Rng::new(13);
        for &(mu, theta, pi) in &[(0.5, 2.0, 0.1), (5.0, 0.7, 0.3), (40.0, 10.0, 0.0)] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| zinb(&mut rng, mu, theta, pi)).collect();
            let (m, v) = moments(&xs);
            let em = (1.0 - pi) * mu;
            let nb_var = mu + mu * mu / theta;
            // Var of a zero-inflated variable: (1-pi)(Var + mu^2) - ((1-pi) mu)^2.
            let ev = (1.0 - pi) * (nb_var + mu * mu) - em * em;
            assert!(
                (m - em).abs() < 5.0 * (ev / n as f64).sqrt(),
                "mean {m} vs {em}"
            );
            assert!((v - ev).abs() / ev < 0.06, "var {v} vs {ev}");
            let p0 = pi + (1.0 - pi) * (theta / (theta + mu)).powf(theta);
            let f0 = xs.iter().filter(|&&x| x == 0.0).count() as f64 / n as f64;
            assert!(
                (f0 - p0).abs() < 5.0 * (p0 * (1.0 - p0) / n as f64).sqrt(),
                "zeros {f0} vs {p0}"
            );
        }
    }
}
