//! The encoder side of one precision's graphs: cells through the cell encoder, prompts
//! tokenized and spliced with their cells, then through the text encoder.

use super::decoder::CrossState;
use super::engine::Engine;
use super::{tensors, Prompt};
use crate::error::{Error, Result};
use crate::prompt::{splice_batch, SpliceRow};
use std::sync::Arc;

impl Engine {
    /// Runs the cell encoder on `n` preprocessed cells (`expression` is `[n × num_genes]`
    /// row-major) and returns their query vectors, `[n × num_query × d_model]`.
    ///
    /// # Errors
    /// [`Error::Shape`] for a wrong length; [`Error::Onnx`] if the graph fails.
    pub(super) fn encode_cells(&self, expression: &[f32], n: usize) -> Result<Vec<f32>> {
        let d = self.shared.dims();
        if expression.len() != n * d.num_genes {
            return Err(Error::Shape(format!(
                "{} expression values for {n} cells of {} genes",
                expression.len(),
                d.num_genes
            )));
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let projection = self.cell_input.project(expression, n)?;
        let width = self.cell_input.width();
        let out = self
            .cell_encoder
            .run_f32(&[("input_projection", &[n, width], &projection)])?;
        let (shape, values) = out.into_iter().next().ok_or_else(|| {
            self.cell_encoder
                .run_error("the cell encoder produced no output")
        })?;
        if shape != [n, d.num_query_tokens, d.d_model] {
            return Err(self.cell_encoder.run_error(format!(
                "cell embeddings shape {shape:?}, expected [{n}, {}, {}]",
                d.num_query_tokens, d.d_model
            )));
        }
        Ok(values)
    }

    /// Tokenizes the prompts and encodes their cells in one batch.
    pub(super) fn prepare(&self, prompts: &[Prompt<'_>]) -> Result<(Vec<Vec<u32>>, Vec<f32>)> {
        let d = self.shared.dims();
        let ids: Vec<Vec<u32>> = prompts
            .iter()
            .map(|p| self.shared.tokenizer.encode(p.text))
            .collect::<Result<_>>()?;
        let mut expr = Vec::new();
        let mut n_cells = 0;
        for p in prompts {
            if let Some(e) = p.expression {
                if e.len() != d.num_genes {
                    return Err(Error::Shape(format!(
                        "prompt {}: expression has {} values, the model takes {} genes",
                        p.id,
                        e.len(),
                        d.num_genes
                    )));
                }
                expr.extend_from_slice(e);
                n_cells += 1;
            }
        }
        Ok((ids, self.encode_cells(&expr, n_cells)?))
    }

    /// Each prompt's slice of the batched cell encoder output (in prompt order).
    pub(super) fn split_cells<'e>(
        &self,
        prompts: &[Prompt<'_>],
        encoded: &'e [f32],
    ) -> Vec<Option<&'e [f32]>> {
        let per_cell = self.shared.dims().num_query_tokens * self.shared.dims().d_model;
        let mut next = 0;
        prompts
            .iter()
            .map(|p| {
                p.expression.map(|_| {
                    let c = &encoded[next * per_cell..(next + 1) * per_cell];
                    next += 1;
                    c
                })
            })
            .collect()
    }

    /// The text encoder's final hidden states of each prompt, with its cell spliced in:
    /// `[positions × d_model]` row-major per prompt, over the prompt's own positions (a cell
    /// occupies `num_query_tokens` of them). These are what the decoder attends to; useful as
    /// prompt+cell embeddings and for checking the encoder against a reference.
    ///
    /// # Errors
    /// As [`Model::generate`](super::Model::generate).
    pub(super) fn encoder_states(&self, prompts: &[Prompt<'_>]) -> Result<Vec<Vec<f32>>> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, cells) = self.prepare(prompts)?;
        let cell_refs = self.split_cells(prompts, &cells);
        let (cross, hidden) = self.run_text_encoder(&ids, &cell_refs, true)?;
        let hidden = hidden.ok_or_else(|| {
            self.text_encoder
                .run_error("the text encoder returned no hidden states")
        })?;
        let hidden = tensors::view_f32(&self.text_encoder, "encoder_hidden_states", &hidden)?.1;
        let d = self.shared.dims().d_model;
        let len = cross.enc_len;
        Ok((0..cross.rows)
            .map(|r| {
                let mask = &cross.mask_host[r * len..(r + 1) * len];
                let real = mask.iter().filter(|&&m| m != 0).count();
                hidden[r * len * d..(r * len + real) * d].to_vec()
            })
            .collect())
    }

    /// Runs the text encoder on tokenized prompts with their cells spliced in.
    pub(super) fn encode_text(
        &self,
        ids: &[Vec<u32>],
        cells: &[Option<&[f32]>],
    ) -> Result<CrossState> {
        Ok(self.run_text_encoder(ids, cells, false)?.0)
    }

    /// The decoder's cross state and, when asked, the encoder's hidden states
    /// `[rows, enc_len, d_model]` (right-padded rows; shape checked).
    pub(super) fn run_text_encoder(
        &self,
        ids: &[Vec<u32>],
        cells: &[Option<&[f32]>],
        want_hidden: bool,
    ) -> Result<(CrossState, Option<ort::value::DynValue>)> {
        let d = self.shared.dims();
        let st = &self.shared.package.manifest().special_tokens;
        let rows: Vec<SpliceRow<'_>> = ids
            .iter()
            .zip(cells)
            .map(|(ids, cell)| SpliceRow { ids, cell: *cell })
            .collect();
        let batch = splice_batch(
            &rows,
            &self.shared.embeddings,
            d.d_model,
            st.placeholder,
            st.pad,
            d.num_query_tokens,
        )?;
        let g = &self.text_encoder;
        let mask_value = tensors::i64_tensor(g, &[batch.batch, batch.length], batch.mask.clone())?;
        let inputs = ort::inputs![
            "inputs_embeds" => tensors::f32_tensor(g, &[batch.batch, batch.length, d.d_model], batch.embeds)?,
            "attention_mask" => &mask_value,
        ];
        let mut session = g.session();
        let out = session.run(inputs).map_err(|e| g.run_error(e))?;
        let expect = [batch.batch, d.num_heads, batch.length, d.d_kv];
        let mut out = out;
        let names = &self.shared.cache_names;
        let key = tensors::take_all(g, &mut out, &names.cross_key)?;
        let value = tensors::take_all(g, &mut out, &names.cross_value)?;
        for (n, v) in names
            .cross_key
            .iter()
            .chain(&names.cross_value)
            .zip(key.iter().chain(&value))
        {
            let shape = tensors::view_f32(g, n, v)?.0;
            if shape != expect {
                return Err(g.run_error(format!("{n} has shape {shape:?}, expected {expect:?}")));
            }
        }
        let hidden = if want_hidden {
            let v = tensors::take(g, &mut out, "encoder_hidden_states")?;
            let shape = tensors::view_f32(g, "encoder_hidden_states", &v)?.0;
            if shape != [batch.batch, batch.length, d.d_model] {
                return Err(g.run_error(format!(
                    "encoder_hidden_states has shape {shape:?}, expected [{}, {}, {}]",
                    batch.batch, batch.length, d.d_model
                )));
            }
            Some(v)
        } else {
            None
        };
        let cross = CrossState {
            names: Arc::clone(names),
            heads: d.num_heads,
            d_kv: d.d_kv,
            rows: batch.batch,
            enc_len: batch.length,
            key,
            value,
            mask: mask_value,
            mask_host: batch.mask,
        };
        Ok((cross, hidden))
    }
}
