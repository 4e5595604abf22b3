//! The loaded model: four ONNX graphs, the tokenizer, the token embeddings and the gene list of a
//! package, and the engine that runs prompts (with or without cells) through them.
//!
//! A [`Model`] is `Send + Sync`. Each graph runs behind its own lock, so concurrent calls are
//! safe; they take turns on a graph (ONNX Runtime already spreads one run over the thread
//! budget).
//!
//! Inside: [`Model::load`] (`load.rs`) checks the package and opens an `Engine` (`engine.rs`:
//! one precision's graphs over the parts every precision shares), which encodes
//! (`encode.rs`), decodes (`generate.rs`), scores (`score.rs`) and makes cells (`cells.rs`).
//! A reduced-precision model loaded with a tie margin also holds a `TieCheck` (`ties.rs`):
//! the fp32 engine of the same package, which re-decides the near-ties of the model's own.

mod cell_input;
mod cells;
mod decoder;
mod encode;
mod engine;
mod generate;
mod int8_choice;
mod load;
mod margins;
mod options;
mod output;
mod score;
mod tensors;
mod ties;

pub use margins::MarginShift;
pub use options::{CellOptions, ModelOptions};
pub use output::{Answer, GeneratedCell, ZinbOutput};

use crate::error::{Error, Result};
use crate::generation::{DecodingOptions, TokenFilter};
use crate::package::{manifest::ModelDims, Calibration, Int8Weights, ModelPackage, Precision};
use crate::preprocess::PreprocessOptions;
use crate::prompt::{PromptFormatter, TextTokenizer};
use crate::runtime::ProviderReport;
use engine::{Engine, Shared};
use std::sync::Arc;
use ties::TieCheck;

/// One prompt for the engine.
#[derive(Debug, Clone, Copy)]
pub struct Prompt<'a> {
    /// The complete prompt text (already formatted and wrapped, see
    /// [`Model::formatter`]); it contains the cell placeholder exactly when `expression` is set.
    pub text: &'a str,
    /// The attached cell as a preprocessed expression vector over the model's genes.
    pub expression: Option<&'a [f32]>,
    /// A stable id (e.g. the cell's index): selects the prompt's random streams, so results do not
    /// depend on how prompts are batched.
    pub id: u64,
}

/// A loaded model package, ready to run.
pub struct Model {
    shared: Arc<Shared>,
    engine: Engine,
    tie_check: Option<TieCheck>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("package", &self.package().root())
            .field("precision", &self.precision())
            .field("int8_weights", &self.int8_weights())
            .field("fp32_tie_margin", &self.fp32_tie_margin())
            .field("variant", &self.package().manifest().variant)
            .finish()
    }
}

impl Model {
    /// The package this model was loaded from.
    pub fn package(&self) -> &ModelPackage {
        &self.shared.package
    }

    /// Precision of the loaded graphs.
    pub fn precision(&self) -> Precision {
        self.engine.precision
    }

    /// For int8 models, the weight encoding of the loaded graphs (see [`Int8Weights`]).
    pub fn int8_weights(&self) -> Option<Int8Weights> {
        self.engine.int8_weights
    }

    /// The margin (nats) below which the fp32 graphs re-decide this model's near-ties, when
    /// they were loaded for it ([`ModelOptions::fp32_tie_margin`]).
    pub fn fp32_tie_margin(&self) -> Option<f32> {
        self.tie_check.as_ref().map(|t| t.margin)
    }

    /// Architecture sizes.
    pub fn dims(&self) -> &ModelDims {
        self.shared.dims()
    }

    /// The labels the package lists for a task (`cell_type`, `drug_response`), when it does.
    pub fn label_set(&self, task: &str) -> Option<&[String]> {
        self.package()
            .manifest()
            .label_sets
            .get(task)
            .map(Vec::as_slice)
    }

    /// The calibration of scored probabilities the package gives for a task, when it does.
    pub fn calibration(&self, task: &str) -> Option<&Calibration> {
        self.package().manifest().calibration.get(task)
    }

    /// The end-of-sequence token (it ends every answer and every scored candidate).
    pub fn eos_token(&self) -> u32 {
        self.package().manifest().special_tokens.eos
    }

    /// The token by which an answer asks for a generated cell, when the package has one.
    pub fn cell_signal_token(&self) -> Option<u32> {
        self.package()
            .manifest()
            .special_tokens
            .signal
            .first()
            .copied()
    }

    /// The model's genes, in input order.
    pub fn genes(&self) -> &[String] {
        &self.shared.genes
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.shared.tokenizer
    }

    /// Preprocessing options with this package's constants (normalisation target, `log1p`), the
    /// way the model was trained to read cells.
    pub fn preprocess_options(&self, batch_size: usize) -> PreprocessOptions {
        let p = &self.package().manifest().preprocess;
        PreprocessOptions::default()
            .with_normalize_total(p.normalize_total)
            .with_target_sum(p.target_sum)
            .with_log1p(p.log1p)
            .with_batch_size(batch_size)
    }

    /// Prompt formatting with the package's conventions.
    pub fn formatter(&self) -> &PromptFormatter {
        &self.shared.formatter
    }

    /// Execution providers of the decoder graph (all graphs share the same options).
    pub fn providers(&self) -> &ProviderReport {
        self.engine.decoder.providers()
    }

    /// Runs the cell encoder on `n` preprocessed cells (`expression` is `[n × num_genes]`
    /// row-major) and returns their query vectors, `[n × num_query × d_model]`.
    ///
    /// # Errors
    /// [`Error::Shape`] for a wrong length; [`Error::Onnx`] if the graph fails.
    pub fn encode_cells(&self, expression: &[f32], n: usize) -> Result<Vec<f32>> {
        self.engine.encode_cells(expression, n)
    }

    /// Tokenizes a complete prompt text.
    ///
    /// # Errors
    /// [`Error::Tokenizer`].
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        self.shared.tokenizer.encode(text)
    }

    /// The text encoder's final hidden states of each prompt, with its cell spliced in:
    /// `[positions × d_model]` row-major per prompt, over the prompt's own positions (a cell
    /// occupies `num_query_tokens` of them). These are what the decoder attends to; useful as
    /// prompt+cell embeddings and for checking the encoder against a reference.
    ///
    /// # Errors
    /// As [`Model::generate`].
    pub fn encoder_states(&self, prompts: &[Prompt<'_>]) -> Result<Vec<Vec<f32>>> {
        self.engine.encoder_states(prompts)
    }

    /// Answers a batch of prompts.
    ///
    /// Cells are encoded in one batch, prompts are encoded in one padded batch, then decoded
    /// together (finished rows leave the batch). Prompts that end with the cell-generation signal
    /// get a generated cell (see [`CellOptions`]). `filter` can restrict tokens (constrained
    /// answers). A reduced-precision model loaded with a tie margin
    /// ([`ModelOptions::fp32_tie_margin`]) answers its greedy near-ties with the fp32 graphs.
    ///
    /// # Errors
    /// Prompt, shape and runtime errors; nothing is returned partially.
    pub fn generate(
        &self,
        prompts: &[Prompt<'_>],
        opts: &DecodingOptions,
        cell_opts: &CellOptions,
        filter: Option<&dyn TokenFilter>,
    ) -> Result<Vec<Answer>> {
        opts.validate()?;
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        match &self.tie_check {
            Some(t) => t.generate(&self.engine, prompts, opts, cell_opts, filter),
            None => self.engine.generate(prompts, opts, cell_opts, filter),
        }
    }

    /// How the model spells `label` as an answer: its tokens without special tokens.
    ///
    /// # Errors
    /// [`Error::Tokenizer`]; [`Error::InvalidArgument`] for a label with no tokens.
    pub fn label_tokens(&self, label: &str) -> Result<Vec<u32>> {
        let ids = self.shared.tokenizer.encode_plain(label)?;
        if ids.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "label {label:?} has no tokens"
            )));
        }
        Ok(ids)
    }

    /// Log-likelihood of every candidate answer for every prompt: `result[i][j]` is
    /// `log p(candidates[j] + end-of-sequence | prompt i)` under the model, computed
    /// teacher-forced (the candidates are token ids, e.g. from [`Self::label_tokens`]). With a
    /// tie margin ([`ModelOptions::fp32_tie_margin`]), the rows whose two best candidates lie
    /// closer than the margin are the fp32 graphs' scores.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no or empty candidates; prompt, shape and runtime errors.
    pub fn score(&self, prompts: &[Prompt<'_>], candidates: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .score_with_precision(prompts, candidates)?
            .into_iter()
            .map(|(scores, _)| scores)
            .collect())
    }

    /// [`Self::score`], each prompt's scores with the precision of the graphs that computed
    /// them (fp32 for rows re-scored as near-ties, see [`ModelOptions::fp32_tie_margin`]).
    ///
    /// # Errors
    /// As [`Self::score`].
    pub fn score_with_precision(
        &self,
        prompts: &[Prompt<'_>],
        candidates: &[Vec<u32>],
    ) -> Result<Vec<(Vec<f32>, Precision)>> {
        match &self.tie_check {
            Some(t) => t.score(&self.engine, prompts, candidates),
            None => self.engine.score(prompts, candidates),
        }
    }

    /// The generator's condition for each prompt: the last decoder layer's hidden state at the
    /// final token of `sequences[i]` (the generated tokens, ending with the signal token; the
    /// decoder start token is prepended here), computed teacher-forced as the reference does.
    ///
    /// # Errors
    /// Prompt, shape and runtime errors.
    pub fn conditions(
        &self,
        prompts: &[Prompt<'_>],
        sequences: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>> {
        self.engine.conditions(prompts, sequences)
    }

    /// Runs the generator graph: `conditions` (one `d_model` vector per cell), `z`
    /// (`[n × n_latent]`) and `log_library` (one per cell) → ZINB parameters per cell and gene.
    ///
    /// # Errors
    /// Shape and runtime errors.
    pub fn generator_params(
        &self,
        conditions: &[Vec<f32>],
        z: &[f32],
        log_library: &[f32],
    ) -> Result<ZinbOutput> {
        self.engine.generator_params(conditions, z, log_library)
    }

    /// Runs the generator on conditions (one per cell) and draws the cells' counts.
    ///
    /// Each cell `i` draws its latent, library size and counts from the stream
    /// `(cell_opts.seed, ids[i])`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad prior batch or non-finite fixed library size;
    /// shape and runtime errors.
    pub fn cells_from_conditions(
        &self,
        conditions: &[Vec<f32>],
        ids: &[u64],
        cell_opts: &CellOptions,
    ) -> Result<Vec<GeneratedCell>> {
        self.engine
            .cells_from_conditions(conditions, ids, cell_opts)
    }
}
