//! Beam search with the bookkeeping of Hugging Face `generate` (transformers 5), so that the
//! same model yields the same beams:
//!
//! * scores are accumulated log-softmax values (after the length rules and the caller's filter);
//! * each step keeps the top `max(2, 1 + #stop tokens) × num_beams` candidates of every item;
//! * a candidate that ends (stop token or length limit) among the first `num_beams` is a
//!   finished hypothesis scored `sum / generated_len^length_penalty`; the `num_beams` best
//!   finished hypotheses are kept;
//! * the `num_beams` best candidates that did not end continue (ended ones are pushed down by
//!   `1e9`, as in the reference);
//! * an item is done when all hypothesis slots are full and the best running beam, scored at its
//!   current length, cannot beat the worst of them (or, with `early_stopping`, as soon as the
//!   slots are full).

use super::decoder::StepDecoder;
use super::filter::TokenFilter;
use super::options::{BeamSearch, DecodingOptions};
use super::output::{Generated, StopReason};
use super::processors::{log_softmax, suppress};
use crate::error::{Error, Result};

const ENDED_PENALTY: f32 = -1.0e9;

#[derive(Clone)]
struct Beam {
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    score: f32,
}

struct Hypothesis {
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    score: f32,
}

struct Item {
    beams: Vec<Beam>,
    finished: Vec<Hypothesis>,
    done: bool,
}

/// One candidate continuation within an item.
struct Candidate {
    score: f32,
    beam: usize,
    token: u32,
    raw_logprob: f32,
}

pub(super) fn beam_search(
    decoder: &mut dyn StepDecoder,
    start_token: u32,
    stop_tokens: &[u32],
    opts: &DecodingOptions,
    cfg: &BeamSearch,
    row_ids: &[u64],
    filter: Option<&dyn TokenFilter>,
) -> Result<Vec<Generated>> {
    let nb = cfg.num_beams;
    let keep_k = (1 + stop_tokens.len()).max(2) * nb;
    let vocab = decoder.vocab_size();
    let n = row_ids.len();
    let mut items: Vec<Item> = (0..n)
        .map(|_| Item {
            beams: vec![Beam {
                tokens: Vec::new(),
                logprobs: Vec::new(),
                score: 0.0,
            }],
            finished: Vec::new(),
            done: false,
        })
        .collect();
    // Items still in the decoder batch, in batch order; item i owns rows
    // [i*beams_per_item, (i+1)*beams_per_item) of the batch.
    let mut active: Vec<usize> = (0..n).collect();
    let mut feed = vec![start_token; n];
    let mut logits = Vec::new();
    let mut scores = vec![0f32; vocab];
    let mut raw = vec![0f32; vocab];
    let mut cands: Vec<Candidate> = Vec::new();

    for step in 0..opts.max_new_tokens {
        if active.is_empty() {
            break;
        }
        decoder.step(&feed, &mut logits)?;
        let rows_per_item = items[active[0]].beams.len();
        if logits.len() != active.len() * rows_per_item * vocab {
            return Err(Error::Shape(format!(
                "decoder returned {} logits for {} rows of vocabulary {vocab}",
                logits.len(),
                active.len() * rows_per_item
            )));
        }
        let last_step = step + 1 == opts.max_new_tokens;
        let mut keep_rows = Vec::new();
        let mut next_feed = Vec::new();
        let mut next_active = Vec::new();
        for (a, &it) in active.iter().enumerate() {
            cands.clear();
            let item = &mut items[it];
            for (b, beam) in item.beams.iter().enumerate() {
                let row = a * rows_per_item + b;
                let lg = &logits[row * vocab..(row + 1) * vocab];
                raw.copy_from_slice(lg);
                log_softmax(&mut raw);
                scores.copy_from_slice(&raw);
                if step < opts.min_new_tokens {
                    suppress(&mut scores, stop_tokens);
                }
                if let Some(f) = filter {
                    f.filter(row_ids[it], &beam.tokens, &mut scores);
                }
                for (t, &s) in scores.iter().enumerate() {
                    cands.push(Candidate {
                        score: s + beam.score,
                        beam: b,
                        token: t as u32,
                        raw_logprob: raw[t],
                    });
                }
            }
            // Highest score first; ties keep the lower flat index (beam-major, then token).
            let k = keep_k.min(cands.len());
            if k < cands.len() {
                cands.select_nth_unstable_by(k - 1, |x, y| y.score.total_cmp(&x.score));
                cands.truncate(k);
            }
            cands.sort_by(|x, y| {
                y.score
                    .total_cmp(&x.score)
                    .then((x.beam, x.token).cmp(&(y.beam, y.token)))
            });

            let gen_len = (step + 1) as f32;
            let slots_full_early = cfg.early_stopping && item.finished.len() == nb;
            let mut running: Vec<(f32, usize, u32, f32)> = Vec::with_capacity(cands.len());
            for (rank, c) in cands.iter().enumerate() {
                let ends = stop_tokens.contains(&c.token) || last_step;
                // Items whose heuristic closed have already left the batch, so additions are open.
                if ends && rank < nb && !slots_full_early && c.score.is_finite() {
                    let beam = &item.beams[c.beam];
                    let mut tokens = beam.tokens.clone();
                    tokens.push(c.token);
                    let mut lps = beam.logprobs.clone();
                    lps.push(c.raw_logprob);
                    let hyp = Hypothesis {
                        tokens,
                        logprobs: lps,
                        score: c.score / gen_len.powf(cfg.length_penalty),
                    };
                    insert_hypothesis(&mut item.finished, hyp, nb);
                }
                let s = if ends {
                    c.score + ENDED_PENALTY
                } else {
                    c.score
                };
                running.push((s, c.beam, c.token, c.raw_logprob));
            }
            running.sort_by(|x, y| y.0.total_cmp(&x.0));
            running.truncate(nb);
            let new_beams: Vec<Beam> = running
                .iter()
                .map(|&(s, b, t, lp)| {
                    let old = &item.beams[b];
                    let mut tokens = old.tokens.clone();
                    tokens.push(t);
                    let mut logprobs = old.logprobs.clone();
                    logprobs.push(lp);
                    Beam {
                        tokens,
                        logprobs,
                        score: s,
                    }
                })
                .collect();
            let sources: Vec<usize> = running.iter().map(|r| r.1).collect();
            item.beams = new_beams;

            // The stopping heuristic, evaluated with the new running scores.
            let full = item.finished.len() == nb;
            let best_running = item.beams.first().map_or(f32::NEG_INFINITY, |b| b.score)
                / gen_len.powf(cfg.length_penalty);
            let worst_finished = item.finished.last().map_or(f32::NEG_INFINITY, |h| h.score);
            let cannot_improve = full && best_running <= worst_finished;
            if cannot_improve || (cfg.early_stopping && full) || last_step {
                item.done = true;
                continue;
            }
            for (b, &src) in sources.iter().enumerate() {
                keep_rows.push(a * rows_per_item + src);
                next_feed.push(item.beams[b].tokens[step]);
            }
            next_active.push(it);
        }
        if next_active.is_empty() {
            break;
        }
        decoder.select_rows(&keep_rows)?;
        active = next_active;
        feed = next_feed;
    }

    items
        .into_iter()
        .map(|item| {
            let best = item.finished.into_iter().next().ok_or_else(|| {
                Error::InvalidArgument("beam search finished without a hypothesis".into())
            })?;
            let stop = match best.tokens.last() {
                Some(t) if stop_tokens.contains(t) => StopReason::Token(*t),
                _ => StopReason::MaxLength,
            };
            Ok(Generated {
                tokens: best.tokens,
                logprobs: best.logprobs,
                stop,
                score: Some(best.score),
                min_margin: None,
            })
        })
        .collect()
}

/// Keeps `finished` sorted best-first with at most `cap` entries.
fn insert_hypothesis(finished: &mut Vec<Hypothesis>, hyp: Hypothesis, cap: usize) {
    if finished.len() == cap && finished.last().is_some_and(|w| w.score >= hyp.score) {
        return;
    }
    // Stable for equal scores: the earlier hypothesis stays ahead.
    let pos = finished.partition_point(|h| h.score >= hyp.score);
    finished.insert(pos, hyp);
    finished.truncate(cap);
}
