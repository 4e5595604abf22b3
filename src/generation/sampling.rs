//! Drawing a token from processed scores.

use crate::rng::Rng;

/// Draws an index with probability `softmax(scores)`; `-inf` entries are never drawn.
/// Falls back to the arg-max when every score is `-inf` or NaN (nothing to draw from).
pub fn sample_index(scores: &[f32], rng: &mut Rng) -> usize {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return super::processors::argmax(scores);
    }
    let total: f64 = scores.iter().map(|&s| ((s - max) as f64).exp()).sum();
    let target = rng.uniform() * total;
    let mut cum = 0.0;
    let mut last_ok = 0;
    for (i, &s) in scores.iter().enumerate() {
        let w = ((s - max) as f64).exp();
        if w > 0.0 {
            cum += w;
            last_ok = i;
            if target < cum {
                return i;
            }
        }
    }
    // Rounding left `target` just above the accumulated total: take the last drawable token.
    last_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_softmax_and_masked_never_drawn() {
        let probs = [0.5f32, 0.3, 0.2, 0.0];
        let scores: Vec<f32> = probs.iter().map(|p| p.ln()).collect(); // ln 0 = -inf
        let mut rng = Rng::new(3);
        let n = 100_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            counts[sample_index(&scores, &mut rng)] += 1;
        }
        assert_eq!(counts[3], 0);
        for i in 0..3 {
            let f = counts[i] as f64 / n as f64;
            // 5 standard deviations of a binomial proportion.
            let sd = (probs[i] as f64 * (1.0 - probs[i] as f64) / n as f64).sqrt();
            assert!((f - probs[i] as f64).abs() < 5.0 * sd, "token {i}: {f}");
        }
    }

    #[test]
    fn all_masked_falls_back_to_argmax() {
        let mut rng = Rng::new(1);
        assert_eq!(sample_index(&[f32::NEG_INFINITY; 3], &mut rng), 0);
    }
}
