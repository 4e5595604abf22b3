//! Measuring how far a reduced-precision model moves decision margins away from fp32, to choose
//! the tie margin of [`super::ModelOptions::fp32_tie_margin`] from data rather than by guess.

use super::decoder::OnnxDecoder;
use super::engine::Engine;
use super::{Model, Prompt};
use crate::cellgen::CountMode;
use crate::error::{Error, Result};
use crate::generation::processors::token_margin;
use crate::generation::{DecodingOptions, StepDecoder};
use crate::model::CellOptions;
use crate::package::Precision;

/// How much a model's top-1/top-2 logit margins differ from its fp32 reference's along the
/// reference's own greedy answers (see [`Model::margin_shift`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct MarginShift {
    /// The largest change of a margin, in nats.
    pub max: f32,
    /// The mean change, in nats.
    pub mean: f32,
    /// How many decoding steps were compared.
    pub steps: usize,
}

impl MarginShift {
    /// A tie margin of `factor` times the largest shift measured (3 leaves room for prompts
    /// unlike the measured ones).
    pub fn tie_margin(&self, factor: f32) -> f32 {
        self.max * factor
    }
}

impl Model {
    /// Measures how this model's decision margins differ from `reference`'s (the same package
    /// loaded in fp32): `reference` answers `prompts` greedily (up to `max_new_tokens`), then
    /// both models are fed those answers step by step, as generation feeds them, and at every
    /// step the margin of the reference's token over the best other token is compared.
    /// Prompts like the ones to be answered give the most telling figure.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `reference` is not an fp32 model of the same package
    /// (the same token embeddings) or `max_new_tokens` is 0; prompt, shape and runtime errors.
    pub fn margin_shift(
        &self,
        reference: &Model,
        prompts: &[Prompt<'_>],
        max_new_tokens: usize,
    ) -> Result<MarginShift> {
        let weights = |m: &Model| m.package().manifest().files.token_embeddings.sha256.clone();
        if reference.precision() != Precision::Fp32 || weights(reference) != weights(self) {
            return Err(Error::InvalidArgument(
                "margins are measured against an fp32 model of the same package".into(),
            ));
        }
        let opts = DecodingOptions::default().with_max_new_tokens(max_new_tokens);
        opts.validate()?;
        // The cells a signal token would produce are not needed: take the cheapest mode.
        let cells = CellOptions::default().with_mode(CountMode::Mu);
        let answers = reference.generate(prompts, &opts, &cells, None)?;
        let seqs: Vec<Vec<u32>> = answers.into_iter().map(|a| a.tokens).collect();
        let want = reference.engine.forced_margins(prompts, &seqs)?;
        let have = self.engine.forced_margins(prompts, &seqs)?;
        let (mut max, mut sum, mut steps) = (0f32, 0f64, 0usize);
        for (a, b) in want.iter().flatten().zip(have.iter().flatten()) {
            let d = (a - b).abs();
            max = max.max(d);
            sum += d as f64;
            steps += 1;
        }
        Ok(MarginShift {
            max,
            mean: if steps == 0 {
                0.0
            } else {
                (sum / steps as f64) as f32
            },
            steps,
        })
    }
}

impl Engine {
    /// The margin of each token of `seqs[i]` (new tokens, no start token) at the step that
    /// chose it, decoding incrementally as generation does with the tokens forced.
    pub(super) fn forced_margins(
        &self,
        prompts: &[Prompt<'_>],
        seqs: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>> {
        if prompts.len() != seqs.len() {
            return Err(Error::Shape(format!(
                "{} prompts for {} sequences",
                prompts.len(),
                seqs.len()
            )));
        }
        let mut out: Vec<Vec<f32>> = seqs.iter().map(|s| Vec::with_capacity(s.len())).collect();
        if prompts.is_empty() {
            return Ok(out);
        }
        let st = &self.shared.package.manifest().special_tokens;
        let vocab = self.shared.dims().vocab_size;
        let (ids, encoded) = self.prepare(prompts)?;
        let cells = self.split_cells(prompts, &encoded);
        let cross = self.encode_text(&ids, &cells)?;
        let mut dec = OnnxDecoder::new(&self.decoder, &cross, vocab, st.pad)?;
        let mut feed = vec![st.decoder_start; seqs.len()];
        let mut logits = Vec::new();
        for step in 0..seqs.iter().map(Vec::len).max().unwrap_or(0) {
            dec.step(&feed, &mut logits)?;
            for (r, s) in seqs.iter().enumerate() {
                feed[r] = match s.get(step) {
                    Some(&tok) => {
                        if tok as usize >= vocab {
                            return Err(Error::InvalidArgument(format!(
                                "token {tok} is outside the vocabulary of {vocab}"
                            )));
                        }
                        out[r].push(token_margin(
                            &logits[r * vocab..(r + 1) * vocab],
                            tok as usize,
                        ));
                        tok
                    }
                    None => st.pad,
                };
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tie_margins_scale_the_largest_shift() {
        let s = MarginShift {
            max: 0.2,
            mean: 0.05,
            steps: 10,
        };
        assert!((s.tie_margin(3.0) - 0.6).abs() < 1e-6);
    }
}
