//! Row sources over matrices already in memory: `sprs` CSR matrices and dense `ndarray` arrays.

use crate::error::{Error, Result};
use crate::matrix::{CsrRows, RowSource};
use ndarray::ArrayView2;
use sprs::{CsMatViewI, SpIndex};
use std::ops::Range;

/// A numeric type a count matrix can hold, converted to `f32` on reading.
///
/// Integer counts above 2^24 and `f64` values lose precision in the conversion, as they would
/// in the model's `f32` input.
pub trait CountValue: Copy + Send + Sync {
    /// The value as `f32`.
    fn to_f32(self) -> f32;
}

macro_rules! count_value {
    ($($t:ty),*) => {$(
        impl CountValue for $t {
            #[inline]
            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}
count_value!(f32, f64, u8, u16, u32, u64, i8, i16, i32, i64);

fn check_names(n_cols: usize, names: &[String]) -> Result<()> {
    if names.len() != n_cols {
        return Err(Error::Shape(format!(
            "{} gene names for a matrix of {} columns",
            names.len(),
            n_cols
        )));
    }
    Ok(())
}

fn check_rows(rows: &Range<usize>, n_rows: usize) -> Result<()> {
    if rows.start > rows.end || rows.end > n_rows {
        return Err(Error::Shape(format!(
            "rows {rows:?} are not within the matrix's {n_rows} rows"
        )));
    }
    Ok(())
}

/// A CSR `sprs` matrix (cells × genes) with one gene name per column.
///
/// The matrix is borrowed, not copied. CSC matrices are refused: converting one doubles its
/// memory, so it is left to the caller (`matrix.to_csr()`) to decide.
#[derive(Debug, Clone)]
pub struct SparseSource<'a, N, I: SpIndex = usize, Iptr: SpIndex = usize> {
    matrix: CsMatViewI<'a, N, I, Iptr>,
    genes: Vec<String>,
}

impl<'a, N: CountValue, I: SpIndex, Iptr: SpIndex> SparseSource<'a, N, I, Iptr> {
    /// Wraps `matrix` (cells × genes, CSR) with its gene names.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a CSC matrix; [`Error::Shape`] when there is not one
    /// name per column or a column index does not fit in `u32`.
    pub fn new(matrix: CsMatViewI<'a, N, I, Iptr>, genes: Vec<String>) -> Result<Self> {
        if !matrix.is_csr() {
            return Err(Error::InvalidArgument(
                "the matrix is CSC; rows must be contiguous: convert it with `to_csr()`".into(),
            ));
        }
        check_names(matrix.cols(), &genes)?;
        if matrix.cols() > u32::MAX as usize {
            return Err(Error::Shape(format!(
                "{} columns do not fit in 32-bit column indices",
                matrix.cols()
            )));
        }
        Ok(SparseSource { matrix, genes })
    }
}

impl<N: CountValue, I: SpIndex, Iptr: SpIndex> RowSource for SparseSource<'_, N, I, Iptr> {
    fn n_rows(&self) -> usize {
        self.matrix.rows()
    }

    fn n_cols(&self) -> usize {
        self.matrix.cols()
    }

    fn gene_names(&self) -> &[String] {
        &self.genes
    }

    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        check_rows(&rows, self.n_rows())?;
        out.clear(self.n_cols());
        let indptr = self.matrix.indptr();
        let (indices, data) = (self.matrix.indices(), self.matrix.data());
        let (first, last) = if rows.is_empty() {
            (0, 0)
        } else {
            (
                indptr.outer_inds_sz(rows.start).start,
                indptr.outer_inds_sz(rows.end - 1).end,
            )
        };
        out.indices
            .extend(indices[first..last].iter().map(|&c| c.index() as u32));
        out.data
            .extend(data[first..last].iter().map(|&v| v.to_f32()));
        out.indptr
            .extend(rows.map(|r| (indptr.outer_inds_sz(r).end - first) as u64));
        Ok(())
    }
}

/// A dense array (cells × genes) with one gene name per column; zeros are not stored when it is
/// read as CSR rows.
#[derive(Debug, Clone)]
pub struct DenseSource<'a, T> {
    matrix: ArrayView2<'a, T>,
    genes: Vec<String>,
}

impl<'a, T: CountValue> DenseSource<'a, T> {
    /// Wraps `matrix` (cells × genes, any memory layout) with its gene names.
    ///
    /// # Errors
    /// [`Error::Shape`] when there is not one name per column, or more columns than `u32` can
    /// index.
    pub fn new(matrix: ArrayView2<'a, T>, genes: Vec<String>) -> Result<Self> {
        check_names(matrix.ncols(), &genes)?;
        if matrix.ncols() > u32::MAX as usize {
            return Err(Error::Shape(format!(
                "{} columns do not fit in 32-bit column indices",
                matrix.ncols()
            )));
        }
        Ok(DenseSource { matrix, genes })
    }
}

impl<T: CountValue> RowSource for DenseSource<'_, T> {
    fn n_rows(&self) -> usize {
        self.matrix.nrows()
    }

    fn n_cols(&self) -> usize {
        self.matrix.ncols()
    }

    fn gene_names(&self) -> &[String] {
        &self.genes
    }

    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        check_rows(&rows, self.n_rows())?;
        out.clear(self.n_cols());
        for r in rows {
            for (c, &v) in self.matrix.row(r).iter().enumerate() {
                let v = v.to_f32();
                // NaN is kept (it is not equal to zero) so that the core can report it.
                if v != 0.0 {
                    out.indices.push(c as u32);
                    out.data.push(v);
                }
            }
            out.indptr.push(out.indices.len() as u64);
        }
        Ok(())
    }
}
