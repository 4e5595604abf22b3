//! What a generation request returns.

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// It produced this stop token (end of sequence, or a signal token).
    Token(u32),
    /// It reached `max_new_tokens`.
    MaxLength,
    /// Greedy search with a margin bound ([`super::DecodingOptions::stop_below_margin`]): the
    /// next step was decided by less than the bound, so the row was left undecided there (its
    /// tokens are the ones decided before).
    NearTie,
}

/// One generated sequence.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Generated {
    /// New token ids, the stop token included when there is one (the decoder start token is not).
    pub tokens: Vec<u32>,
    /// Log-probability of each token of `tokens` under the model's unprocessed next-token
    /// distribution (log-softmax of the raw logits).
    pub logprobs: Vec<f32>,
    /// Why generation ended.
    pub stop: StopReason,
    /// Beam search only: the hypothesis score (`sum of log-probabilities / length^penalty`).
    pub score: Option<f32>,
    /// Greedy search only: the smallest margin, over the steps, by which the chosen token's
    /// score beat the best other token's (after stop suppression and token filters; `+inf`
    /// where only one token was allowed). A small margin means a near-tie that a slightly
    /// different computation of the logits (another precision) could decide otherwise.
    pub min_margin: Option<f32>,
}

impl StopReason {
    /// `tokens` (a sequence that ended for this reason) without its trailing stop token.
    pub fn strip<'t>(&self, tokens: &'t [u32]) -> &'t [u32] {
        match self {
            StopReason::Token(_) => &tokens[..tokens.len().saturating_sub(1)],
            StopReason::MaxLength | StopReason::NearTie => tokens,
        }
    }
}

impl Generated {
    /// The new tokens without a trailing stop token.
    pub fn content_tokens(&self) -> &[u32] {
        self.stop.strip(&self.tokens)
    }

    /// Sum of the token log-probabilities (log-likelihood of the whole sequence).
    pub fn total_logprob(&self) -> f32 {
        self.logprobs.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::StopReason;

    #[test]
    fn strip_drops_only_a_stop_token() {
        assert_eq!(StopReason::Token(1).strip(&[5, 6, 1]), &[5, 6]);
        assert_eq!(StopReason::Token(1).strip(&[]), &[] as &[u32]);
        assert_eq!(StopReason::MaxLength.strip(&[5, 6, 7]), &[5, 6, 7]);
        assert_eq!(StopReason::NearTie.strip(&[5, 6]), &[5, 6]);
    }
}
