//! The per-cell work: scatter one sparse row into its dense vocabulary row, check it, normalize.

use super::log1p::log1p_in_place;
use super::problem::CellProblem;
use crate::genes::GeneAlignment;

/// Largest f32 below which a float can have a fractional part (2^23).
const INTEGER_LIMIT: f32 = 8_388_608.0;

/// The per-row state a dense output row keeps between batches.
#[derive(Debug, Default)]
pub(crate) struct RowState {
    /// Vocabulary positions this row holds non-zero values at, each once. Zeroing them is all it
    /// takes to reuse the row, instead of clearing its whole width.
    pub touched: Vec<u32>,
    /// Gather buffer, so that `log1p` runs over a contiguous slice.
    pub gathered: Vec<f32>,
    /// Why the row's cell was rejected, if it was.
    pub problem: Option<CellProblem>,
}

/// Settings for one pass, borrowed from the preprocessor.
pub(crate) struct Kernel<'a> {
    pub map: &'a [u32],
    pub copies: &'a [(u32, u32)],
    pub normalize: bool,
    pub target_sum: f64,
    pub all_genes: bool,
    pub log1p: bool,
    pub integer: bool,
}

/// Zeroes what `state` says the row holds.
pub(crate) fn clear_row(out: &mut [f32], state: &mut RowState) {
    for &p in &state.touched {
        out[p as usize] = 0.0;
    }
    state.touched.clear();
}

#[cold]
fn classify(column: u32, value: f32) -> CellProblem {
    let column = column as usize;
    if !value.is_finite() {
        CellProblem::NonFinite { column, value }
    } else if value < 0.0 {
        CellProblem::Negative { column, value }
    } else {
        CellProblem::NonInteger { column, value }
    }
}

impl Kernel<'_> {
    /// Writes one cell into `out` (a zero row apart from what `state.touched` lists), leaving
    /// `out` all-zero and `state.problem` set when the cell is rejected.
    pub fn run(&self, indices: &[u32], values: &[f32], out: &mut [f32], state: &mut RowState) {
        clear_row(out, state);
        state.problem = self.fill(indices, values, out, state).err();
        if state.problem.is_some() {
            clear_row(out, state);
        }
    }

    fn fill(
        &self,
        indices: &[u32],
        values: &[f32],
        out: &mut [f32],
        state: &mut RowState,
    ) -> Result<(), CellProblem> {
        let touched = &mut state.touched;
        let mut total = 0.0f64;
        let mut aligned = 0.0f64;
        for (&c, &v) in indices.iter().zip(values) {
            // One comparison rejects NaN, infinities and negatives; the cause is sorted out off
            // the hot path.
            if !(0.0..=f32::MAX).contains(&v)
                || (self.integer && v < INTEGER_LIMIT && (v as i32) as f32 != v)
            {
                return Err(classify(c, v));
            }
            total += v as f64;
            let p = self.map[c as usize];
            if p != GeneAlignment::DROPPED && v != 0.0 {
                // Adding (rather than storing) makes summed duplicate columns and repeated
                // entries of a non-canonical row come out right; a slot is listed when it first
                // turns non-zero, so each is listed once.
                let slot = &mut out[p as usize];
                if *slot == 0.0 {
                    touched.push(p);
                }
                *slot += v;
                aligned += v as f64;
            }
        }
        for &(first, copy) in self.copies {
            let v = out[first as usize];
            if v != 0.0 {
                out[copy as usize] = v;
                touched.push(copy);
                aligned += v as f64;
            }
        }
        if total == 0.0 {
            return Err(CellProblem::Empty);
        }
        if aligned == 0.0 {
            return Err(CellProblem::EmptyAfterAlignment);
        }

        let scale = if self.normalize {
            let library = if self.all_genes { total } else { aligned };
            (self.target_sum / library) as f32
        } else {
            1.0
        };
        if self.log1p {
            let gathered = &mut state.gathered;
            gathered.clear();
            gathered.extend(touched.iter().map(|&p| out[p as usize] * scale));
            log1p_in_place(gathered);
            for (&p, &v) in touched.iter().zip(gathered.iter()) {
                out[p as usize] = v;
            }
        } else if scale != 1.0 {
            for &p in touched.iter() {
                out[p as usize] *= scale;
            }
        }
        Ok(())
    }
}
