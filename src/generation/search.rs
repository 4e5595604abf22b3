//! The decoding loop for greedy search and sampling.

use super::beam::beam_search;
use super::decoder::StepDecoder;
use super::filter::TokenFilter;
use super::options::{Decoding, DecodingOptions};
use super::output::{Generated, StopReason};
use super::processors::{
    apply_temperature, apply_top_k, apply_top_p, argmax_margin, log_sum_exp, suppress,
};
use super::sampling::sample_index;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Generates one sequence for every row of `decoder`.
///
/// * `start_token` — fed to every row first (T5: the pad token).
/// * `stop_tokens` — producing any of them ends a sequence (it is kept as the last token).
/// * `row_ids` — one id per row, stable across batching (e.g. the cell's index in the dataset):
///   it selects the row's random stream when sampling and is passed to `filter`.
///
/// Rows are independent: finished rows leave the batch, so later steps cost only the rows still
/// running, and a row's result does not depend on which other rows share its batch.
///
/// # Errors
/// Invalid options, a `row_ids` length that differs from the batch, or decoder failures.
pub fn generate(
    decoder: &mut dyn StepDecoder,
    start_token: u32,
    stop_tokens: &[u32],
    opts: &DecodingOptions,
    row_ids: &[u64],
    filter: Option<&dyn TokenFilter>,
) -> Result<Vec<Generated>> {
    opts.validate()?;
    if row_ids.len() != decoder.rows() {
        return Err(Error::Shape(format!(
            "{} row ids for a batch of {} rows",
            row_ids.len(),
            decoder.rows()
        )));
    }
    if let Decoding::Beam(b) = &opts.decoding {
        return beam_search(decoder, start_token, stop_tokens, opts, b, row_ids, filter);
    }
    let n = row_ids.len();
    let vocab = decoder.vocab_size();
    let mut out: Vec<Option<Generated>> = vec![None; n];
    // Row r of the decoder batch belongs to request active[r].
    let mut active: Vec<usize> = (0..n).collect();
    let mut tokens: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut logprobs: Vec<Vec<f32>> = vec![Vec::new(); n];
    let greedy = matches!(opts.decoding, Decoding::Greedy);
    let mut margins: Vec<f32> = vec![f32::INFINITY; n];
    let mut rngs: Vec<Option<Rng>> = row_ids
        .iter()
        .map(|&id| match &opts.decoding {
            Decoding::Sample(s) => Some(Rng::for_stream(s.seed, id)),
            _ => None,
        })
        .collect();
    let mut feed: Vec<u32> = vec![start_token; n];
    let mut logits = Vec::new();
    let mut scores = vec![0f32; vocab];

    for step in 0..opts.max_new_tokens {
        if active.is_empty() {
            break;
        }
        decoder.step(&feed, &mut logits)?;
        if logits.len() != active.len() * vocab {
            return Err(Error::Shape(format!(
                "decoder returned {} logits for {} rows of vocabulary {vocab}",
                logits.len(),
                active.len()
            )));
        }
        let mut keep = Vec::with_capacity(active.len());
        let mut next_feed = Vec::with_capacity(active.len());
        for (r, &req) in active.iter().enumerate() {
            let row = &logits[r * vocab..(r + 1) * vocab];
            scores.copy_from_slice(row);
            if step < opts.min_new_tokens {
                suppress(&mut scores, stop_tokens);
            }
            if let Some(f) = filter {
                f.filter(row_ids[req], &tokens[req], &mut scores);
            }
            let tok = match &opts.decoding {
                Decoding::Sample(s) => {
                    apply_temperature(&mut scores, s.temperature);
                    apply_top_k(&mut scores, s.top_k);
                    apply_top_p(&mut scores, s.top_p);
                    let rng = rngs[req].as_mut().expect("sampling rows have a stream");
                    sample_index(&scores, rng)
                }
                _ => {
                    let (best, margin) = argmax_margin(&scores);
                    margins[req] = margins[req].min(margin);
                    if opts.stop_below_margin.is_some_and(|bound| margin < bound) {
                        out[req] = Some(Generated {
                            tokens: std::mem::take(&mut tokens[req]),
                            logprobs: std::mem::take(&mut logprobs[req]),
                            stop: StopReason::NearTie,
                            score: None,
                            min_margin: Some(margins[req]),
                        });
                        continue;
                    }
                    best
                }
            } as u32;
            // Only the chosen token's log-probability is kept: no need to normalise the row.
            tokens[req].push(tok);
            logprobs[req].push(row[tok as usize] - log_sum_exp(row));
            let stop = if stop_tokens.contains(&tok) {
                Some(StopReason::Token(tok))
            } else if step + 1 == opts.max_new_tokens {
                Some(StopReason::MaxLength)
            } else {
                None
            };
            match stop {
                Some(reason) => {
                    out[req] = Some(Generated {
                        tokens: std::mem::take(&mut tokens[req]),
                        logprobs: std::mem::take(&mut logprobs[req]),
                        stop: reason,
                        score: None,
                        min_margin: greedy.then_some(margins[req]),
                    });
                }
                None => {
                    keep.push(r);
                    next_feed.push(tok);
                }
            }
        }
        if keep.len() != active.len() {
            if !keep.is_empty() {
                decoder.select_rows(&keep)?;
            }
            active = keep.iter().map(|&r| active[r]).collect();
        }
        feed = next_feed;
    }
    Ok(out
        .into_iter()
        .map(|g| g.expect("every row ends by max_new_tokens"))
        .collect())
}
