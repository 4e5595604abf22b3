//! Options for loading a model.

use crate::error::{Error, Result};
use crate::package::{parse_precision_spec, Int8Weights, Precision};
use crate::runtime::SessionOptions;
use std::path::PathBuf;

/// How to load a model package.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ModelOptions {
    /// Which graphs to load (default fp32).
    pub precision: Precision,
    /// For int8: which weight encoding to load. `None` (default): the one this CPU multiplies
    /// exactly and fastest ([`Int8Weights::preferred`]); the unsigned set where the package
    /// lacks the signed one; an error for a signed-only package on a CPU without VNNI.
    pub int8_weights: Option<Int8Weights>,
    /// Threads, optimisation level and execution providers shared by all graphs.
    pub session: SessionOptions,
    /// Skip the SHA-256 check of the files (sizes are still checked by ONNX Runtime parsing);
    /// only for packages you produced yourself and trust. Default `false`.
    pub skip_checksums: bool,
    /// Load ONNX Runtime from this library instead of searching (see
    /// [`crate::runtime::locate_onnxruntime`]).
    pub onnxruntime_library: Option<PathBuf>,
    /// For int8 and fp16 models: also load the package's fp32 graphs and let them decide the
    /// near-ties, so that answers are the fp32 answers. A greedy answer whose smallest
    /// top-1/top-2 logit margin ([`crate::model::Answer::min_margin`]) is below this many nats
    /// is decoded again in fp32; a scored prompt whose two best candidates lie closer than this
    /// in log-likelihood is scored again in fp32. Choose it well above the largest change of a
    /// margin between the two precisions, measured with [`crate::model::Model::margin_shift`]
    /// on prompts like yours (on the bundled trained package: at most 0.18 nats over 48
    /// held-out answers, so 0.5 leaves a factor of 2.7). Sampling and beam search are not
    /// re-decided. Costs the fp32 graphs' memory and, per re-decided prompt, one fp32 run.
    /// `None` (default): reduced-precision answers as they come. No effect on fp32 models.
    pub fp32_tie_margin: Option<f32>,
}

impl ModelOptions {
    /// Sets the precision.
    pub fn with_precision(mut self, p: Precision) -> Self {
        self.precision = p;
        self
    }
    /// Forces the int8 weight encoding (see [`ModelOptions::int8_weights`]).
    pub fn with_int8_weights(mut self, w: Int8Weights) -> Self {
        self.int8_weights = Some(w);
        self
    }
    /// Sets the session options.
    pub fn with_session(mut self, s: SessionOptions) -> Self {
        self.session = s;
        self
    }
    /// Sets the thread budget (shorthand for the session option).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.session = self.session.with_threads(threads);
        self
    }
    /// Skips checksum verification.
    pub fn with_skip_checksums(mut self, skip: bool) -> Self {
        self.skip_checksums = skip;
        self
    }
    /// Lets the fp32 graphs decide near-ties below `margin` nats (see
    /// [`ModelOptions::fp32_tie_margin`]).
    pub fn with_fp32_tie_margin(mut self, margin: f32) -> Self {
        self.fp32_tie_margin = Some(margin);
        self
    }
    /// Applies a precision as command lines and the C API spell it: `fp32`, `int8`, `fp16`,
    /// `int8-signed` / `int8-unsigned` (a forced weight encoding), each optionally followed by
    /// `+ties=M` (fp32 decides near-ties under `M` nats, [`ModelOptions::fp32_tie_margin`]),
    /// e.g. `int8+ties=0.5`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown precision or encoding, or a margin that is not
    /// a number (its range is checked when the model loads).
    pub fn with_precision_spec(mut self, spec: &str) -> Result<Self> {
        let (precision, ties) = match spec.split_once("+ties=") {
            Some((p, m)) => {
                let margin = m.trim().parse::<f32>().map_err(|_| {
                    Error::InvalidArgument(format!(
                        "{spec:?}: the tie margin {m:?} is not a number"
                    ))
                })?;
                (p, Some(margin))
            }
            None => (spec, None),
        };
        let (precision, weights) = parse_precision_spec(precision)?;
        self.precision = precision;
        self.int8_weights = weights;
        self.fp32_tie_margin = ties;
        Ok(self)
    }
    /// Uses a specific ONNX Runtime library.
    pub fn with_onnxruntime_library(mut self, path: impl Into<PathBuf>) -> Self {
        self.onnxruntime_library = Some(path.into());
        self
    }
}

/// How generated cells are produced when the model emits the signal token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CellOptions {
    /// Sampled counts, or the distribution's mean.
    pub mode: crate::cellgen::CountMode,
    /// Seed of the latent draw, the library size and the counts. Each prompt draws from its
    /// own stream derived from `(seed, prompt id)`.
    pub seed: u64,
    /// Fix the log library size instead of drawing it from the package's prior.
    pub log_library: Option<f32>,
    /// Which of the prior's batches to draw the library size from (default 0).
    pub prior_batch: usize,
}

impl Default for CellOptions {
    fn default() -> Self {
        CellOptions {
            mode: crate::cellgen::CountMode::Sample,
            seed: 0,
            log_library: None,
            prior_batch: 0,
        }
    }
}

impl CellOptions {
    /// Sets the count mode.
    pub fn with_mode(mut self, mode: crate::cellgen::CountMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Selects the prior batch the library size is drawn from.
    pub fn with_prior_batch(mut self, batch: usize) -> Self {
        self.prior_batch = batch;
        self
    }
    /// Fixes the log library size.
    pub fn with_log_library(mut self, l: Option<f32>) -> Self {
        self.log_library = l;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_specs_set_precision_encoding_and_tie_margin() {
        let o = ModelOptions::default()
            .with_precision_spec("int8-unsigned+ties=0.25")
            .unwrap();
        assert_eq!(o.precision, Precision::Int8);
        assert_eq!(o.int8_weights, Some(Int8Weights::Unsigned));
        assert_eq!(o.fp32_tie_margin, Some(0.25));
        let o = o.with_precision_spec("fp16").unwrap();
        assert_eq!(
            (o.precision, o.int8_weights, o.fp32_tie_margin),
            (Precision::Fp16, None, None)
        );
        for bad in ["int8+ties=", "int8+ties=wide", "fp64", "fp32-signed+ties=1"] {
            assert!(
                matches!(
                    ModelOptions::default().with_precision_spec(bad),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad}"
            );
        }
    }
}
