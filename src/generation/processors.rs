//! Logits processors: pure functions over one row of next-token scores.
//!
//! Semantics follow the conventions of Hugging Face `generate`, which the reference model was
//! run with, so that a seeded sampling configuration means the same thing in both places:
//! temperature, then top-k, then top-p; filtered tokens get `-inf`; ties at the top-k threshold
//! are all kept; top-p removes the least likely tokens whose cumulative probability (ascending)
//! stays within `1 - top_p`, always keeping at least one token.

pub use super::lse::log_sum_exp;

/// Divides every score by `temperature` (> 0).
pub fn apply_temperature(scores: &mut [f32], temperature: f32) {
    if temperature != 1.0 {
        for s in scores.iter_mut() {
            *s /= temperature;
        }
    }
}

/// Keeps the `k` highest scores (and any tied with the k-th), setting the rest to `-inf`.
/// `k == 0` or `k >= len` keeps everything.
pub fn apply_top_k(scores: &mut [f32], k: usize) {
    if k == 0 || k >= scores.len() {
        return;
    }
    let mut sorted: Vec<f32> = scores.to_vec();
    // The k-th largest value; NaN-safe total order.
    let (_, kth, _) = sorted.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let threshold = *kth;
    for s in scores.iter_mut() {
        if *s < threshold {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// Nucleus filtering with probability mass `p` in `(0, 1]`; `p >= 1` keeps everything.
pub fn apply_top_p(scores: &mut [f32], p: f32) {
    if p >= 1.0 || scores.is_empty() {
        return;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Ascending by score; a stable sort keeps index order among ties, like a stable torch sort.
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let max = scores[order[order.len() - 1]];
    let probs: Vec<f64> = order
        .iter()
        .map(|&i| ((scores[i] - max) as f64).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    let limit = 1.0 - p as f64;
    let mut cum = 0.0;
    // All but the last (most likely) token may be removed.
    for (rank, &i) in order[..order.len() - 1].iter().enumerate() {
        cum += probs[rank] / total;
        if cum <= limit {
            scores[i] = f32::NEG_INFINITY;
        } else {
            break;
        }
    }
}

/// Sets the scores of `tokens` to `-inf` (e.g. end-of-sequence before `min_new_tokens`).
pub fn suppress(scores: &mut [f32], tokens: &[u32]) {
    for &t in tokens {
        if let Some(s) = scores.get_mut(t as usize) {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// Keeps only `allowed` tokens (a constraint such as a label trie), everything else `-inf`.
pub fn restrict_to(scores: &mut [f32], allowed: &[u32]) {
    let mut keep = vec![false; scores.len()];
    for &t in allowed {
        if let Some(k) = keep.get_mut(t as usize) {
            *k = true;
        }
    }
    for (s, k) in scores.iter_mut().zip(keep) {
        if !k {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// In-place log-softmax (see [`log_sum_exp`]); `-inf` entries stay `-inf`.
pub fn log_softmax(scores: &mut [f32]) {
    let lse = log_sum_exp(scores);
    if lse == f32::NEG_INFINITY {
        return;
    }
    for s in scores.iter_mut() {
        *s -= lse;
    }
}

/// Index of the largest score; the first one on ties (as `argmax` in the reference).
pub fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// [`argmax`] together with its margin: how far the best score lies above the best of the
/// others (`0` for a tie, `+inf` when every other score is `-inf` or there is no other).
pub fn argmax_margin(scores: &[f32]) -> (usize, f32) {
    let best = argmax(scores);
    (best, token_margin(scores, best))
}

/// How far `scores[token]` lies above the best other score (negative when another token
/// scores higher; `+inf` when every other score is `-inf` or there is no other).
pub fn token_margin(scores: &[f32], token: usize) -> f32 {
    let other = scores
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != token)
        .map(|(_, &s)| s)
        .fold(f32::NEG_INFINITY, f32::max);
    if other == f32::NEG_INFINITY {
        f32::INFINITY
    } else {
        scores[token] - other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const NINF: f32 = f32::NEG_INFINITY;

    #[test]
    fn argmax_margin_measures_the_runner_up() {
        assert_eq!(argmax_margin(&[0.5, 2.0, 1.25]), (1, 0.75));
        assert_eq!(argmax_margin(&[3.0, 3.0, 1.0]), (0, 0.0));
        assert_eq!(argmax_margin(&[NINF, 1.0, NINF]), (1, f32::INFINITY));
        assert_eq!(argmax_margin(&[7.0]), (0, f32::INFINITY));
        assert_eq!(token_margin(&[1.0, 3.0, 2.5], 2), -0.5);
    }

    #[test]
    fn temperature_scales() {
        let mut s = vec![1.0, -2.0, 4.0];
        apply_temperature(&mut s, 0.5);
        assert_eq!(s, vec![2.0, -4.0, 8.0]);
    }

    #[test]
    fn top_k_keeps_ties_at_threshold() {
        let mut s = vec![0.1, 3.0, 2.0, 2.0, -1.0];
        apply_top_k(&mut s, 2);
        assert_eq!(s, vec![NINF, 3.0, 2.0, 2.0, NINF]);
        let mut s = vec![0.1, 3.0];
        apply_top_k(&mut s, 5);
        assert_eq!(s, vec![0.1, 3.0]);
    }

    /// Values worked out by hand: probabilities 0.1, 0.2, 0.3, 0.4 (logits = ln p).
    /// Ascending cumulative mass: 0.1, 0.3, 0.6, 1.0. With top_p = 0.75, remove while
    /// cum <= 0.25: only the 0.1 token. With top_p = 0.5: remove while cum <= 0.5: 0.1, 0.2.
    #[test]
    fn top_p_matches_hand_computed_reference() {
        let base: Vec<f32> = [0.1f32, 0.2, 0.3, 0.4].iter().map(|p| p.ln()).collect();
        let mut s = base.clone();
        apply_top_p(&mut s, 0.75);
        assert_eq!(s[0], NINF);
        assert!(s[1..].iter().all(|v| v.is_finite()));
        let mut s = base.clone();
        apply_top_p(&mut s, 0.5);
        assert_eq!(&s[..2], &[NINF, NINF]);
        assert!(s[2..].iter().all(|v| v.is_finite()));
        // A tiny p keeps exactly the most likely token.
        let mut s = base;
        apply_top_p(&mut s, 0.01);
        assert_eq!(s.iter().filter(|v| v.is_finite()).count(), 1);
        assert!(s[3].is_finite());
    }

    #[test]
    fn log_softmax_normalises() {
        let mut s = vec![1.0, 2.0, NINF, 3.0];
        log_softmax(&mut s);
        let total: f32 = s.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(s[2], NINF);
    }

    #[test]
    fn masks() {
        let mut s = vec![1.0, 2.0, 3.0];
        suppress(&mut s, &[2, 99]);
        assert_eq!(s, vec![1.0, 2.0, NINF]);
        let mut s = vec![1.0, 2.0, 3.0];
        restrict_to(&mut s, &[0, 2]);
        assert_eq!(s, vec![1.0, NINF, 3.0]);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}
