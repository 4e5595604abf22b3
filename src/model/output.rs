//! What the engine returns for one prompt.

use crate::generation::StopReason;
use crate::matrix::CsrRows;
use crate::package::Precision;

/// The answer to one prompt.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Answer {
    /// Decoded text (special tokens removed).
    pub text: String,
    /// Generated token ids, the stop token included when there is one.
    pub tokens: Vec<u32>,
    /// Log-probability of each token under the model.
    pub logprobs: Vec<f32>,
    /// Why generation ended.
    pub stop: StopReason,
    /// When the model emitted the cell-generation signal: the generated cell.
    pub cell: Option<GeneratedCell>,
    /// Greedy search only: the smallest margin by which a chosen token beat the runner-up
    /// (see [`crate::generation::Generated::min_margin`]).
    pub min_margin: Option<f32>,
    /// The precision of the graphs that produced this answer: the model's own, or fp32 where a
    /// near-tie was re-decided ([`crate::model::ModelOptions::fp32_tie_margin`]).
    pub precision: Precision,
}

impl Answer {
    /// The generated tokens without the stop token (what the text decodes, and what
    /// [`crate::model::Model::score`] takes as a candidate).
    pub fn content_tokens(&self) -> &[u32] {
        self.stop.strip(&self.tokens)
    }
}

/// A cell produced by the generator.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GeneratedCell {
    /// The decoder's hidden state at the signal token (the generator's condition).
    pub condition: Vec<f32>,
    /// The log library size used.
    pub log_library: f32,
    /// Counts over the model's genes, as a one-row CSR block.
    pub counts: CsrRows,
}

/// Zero-inflated negative binomial parameters for a batch of cells, row-major `[cells × genes]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ZinbOutput {
    /// Means.
    pub mu: Vec<f32>,
    /// Inverse dispersions.
    pub theta: Vec<f32>,
    /// Zero-inflation logits.
    pub zi_logits: Vec<f32>,
}
