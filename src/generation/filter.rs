//! Caller-defined restrictions on the next token (e.g. a label trie for constrained answers).

/// Restricts the next token of a sequence by setting disallowed scores to `-inf`.
///
/// Called once per sequence per step, after the built-in length rules and before temperature,
/// top-k and top-p.
pub trait TokenFilter {
    /// `request` is the caller's row id; `generated` the tokens produced so far (no start token).
    fn filter(&self, request: u64, generated: &[u32], scores: &mut [f32]);
}
