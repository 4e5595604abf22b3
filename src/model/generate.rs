//! Answering prompts with one precision's graphs: decoding (greedy, sampling or beam search
//! over the KV-cached decoder), then the answers' texts and, for answers that end with the
//! cell-generation signal, their cells.

use super::decoder::{final_hidden, CrossState, OnnxDecoder};
use super::engine::Engine;
use super::{Answer, CellOptions, GeneratedCell, Prompt};
use crate::error::Result;
use crate::generation::{generate, DecodingOptions, Generated, StopReason, TokenFilter};

/// Decoded token sequences of a batch, with the encoder state they attended to (kept to make
/// the cells of the answers that ask for one).
pub(super) struct Decoded {
    pub generated: Vec<Generated>,
    cross: CrossState,
}

impl Engine {
    /// Encodes `prompts` and decodes them together (finished rows leave the batch).
    pub(super) fn decode(
        &self,
        prompts: &[Prompt<'_>],
        opts: &DecodingOptions,
        filter: Option<&dyn TokenFilter>,
    ) -> Result<Decoded> {
        let d = self.shared.dims();
        let st = &self.shared.package.manifest().special_tokens;
        let (ids, encoded) = self.prepare(prompts)?;
        let cells = self.split_cells(prompts, &encoded);
        let cross = self.encode_text(&ids, &cells)?;
        let row_ids: Vec<u64> = prompts.iter().map(|p| p.id).collect();
        let generated = {
            let mut dec = OnnxDecoder::new(&self.decoder, &cross, d.vocab_size, st.pad)?;
            generate(&mut dec, st.decoder_start, &st.stop, opts, &row_ids, filter)?
        };
        Ok(Decoded { generated, cross })
    }

    /// The answers of a decoded batch: `decided[i]`, where another engine already answered
    /// row `i`, else this engine's text and (after the signal token) cell.
    pub(super) fn finish(
        &self,
        prompts: &[Prompt<'_>],
        decoded: Decoded,
        cell_opts: &CellOptions,
        decided: Vec<Option<Answer>>,
    ) -> Result<Vec<Answer>> {
        let d = self.shared.dims();
        let st = &self.shared.package.manifest().special_tokens;
        let Decoded { generated, cross } = decoded;
        let signal = st.signal.first().copied();
        let wants_cell: Vec<usize> = generated
            .iter()
            .enumerate()
            .filter(|(i, g)| {
                decided[*i].is_none() && signal.is_some_and(|s| g.stop == StopReason::Token(s))
            })
            .map(|(i, _)| i)
            .collect();
        let mut cells_out: Vec<Option<GeneratedCell>> = vec![None; prompts.len()];
        if !wants_cell.is_empty() {
            let seqs: Vec<Vec<u32>> = wants_cell
                .iter()
                .map(|&i| {
                    let mut s = vec![st.decoder_start];
                    s.extend(&generated[i].tokens);
                    s
                })
                .collect();
            let sub = cross.select(&self.decoder, &wants_cell)?;
            let conditions = final_hidden(&self.decoder, &sub, &seqs, st.pad, d.d_model)?;
            let ids: Vec<u64> = wants_cell.iter().map(|&i| prompts[i].id).collect();
            for (k, cell) in self
                .cells_from_conditions(&conditions, &ids, cell_opts)?
                .into_iter()
                .enumerate()
            {
                cells_out[wants_cell[k]] = Some(cell);
            }
        }
        generated
            .into_iter()
            .zip(cells_out)
            .zip(decided)
            .map(|((g, cell), other)| match other {
                Some(a) => Ok(a),
                None => Ok(Answer {
                    text: self.shared.tokenizer.decode(g.content_tokens())?,
                    tokens: g.tokens,
                    logprobs: g.logprobs,
                    stop: g.stop,
                    cell,
                    min_margin: g.min_margin,
                    precision: self.precision,
                }),
            })
            .collect()
    }

    /// Answers a batch of prompts with this engine alone (options already validated).
    pub(super) fn generate(
        &self,
        prompts: &[Prompt<'_>],
        opts: &DecodingOptions,
        cell_opts: &CellOptions,
        filter: Option<&dyn TokenFilter>,
    ) -> Result<Vec<Answer>> {
        let decoded = self.decode(prompts, opts, filter)?;
        let none = vec![None; prompts.len()];
        self.finish(prompts, decoded, cell_opts, none)
    }
}
