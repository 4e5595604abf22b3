//! Calibrating scored probabilities: fitting a temperature, and measuring calibration.

use crate::error::{Error, Result};

/// `ln` of the smallest positive `f32`: log-probabilities that underflowed to 0 count as this.
const LN_FLOOR: f64 = -103.28;

fn log_prob(p: f32) -> f64 {
    if p > 0.0 {
        (p as f64).ln()
    } else {
        LN_FLOOR
    }
}

/// Mean negative log-likelihood of the true labels after rescaling the log-probabilities by
/// `1 / temperature` and renormalising.
pub fn temperature_nll(probabilities: &[Vec<f32>], truth: &[usize], temperature: f64) -> f64 {
    let beta = 1.0 / temperature;
    let mut total = 0.0;
    for (p, &t) in probabilities.iter().zip(truth) {
        let z: Vec<f64> = p.iter().map(|&x| beta * log_prob(x)).collect();
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        total += lse - z[t];
    }
    total / probabilities.len().max(1) as f64
}

/// The temperature that minimises [`temperature_nll`] on cells with known labels (`truth[i]`
/// indexes `probabilities[i]`, the scored probabilities at temperature 1). The likelihood is
/// convex in `1 / temperature`; the search covers temperatures from 0.05 to 50.
///
/// # Errors
/// [`Error::InvalidArgument`] without cells, with a label index outside a row, or with fewer
/// than two labels.
pub fn fit_temperature(probabilities: &[Vec<f32>], truth: &[usize]) -> Result<f64> {
    if probabilities.is_empty() || probabilities.len() != truth.len() {
        return Err(Error::InvalidArgument(format!(
            "fitting a temperature needs one true label per cell ({} cells, {} labels)",
            probabilities.len(),
            truth.len()
        )));
    }
    for (p, &t) in probabilities.iter().zip(truth) {
        if p.len() < 2 || t >= p.len() {
            return Err(Error::InvalidArgument(
                "fitting a temperature needs at least two labels and true labels among them".into(),
            ));
        }
    }
    // Golden-section search on beta = 1 / temperature.
    let f = |beta: f64| temperature_nll(probabilities, truth, 1.0 / beta);
    let (mut lo, mut hi) = (1.0 / 50.0, 1.0 / 0.05);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fa, mut fb) = (f(a), f(b));
    for _ in 0..100 {
        if fa < fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - g * (hi - lo);
            fa = f(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + g * (hi - lo);
            fb = f(b);
        }
    }
    Ok(2.0 / (lo + hi))
}

/// The probabilities `p` rescaled to `temperature`: the softmax of `ln p / temperature`.
pub fn rescale(p: &[f32], temperature: f64) -> Vec<f32> {
    let z: Vec<f64> = p.iter().map(|&x| log_prob(x) / temperature).collect();
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

/// Expected calibration error of top-label confidences: cells binned by confidence into
/// `bins` equal-width bins, the mean |accuracy − confidence| of the bins weighted by their
/// share of cells.
pub fn expected_calibration_error(confidence: &[f32], correct: &[bool], bins: usize) -> f64 {
    let bins = bins.max(1);
    let n = confidence.len().min(correct.len());
    if n == 0 {
        return 0.0;
    }
    let mut count = vec![0usize; bins];
    let mut conf = vec![0f64; bins];
    let mut acc = vec![0f64; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c.clamp(0.0, 1.0) as f64 * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[b] += 1;
        conf[b] += c as f64;
        acc[b] += f64::from(u8::from(ok));
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (acc[b] - conf[b]).abs() / n as f64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temperature_undoes_overconfidence() {
        // Cells whose model is right 3 times in 4 but says 0.99: the fitted temperature
        // brings the confidence near 0.75.
        let mut probs = Vec::new();
        let mut truth = Vec::new();
        for i in 0..400 {
            probs.push(vec![0.99, 0.01]);
            truth.push(usize::from(i % 4 == 3));
        }
        let t = fit_temperature(&probs, &truth).unwrap();
        let p = rescale(&probs[0], t);
        assert!((p[0] - 0.75).abs() < 1e-3, "{t} -> {p:?}");
        assert!(temperature_nll(&probs, &truth, t) < temperature_nll(&probs, &truth, 1.0));
        let conf: Vec<f32> = probs.iter().map(|p| p[0]).collect();
        let correct: Vec<bool> = truth.iter().map(|&t| t == 0).collect();
        assert!((expected_calibration_error(&conf, &correct, 10) - 0.24).abs() < 1e-6);
        let after: Vec<f32> = probs.iter().map(|q| rescale(q, t)[0]).collect();
        assert!(expected_calibration_error(&after, &correct, 10) < 1e-3);
        assert!(fit_temperature(&[], &[]).is_err());
        assert!(fit_temperature(&[vec![1.0]], &[0]).is_err());
        assert!(fit_temperature(&[vec![0.5, 0.5]], &[2]).is_err());
    }
}
