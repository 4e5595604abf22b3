//! Teacher-forced scoring of candidate answers with one precision's graphs.

use super::decoder::sequence_logprobs;
use super::engine::Engine;
use super::Prompt;
use crate::error::{Error, Result};
use crate::package::Precision;

impl Engine {
    /// Log-likelihood of every candidate for every prompt, with this engine's precision
    /// (see [`Model::score_with_precision`](super::Model::score_with_precision)).
    pub(super) fn score(
        &self,
        prompts: &[Prompt<'_>],
        candidates: &[Vec<u32>],
    ) -> Result<Vec<(Vec<f32>, Precision)>> {
        if candidates.is_empty() || candidates.iter().any(Vec::is_empty) {
            return Err(Error::InvalidArgument(
                "scoring needs a non-empty set of non-empty candidates".into(),
            ));
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let st = &self.shared.package.manifest().special_tokens;
        let (ids, cells) = self.prepare(prompts)?;
        let cell_refs = self.split_cells(prompts, &cells);
        let cross = self.encode_text(&ids, &cell_refs)?;
        let k = candidates.len();
        let seqs: Vec<Vec<u32>> = candidates
            .iter()
            .map(|c| {
                std::iter::once(st.decoder_start)
                    .chain(c.iter().copied())
                    .chain(std::iter::once(st.eos))
                    .collect()
            })
            .collect();
        // Bound the rows of one decoder run (prompts × candidates).
        let per_run = (64 / k).max(1);
        let mut out = Vec::with_capacity(prompts.len());
        for start in (0..prompts.len()).step_by(per_run) {
            let end = (start + per_run).min(prompts.len());
            let rows: Vec<usize> = (start..end)
                .flat_map(|i| std::iter::repeat_n(i, k))
                .collect();
            let sub = cross.select(&self.decoder, &rows)?;
            let all: Vec<Vec<u32>> = (start..end).flat_map(|_| seqs.iter().cloned()).collect();
            let lp = sequence_logprobs(
                &self.decoder,
                &sub,
                &all,
                st.pad,
                self.shared.dims().vocab_size,
            )?;
            out.extend(lp.chunks(k).map(<[f32]>::to_vec));
        }
        Ok(out.into_iter().map(|s| (s, self.precision)).collect())
    }
}
