//! `expm1` of every stored value of a row source: log-normalised values back to counts up to a
//! per-cell factor.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::matrix::{CsrRows, RowSource};
use crate::preprocess::CellProblem;

/// A [`RowSource`] that hands out `expm1(v)` for every stored value `v` of the source it wraps.
///
/// Values stored as `log1p(c · s)` (scanpy's `normalize_total` then `log1p`, with any per-cell
/// factor `s`) come back as `c · s`: counts up to a per-cell factor, which the model's own
/// normalisation to a fixed library size removes. Read such rows with the integer check off
/// (e.g. `TaskOptions::with_integer_counts(false)`).
///
/// Sparsity is kept (`expm1(0) = 0`; explicit zeros stay explicit). The exponential is taken in
/// `f64` and rounded once to `f32`. A stored value whose `expm1` is negative (a negative value)
/// or not finite (NaN, or above about 88.7, where `f32` overflows) is an
/// [`Error::BadCell`] naming the source row and column; the block is then left empty.
#[derive(Debug, Clone)]
pub struct Expm1Rows<S> {
    source: S,
}

impl<S: RowSource> Expm1Rows<S> {
    /// Wraps `source`.
    pub fn new(source: S) -> Self {
        Expm1Rows { source }
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.source
    }

    /// Gives the wrapped source back.
    pub fn into_inner(self) -> S {
        self.source
    }
}

/// `expm1` of `v` as a count, or the problem it has.
fn expm1_value(v: f32, column: usize) -> std::result::Result<f32, CellProblem> {
    if v.is_nan() {
        return Err(CellProblem::NonFinite { column, value: v });
    }
    if v < 0.0 {
        return Err(CellProblem::Negative { column, value: v });
    }
    let out = f64::from(v).exp_m1() as f32;
    if !out.is_finite() {
        return Err(CellProblem::NonFinite { column, value: out });
    }
    Ok(out)
}

impl<S: RowSource> RowSource for Expm1Rows<S> {
    fn n_rows(&self) -> usize {
        self.source.n_rows()
    }

    fn n_cols(&self) -> usize {
        self.source.n_cols()
    }

    fn gene_names(&self) -> &[String] {
        self.source.gene_names()
    }

    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        self.source.read_rows(rows.clone(), out)?;
        if let Err(e) = out.validate_structure() {
            out.clear(self.source.n_cols());
            return Err(e);
        }
        for r in 0..out.n_rows() {
            let (a, b) = (out.indptr[r] as usize, out.indptr[r + 1] as usize);
            for k in a..b {
                match expm1_value(out.data[k], out.indices[k] as usize) {
                    Ok(v) => out.data[k] = v,
                    Err(problem) => {
                        out.clear(self.source.n_cols());
                        return Err(Error::BadCell {
                            row: rows.start + r,
                            cell: None,
                            problem,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows held in memory.
    struct Held(CsrRows, Vec<String>);

    impl RowSource for Held {
        fn n_rows(&self) -> usize {
            self.0.n_rows()
        }
        fn n_cols(&self) -> usize {
            self.0.n_cols
        }
        fn gene_names(&self) -> &[String] {
            &self.1
        }
        fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
            out.clear(self.0.n_cols);
            for r in rows {
                let (i, v) = self.0.row(r);
                out.push_row(i, v)?;
            }
            Ok(())
        }
    }

    fn source(rows: &[(&[u32], &[f32])], n_cols: usize) -> Held {
        let mut block = CsrRows::new(n_cols);
        for (i, v) in rows {
            block.push_row(i, v).unwrap();
        }
        Held(block, (0..n_cols).map(|c| format!("g{c}")).collect())
    }

    #[test]
    fn applies_expm1_and_keeps_sparsity() {
        let src = source(
            &[(&[0, 2], &[1.0f32.ln_1p(), 7.0f32.ln_1p()]), (&[], &[])],
            3,
        );
        let mut rows = Expm1Rows::new(src);
        let mut out = CsrRows::default();
        rows.read_rows(0..2, &mut out).unwrap();
        assert_eq!(out.indptr, vec![0, 2, 2]);
        assert_eq!(out.indices, vec![0, 2]);
        assert!((out.data[0] - 1.0).abs() < 1e-6 && (out.data[1] - 7.0).abs() < 1e-5);
        assert_eq!(rows.gene_names().len(), 3);
        assert_eq!(rows.into_inner().n_rows(), 2);
    }

    #[test]
    fn bad_values_are_typed_errors() {
        for (value, negative) in [(-0.5f32, true), (f32::NAN, false), (100.0, false)] {
            let src = source(&[(&[0], &[1.0]), (&[1], &[value])], 2);
            let mut rows = Expm1Rows::new(src);
            let mut out = CsrRows::default();
            match rows.read_rows(0..2, &mut out) {
                Err(Error::BadCell {
                    row: 1, problem, ..
                }) => match problem {
                    CellProblem::Negative { column: 1, .. } => assert!(negative),
                    CellProblem::NonFinite { column: 1, .. } => assert!(!negative),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
            assert_eq!(out.n_rows(), 0);
        }
    }
}
