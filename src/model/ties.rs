//! Near-ties of a reduced-precision model, re-decided by its fp32 graphs.
//!
//! int8 and fp16 graphs compute logits a little differently from fp32 (on the bundled trained
//! package, top-1/top-2 margins move by at most 0.18 nats, see `Model::margin_shift`). Where fp32 decides by more than
//! that, both precisions choose the same token; where the reduced-precision margin is smaller
//! than the caller's bound, the decision could go either way, so that prompt is run again in
//! fp32 and its fp32 answer is returned (`Answer::precision` says which graphs decided).

use super::engine::Engine;
use super::{Answer, CellOptions, Prompt};
use crate::error::{Error, Result};
use crate::generation::{Decoding, DecodingOptions, Generated, StopReason, TokenFilter};
use crate::package::Precision;

/// The fp32 graphs of a reduced-precision model's package and the margin (nats) below which
/// they decide instead of it. Composes with the model's own engine: each call runs that
/// engine first and hands the near-ties to fp32.
pub(super) struct TieCheck {
    pub fp32: Engine,
    pub margin: f32,
}

impl TieCheck {
    /// Answers `prompts` with `own`, re-deciding greedy near-ties in fp32. A greedy row stops
    /// at its first near-tie (fp32 answers it anyway). Other decodings are `own`'s alone.
    pub(super) fn generate(
        &self,
        own: &Engine,
        prompts: &[Prompt<'_>],
        opts: &DecodingOptions,
        cell_opts: &CellOptions,
        filter: Option<&dyn TokenFilter>,
    ) -> Result<Vec<Answer>> {
        if !matches!(opts.decoding, Decoding::Greedy) {
            return own.generate(prompts, opts, cell_opts, filter);
        }
        let m = self.margin;
        let bound = opts.stop_below_margin.map_or(m, |b| b.min(m));
        let own_opts = opts.clone().with_stop_below_margin(bound);
        let decoded = own.decode(prompts, &own_opts, filter)?;
        let mut decided: Vec<Option<Answer>> = vec![None; prompts.len()];
        let rows = near_tie_answers(&decoded.generated, m);
        if !rows.is_empty() {
            let sub: Vec<Prompt<'_>> = rows.iter().map(|&i| prompts[i]).collect();
            for (i, a) in rows
                .iter()
                .zip(self.fp32.generate(&sub, opts, cell_opts, filter)?)
            {
                decided[*i] = Some(a);
            }
        }
        own.finish(prompts, decoded, cell_opts, decided)
    }

    /// Scores with `own`, the rows whose two best candidates lie within the margin in fp32.
    pub(super) fn score(
        &self,
        own: &Engine,
        prompts: &[Prompt<'_>],
        candidates: &[Vec<u32>],
    ) -> Result<Vec<(Vec<f32>, Precision)>> {
        let mut out = own.score(prompts, candidates)?;
        let rows = near_tie_scores(out.iter().map(|(s, _)| s.as_slice()), self.margin);
        if !rows.is_empty() {
            let sub: Vec<Prompt<'_>> = rows.iter().map(|&i| prompts[i]).collect();
            for (&i, row) in rows.iter().zip(self.fp32.score(&sub, candidates)?) {
                out[i] = row;
            }
        }
        Ok(out)
    }
}

/// A validated tie margin: finite and not negative.
pub(super) fn check_margin(margin: f32) -> Result<f32> {
    if margin.is_finite() && margin >= 0.0 {
        Ok(margin)
    } else {
        Err(Error::InvalidArgument(format!(
            "the fp32 tie margin must be a finite number of nats >= 0, not {margin}"
        )))
    }
}

/// Rows of a greedy batch that some step decided by less than `margin`, or that were left
/// undecided at a near-tie.
pub(super) fn near_tie_answers(generated: &[Generated], margin: f32) -> Vec<usize> {
    generated
        .iter()
        .enumerate()
        .filter(|(_, g)| g.stop == StopReason::NearTie || g.min_margin.is_some_and(|m| m < margin))
        .map(|(i, _)| i)
        .collect()
}

/// Rows of candidate scores whose two best candidates lie closer than `margin`.
pub(super) fn near_tie_scores<'a>(
    scores: impl IntoIterator<Item = &'a [f32]>,
    margin: f32,
) -> Vec<usize> {
    scores
        .into_iter()
        .enumerate()
        .filter(|(_, row)| {
            let mut best = f32::NEG_INFINITY;
            let mut second = f32::NEG_INFINITY;
            for &s in row.iter() {
                if s > best {
                    second = best;
                    best = s;
                } else if s > second {
                    second = s;
                }
            }
            row.len() > 1 && (row.iter().any(|s| s.is_nan()) || best - second < margin)
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(min_margin: Option<f32>) -> Generated {
        Generated {
            tokens: vec![5, 1],
            logprobs: vec![-0.1, -0.2],
            stop: StopReason::Token(1),
            score: None,
            min_margin,
        }
    }

    #[test]
    fn greedy_rows_below_the_margin_are_re_decided() {
        let g = [
            answer(Some(0.3)),
            answer(Some(0.7)),
            answer(None),
            answer(Some(f32::INFINITY)),
            answer(Some(0.0)),
        ];
        assert_eq!(near_tie_answers(&g, 0.5), vec![0, 4]);
        assert_eq!(near_tie_answers(&g, 0.0), Vec::<usize>::new());
        // A row left undecided is re-decided whatever its margin.
        let left = Generated {
            stop: StopReason::NearTie,
            ..answer(Some(0.9))
        };
        assert_eq!(near_tie_answers(&[answer(Some(0.9)), left], 0.5), vec![1]);
    }

    #[test]
    fn scored_rows_with_close_candidates_are_re_decided() {
        let s: [&[f32]; 5] = [
            &[-1.0, -1.2, -5.0],
            &[-3.0, -1.0, -2.0],
            &[-0.5],
            &[-2.0, -2.0],
            &[f32::NAN, -1.0],
        ];
        assert_eq!(near_tie_scores(s, 0.5), vec![0, 3, 4]);
    }

    #[test]
    fn margins_must_be_finite_and_not_negative() {
        assert_eq!(check_margin(0.5).unwrap(), 0.5);
        assert_eq!(check_margin(0.0).unwrap(), 0.0);
        for bad in [-0.1, f32::NAN, f32::INFINITY] {
            assert!(matches!(check_margin(bad), Err(Error::InvalidArgument(_))));
        }
    }
}
