//! Cell generation: the generator's conditions (decoder hidden states), its ZINB parameters,
//! and counts drawn from them with per-cell random streams.

use super::decoder::final_hidden;
use super::engine::Engine;
use super::{CellOptions, GeneratedCell, Prompt, ZinbOutput};
use crate::cellgen::{append_cell, standard_normal, LibraryPrior, ZinbParams};
use crate::error::{Error, Result};
use crate::matrix::CsrRows;
use crate::rng::Rng;

impl Engine {
    /// The generator's condition for each prompt: the last decoder layer's hidden state at the
    /// final token of `sequences[i]` (the generated tokens, ending with the signal token; the
    /// decoder start token is prepended here), computed teacher-forced as the reference does.
    ///
    /// # Errors
    /// Prompt, shape and runtime errors.
    pub(super) fn conditions(
        &self,
        prompts: &[Prompt<'_>],
        sequences: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>> {
        if prompts.len() != sequences.len() {
            return Err(Error::Shape(format!(
                "{} prompts for {} sequences",
                prompts.len(),
                sequences.len()
            )));
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, cells) = self.prepare(prompts)?;
        let cell_refs = self.split_cells(prompts, &cells);
        let cross = self.encode_text(&ids, &cell_refs)?;
        let st = &self.shared.package.manifest().special_tokens;
        let seqs: Vec<Vec<u32>> = sequences
            .iter()
            .map(|s| {
                std::iter::once(st.decoder_start)
                    .chain(s.iter().copied())
                    .collect()
            })
            .collect();
        final_hidden(
            &self.decoder,
            &cross,
            &seqs,
            st.pad,
            self.shared.dims().d_model,
        )
    }

    /// Runs the generator graph: `conditions` (one `d_model` vector per cell), `z`
    /// (`[n × n_latent]`) and `log_library` (one per cell) → ZINB parameters per cell and gene.
    ///
    /// # Errors
    /// Shape and runtime errors.
    pub(super) fn generator_params(
        &self,
        conditions: &[Vec<f32>],
        z: &[f32],
        log_library: &[f32],
    ) -> Result<ZinbOutput> {
        let d = self.shared.dims();
        let n = conditions.len();
        if z.len() != n * d.n_latent || log_library.len() != n {
            return Err(Error::Shape(format!(
                "generator inputs for {n} cells: z has {} values (expected {}), log_library {}",
                z.len(),
                n * d.n_latent,
                log_library.len()
            )));
        }
        if let Some(c) = conditions.iter().find(|c| c.len() != d.d_model) {
            return Err(Error::Shape(format!(
                "condition of {} values, the model width is {}",
                c.len(),
                d.d_model
            )));
        }
        let cond: Vec<f32> = conditions.concat();
        let out = self.generator.run_f32(&[
            ("condition", &[n, d.d_model], &cond),
            ("z", &[n, d.n_latent], z),
            ("log_library", &[n, 1], log_library),
        ])?;
        let names = self.generator.output_names();
        let get = |name: &str| -> Result<Vec<f32>> {
            let i = names
                .iter()
                .position(|x| x == name)
                .ok_or_else(|| self.generator.run_error(format!("no output {name:?}")))?;
            let (shape, v) = &out[i];
            if shape[..] != [n, d.num_genes] {
                return Err(self.generator.run_error(format!(
                    "{name} shape {shape:?}, expected [{n}, {}]",
                    d.num_genes
                )));
            }
            Ok(v.clone())
        };
        Ok(ZinbOutput {
            mu: get("mu")?,
            theta: get("theta")?,
            zi_logits: get("zi_logits")?,
        })
    }

    /// Runs the generator on conditions (one per cell) and draws the cells' counts.
    ///
    /// Each cell `i` draws its latent, library size and counts from the stream
    /// `(cell_opts.seed, ids[i])`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad prior batch or non-finite fixed library size;
    /// shape and runtime errors.
    pub(super) fn cells_from_conditions(
        &self,
        conditions: &[Vec<f32>],
        ids: &[u64],
        cell_opts: &CellOptions,
    ) -> Result<Vec<GeneratedCell>> {
        let d = self.shared.dims();
        let gen = &self.shared.package.manifest().generator;
        if conditions.len() != ids.len() {
            return Err(Error::Shape(format!(
                "{} conditions for {} ids",
                conditions.len(),
                ids.len()
            )));
        }
        // Condition widths are checked by `generator_params`, before any counts are drawn.
        let b = cell_opts.prior_batch;
        let prior = match (gen.library_log_means.get(b), gen.library_log_vars.get(b)) {
            (Some(&log_mean), Some(&log_var)) => LibraryPrior { log_mean, log_var },
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "prior batch {b} does not exist (the package has {})",
                    gen.library_log_means.len()
                )))
            }
        };
        if let Some(l) = cell_opts.log_library {
            if !l.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "log library {l} is not finite"
                )));
            }
        }
        let n = conditions.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut rngs: Vec<Rng> = ids
            .iter()
            .map(|&id| Rng::for_stream(cell_opts.seed, id))
            .collect();
        let mut z = vec![0f32; n * d.n_latent];
        let mut libs = vec![0f32; n];
        for (i, rng) in rngs.iter_mut().enumerate() {
            standard_normal(rng, &mut z[i * d.n_latent..(i + 1) * d.n_latent]);
            libs[i] = cell_opts.log_library.unwrap_or_else(|| prior.sample(rng));
        }
        let params = self.generator_params(conditions, &z, &libs)?;
        let (mu, theta, zi) = (&params.mu, &params.theta, &params.zi_logits);
        let g = d.num_genes;
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            let params = ZinbParams {
                mu: &mu[i * g..(i + 1) * g],
                theta: &theta[i * g..(i + 1) * g],
                zi_logits: &zi[i * g..(i + 1) * g],
            };
            let mut counts = CsrRows::new(g);
            append_cell(params, cell_opts.mode, &mut rngs[i], &mut counts)?;
            cells.push(GeneratedCell {
                condition: conditions[i].clone(),
                log_library: libs[i],
                counts,
            });
        }
        Ok(cells)
    }
}
