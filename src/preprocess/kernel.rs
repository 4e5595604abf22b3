//! The per-cell work: scatter one sparse row into its dense vocabulary row, check it, normalize.
//!
//! Two paths. The fast one, for rows with strictly increasing columns and an alignment without
//! summed columns (the usual case), never reads the output row: it compacts the row's aligned
//! (position, value) pairs without branches, transforms the values as one contiguous slice,
//! and stores them. Dropped genes are half the columns of a typical dataset, so a branch on
//! "is this gene in the vocabulary" would mispredict constantly. The general path adds into the
//! output row, which makes repeated columns and summed duplicates come out right.

use super::log1p::log1p_scaled_in_place;
use super::problem::CellProblem;
use crate::genes::GeneAlignment;

/// Smallest f32 from which every float is a whole number (2^23).
const INTEGER_LIMIT: f32 = 8_388_608.0;

/// The per-row state a dense output row keeps between batches.
#[derive(Debug, Default)]
pub(crate) struct RowState {
    /// `positions[..len]`: the vocabulary positions the row may hold non-zero values at, each
    /// once. Zeroing them is all it takes to reuse the row, instead of clearing its whole width.
    /// Entries past `len` are scratch.
    pub positions: Vec<u32>,
    /// Values matching `positions`, scratch for the contiguous transform.
    pub values: Vec<f32>,
    /// Number of live entries of `positions`.
    pub len: usize,
    /// Why the row's cell was rejected, if it was.
    pub problem: Option<CellProblem>,
}

impl RowState {
    /// The positions the row may hold non-zero values at.
    pub fn touched(&self) -> &[u32] {
        &self.positions[..self.len]
    }
}

/// A row refers to a column the alignment does not have.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadColumn;

/// Settings for one pass, borrowed from the preprocessor.
pub(crate) struct Kernel<'a> {
    pub map: &'a [u32],
    pub copies: &'a [(u32, u32)],
    pub sums_columns: bool,
    pub normalize: bool,
    pub target_sum: f64,
    pub all_genes: bool,
    pub log1p: bool,
    pub integer: bool,
}

/// Zeroes what `state` says the row holds.
pub(crate) fn clear_row(out: &mut [f32], state: &mut RowState) {
    for &p in state.touched() {
        out[p as usize] = 0.0;
    }
    state.len = 0;
}

/// Sum in f64 over eight interleaved accumulators: no long dependency chain, vectorizable, and
/// the same order (so the same bits) on every run.
fn sum_f64(values: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += v as f64;
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a += v as f64;
    }
    acc.iter().sum()
}

#[inline(always)]
fn is_bad(v: f32, integer: bool) -> bool {
    // The range test fails for NaN too. Below 2^23, adding and subtracting 2^23 rounds to the
    // nearest whole number: plain float arithmetic that vectorizes, unlike a cast to integer.
    let whole = (v >= INTEGER_LIMIT) | ((v + INTEGER_LIMIT) - INTEGER_LIMIT == v);
    !(0.0..=f32::MAX).contains(&v) | (integer & !whole)
}

/// Whether any value is bad, without branching per value.
fn any_bad(values: &[f32], integer: bool) -> bool {
    values
        .iter()
        .fold(false, |bad, &v| bad | is_bad(v, integer))
}

#[cold]
fn first_problem(indices: &[u32], values: &[f32], integer: bool) -> CellProblem {
    let i = values
        .iter()
        .position(|&v| is_bad(v, integer))
        .expect("a bad value was seen");
    let (column, value) = (indices[i] as usize, values[i]);
    if !value.is_finite() {
        CellProblem::NonFinite { column, value }
    } else if value < 0.0 {
        CellProblem::Negative { column, value }
    } else {
        CellProblem::NonInteger { column, value }
    }
}

fn strictly_increasing(indices: &[u32]) -> bool {
    indices.windows(2).fold(true, |ok, w| ok & (w[0] < w[1]))
}

impl Kernel<'_> {
    /// Writes one cell into `out` (a zero row apart from what `state` lists), leaving `out`
    /// all-zero and `state.problem` set when the cell is rejected.
    ///
    /// # Errors
    /// [`BadColumn`] when a column index is out of range for the alignment (a malformed block);
    /// the row is then left all-zero.
    pub fn run(
        &self,
        indices: &[u32],
        values: &[f32],
        out: &mut [f32],
        state: &mut RowState,
    ) -> Result<(), BadColumn> {
        // Zeroing the listed positions costs one scattered store each, and a store to a line
        // that has left the cache is far dearer than a sequential, prefetched one. Measured on
        // 18,961-gene rows in 64-row batches with ~1,000 positions per row (touching over half
        // the row's cache lines), one fill of the row was ~10% faster; a sparse row touches few
        // lines and is cheaper to clear from its list. The switch is at one position per 64
        // floats (a quarter of the lines).
        if state.len * 64 > out.len() {
            out.fill(0.0);
            state.len = 0;
        } else {
            clear_row(out, state);
        }
        if indices.iter().fold(0, |m, &c| m.max(c)) as usize >= self.map.len() {
            state.problem = None;
            return Err(BadColumn);
        }
        let result = if any_bad(values, self.integer) {
            Err(first_problem(indices, values, self.integer))
        } else if !self.sums_columns && strictly_increasing(indices) {
            self.fill_fast(indices, values, out, state)
        } else {
            self.fill_general(indices, values, out, state)
        };
        state.problem = result.err();
        if state.problem.is_some() {
            clear_row(out, state);
        }
        Ok(())
    }

    /// Library size checks and the scale factor.
    fn scale(&self, total: f64, aligned: f64) -> Result<f32, CellProblem> {
        if total == 0.0 {
            return Err(CellProblem::Empty);
        }
        if aligned == 0.0 {
            return Err(CellProblem::EmptyAfterAlignment);
        }
        Ok(if self.normalize {
            let library = if self.all_genes { total } else { aligned };
            (self.target_sum / library) as f32
        } else {
            1.0
        })
    }

    fn transform(&self, values: &mut [f32], scale: f32) {
        if self.log1p {
            log1p_scaled_in_place(values, scale);
        } else if scale != 1.0 {
            for v in values {
                *v *= scale;
            }
        }
    }

    /// Distinct columns, each feeding at most one position: compact, transform, store.
    fn fill_fast(
        &self,
        indices: &[u32],
        values: &[f32],
        out: &mut [f32],
        state: &mut RowState,
    ) -> Result<(), CellProblem> {
        let need = values.len() + self.copies.len();
        if state.positions.len() < need {
            state.positions.resize(need, 0);
            state.values.resize(need, 0.0);
        }
        // Plain slices, so the loop keeps their pointers in registers.
        let pos: &mut [u32] = &mut state.positions;
        let val: &mut [f32] = &mut state.values;
        let mut k = compact(self.map, indices, values, pos, val);
        if !self.copies.is_empty() {
            // Copies read their first entry's raw count from the row.
            for (&p, &v) in pos[..k].iter().zip(&val[..k]) {
                out[p as usize] = v;
            }
            for &(first, copy) in self.copies {
                let v = out[first as usize];
                if v != 0.0 {
                    pos[k] = copy;
                    val[k] = v;
                    k += 1;
                }
            }
        }
        state.len = k;
        let scale = self.scale(sum_f64(values), sum_f64(&val[..k]))?;
        self.transform(&mut val[..k], scale);
        scatter(&pos[..k], &val[..k], out);
        Ok(())
    }

    /// Any row: add into the output row, listing each position when it first turns non-zero.
    fn fill_general(
        &self,
        indices: &[u32],
        values: &[f32],
        out: &mut [f32],
        state: &mut RowState,
    ) -> Result<(), CellProblem> {
        let pos = &mut state.positions;
        pos.clear();
        for (&c, &v) in indices.iter().zip(values) {
            let p = self.map[c as usize];
            if p != GeneAlignment::DROPPED && v != 0.0 {
                let slot = &mut out[p as usize];
                if *slot == 0.0 {
                    pos.push(p);
                }
                *slot += v;
            }
        }
        for &(first, copy) in self.copies {
            let v = out[first as usize];
            if v != 0.0 {
                out[copy as usize] = v;
                pos.push(copy);
            }
        }
        state.len = pos.len();
        let val = &mut state.values;
        val.clear();
        val.extend(pos.iter().map(|&p| out[p as usize]));
        let scale = self.scale(sum_f64(values), sum_f64(val))?;
        self.transform(val, scale);
        for (&p, &v) in pos.iter().zip(val.iter()) {
            out[p as usize] = v;
        }
        Ok(())
    }
}

/// Keeps the (position, value) pairs of columns in the vocabulary, in row order; returns how
/// many. Every pair is written and the count only advances for kept ones, so there is no
/// branch on the (unpredictable) membership.
fn compact(
    map: &[u32],
    indices: &[u32],
    values: &[f32],
    pos: &mut [u32],
    val: &mut [f32],
) -> usize {
    let mut k = 0;
    for (&c, &v) in indices.iter().zip(values) {
        let p = map[c as usize];
        pos[k] = p;
        val[k] = v;
        k += (p != GeneAlignment::DROPPED) as usize;
    }
    k
}

fn scatter(pos: &[u32], val: &[f32], out: &mut [f32]) {
    for (&p, &v) in pos.iter().zip(val) {
        out[p as usize] = v;
    }
}
