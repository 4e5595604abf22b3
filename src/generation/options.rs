//! How to decode: strategy, lengths, stop tokens.

use crate::error::{Error, Result};

/// The decoding strategy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Decoding {
    /// Always the most likely next token.
    Greedy,
    /// Random sampling from the processed distribution, reproducible for a given seed.
    Sample(Sampling),
    /// Beam search.
    Beam(BeamSearch),
}

/// Sampling parameters (applied in the order temperature → top-k → top-p).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sampling {
    /// Softmax temperature, > 0 (1 = unchanged).
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (0 = no limit).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability mass reaches `top_p` (1 = no limit).
    pub top_p: f32,
    /// Seed. Row `i` of a request draws from its own stream derived from `(seed, i)`, so results
    /// do not depend on batch size or thread count.
    pub seed: u64,
}

impl Default for Sampling {
    /// The settings of the reference model's published example: top-k 50, top-p 0.95.
    fn default() -> Self {
        Sampling {
            temperature: 1.0,
            top_k: 50,
            top_p: 0.95,
            seed: 0,
        }
    }
}

impl Sampling {
    /// Sets the temperature.
    pub fn with_temperature(mut self, t: f32) -> Self {
        self.temperature = t;
        self
    }
    /// Sets top-k (0 disables it).
    pub fn with_top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }
    /// Sets top-p (1 disables it).
    pub fn with_top_p(mut self, p: f32) -> Self {
        self.top_p = p;
        self
    }
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Beam-search parameters, with the same meaning as in Hugging Face `generate`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BeamSearch {
    /// Number of beams (≥ 1).
    pub num_beams: usize,
    /// Finished hypotheses are scored `sum_logprob / length^length_penalty`.
    pub length_penalty: f32,
    /// Stop as soon as `num_beams` hypotheses are finished (`true`), or when the heuristic says
    /// no running beam can beat them (`false`, the default).
    pub early_stopping: bool,
}

impl Default for BeamSearch {
    fn default() -> Self {
        BeamSearch {
            num_beams: 4,
            length_penalty: 1.0,
            early_stopping: false,
        }
    }
}

impl BeamSearch {
    /// Sets the number of beams.
    pub fn with_num_beams(mut self, n: usize) -> Self {
        self.num_beams = n;
        self
    }
    /// Sets the length penalty exponent.
    pub fn with_length_penalty(mut self, p: f32) -> Self {
        self.length_penalty = p;
        self
    }
    /// Sets early stopping.
    pub fn with_early_stopping(mut self, e: bool) -> Self {
        self.early_stopping = e;
        self
    }
}

/// Options of one generation request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecodingOptions {
    /// Strategy.
    pub decoding: Decoding,
    /// Stop tokens may not be produced before this many new tokens.
    pub min_new_tokens: usize,
    /// Hard limit on new tokens (the stop token included).
    pub max_new_tokens: usize,
    /// Greedy search only: end a row, with [`super::StopReason::NearTie`], at the first step
    /// whose top-1/top-2 margin is below this many nats, before choosing that step's token (a
    /// row another computation would decide again). `None` (default): never.
    pub stop_below_margin: Option<f32>,
}

impl Default for DecodingOptions {
    fn default() -> Self {
        DecodingOptions {
            decoding: Decoding::Greedy,
            min_new_tokens: 0,
            max_new_tokens: 256,
            stop_below_margin: None,
        }
    }
}

impl DecodingOptions {
    /// Sets the strategy.
    pub fn with_decoding(mut self, d: Decoding) -> Self {
        self.decoding = d;
        self
    }
    /// Sets the minimum number of new tokens.
    pub fn with_min_new_tokens(mut self, n: usize) -> Self {
        self.min_new_tokens = n;
        self
    }
    /// Sets the maximum number of new tokens.
    pub fn with_max_new_tokens(mut self, n: usize) -> Self {
        self.max_new_tokens = n;
        self
    }

    /// Ends greedy rows at their first step decided by less than `margin` nats (see
    /// [`DecodingOptions::stop_below_margin`]).
    pub fn with_stop_below_margin(mut self, margin: f32) -> Self {
        self.stop_below_margin = Some(margin);
        self
    }

    /// Checks the values are usable.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens must be at least 1".into());
        }
        if self.min_new_tokens > self.max_new_tokens {
            return bad(format!(
                "min_new_tokens ({}) exceeds max_new_tokens ({})",
                self.min_new_tokens, self.max_new_tokens
            ));
        }
        if let Some(m) = self.stop_below_margin {
            if !(m.is_finite() && m >= 0.0) {
                return bad(format!(
                    "stop_below_margin must be finite and >= 0, got {m}"
                ));
            }
            if self.decoding != Decoding::Greedy {
                return bad("stop_below_margin applies to greedy decoding only".into());
            }
        }
        match &self.decoding {
            Decoding::Greedy => Ok(()),
            Decoding::Sample(s) => {
                if !(s.temperature > 0.0 && s.temperature.is_finite()) {
                    return bad(format!("temperature must be > 0, got {}", s.temperature));
                }
                if !(s.top_p > 0.0 && s.top_p <= 1.0) {
                    return bad(format!("top_p must be in (0, 1], got {}", s.top_p));
                }
                Ok(())
            }
            Decoding::Beam(b) => {
                if b.num_beams == 0 {
                    return bad("num_beams must be at least 1".into());
                }
                if !b.length_penalty.is_finite() {
                    return bad("length_penalty must be finite".into());
                }
                Ok(())
            }
        }
    }
}
