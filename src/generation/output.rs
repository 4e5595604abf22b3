//! What a generation request returns.

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It produced this stop token (end of sequence, or a signal token).
    Token(u32),
    /// It reached `max_new_tokens`.
    MaxLength,
}

/// One generated sequence.
#[derive(Debug, Clone, PartialEq)]
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
}

impl Generated {
    /// The new tokens without a trailing stop token.
    pub fn content_tokens(&self) -> &[u32] {
        match self.stop {
            StopReason::Token(_) => &self.tokens[..self.tokens.len().saturating_sub(1)],
            StopReason::MaxLength => &self.tokens,
        }
    }

    /// Sum of the token log-probabilities (log-likelihood of the whole sequence).
    pub fn total_logprob(&self) -> f32 {
        self.logprobs.iter().sum()
    }
}
