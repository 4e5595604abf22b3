//! Compressed sparse row blocks: the currency between readers and the preprocessing core.

use crate::error::{Error, Result};
use std::ops::Range;

/// A block of consecutive rows (cells) of a CSR matrix, owned and reusable.
///
/// `indptr` has `n_rows + 1` entries starting at 0; row `r` holds the entries
/// `indptr[r]..indptr[r + 1]` of `indices` (column = gene position in the *source* matrix) and
/// `data` (the stored values, converted to `f32` whatever the on-disk dtype).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsrRows {
    /// Row pointer, `n_rows + 1` entries, first entry 0, non-decreasing.
    pub indptr: Vec<u64>,
    /// Column index of every stored value.
    pub indices: Vec<u32>,
    /// Stored values.
    pub data: Vec<f32>,
    /// Number of columns of the matrix the rows come from.
    pub n_cols: usize,
}

impl CsrRows {
    /// An empty block with `n_cols` columns.
    pub fn new(n_cols: usize) -> Self {
        CsrRows {
            indptr: vec![0],
            indices: Vec::new(),
            data: Vec::new(),
            n_cols,
        }
    }

    /// Clears the block, keeping its allocations, for reuse with `n_cols` columns.
    pub fn clear(&mut self, n_cols: usize) {
        self.indptr.clear();
        self.indptr.push(0);
        self.indices.clear();
        self.data.clear();
        self.n_cols = n_cols;
    }

    /// Number of rows in the block.
    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of stored values.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// Appends one row given as parallel column/value slices.
    ///
    /// # Errors
    /// [`Error::Shape`] when the slices differ in length (column indices are checked by
    /// [`Self::validate`], not here).
    pub fn push_row(&mut self, indices: &[u32], data: &[f32]) -> Result<()> {
        if indices.len() != data.len() {
            return Err(Error::Shape(format!(
                "row has {} column indices but {} values",
                indices.len(),
                data.len()
            )));
        }
        self.indices.extend_from_slice(indices);
        self.data.extend_from_slice(data);
        self.indptr.push(self.indices.len() as u64);
        Ok(())
    }

    /// The column indices and values of row `r` of the block.
    ///
    /// # Panics
    /// If `r >= self.n_rows()`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Checks the structural invariants (pointer monotonicity, lengths, column bounds).
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first invariant that does not hold.
    pub fn validate(&self) -> Result<()> {
        self.validate_structure()?;
        if let Some(&c) = self.indices.iter().find(|&&c| c as usize >= self.n_cols) {
            return Err(Error::Shape(format!(
                "column index {c} out of range for {} columns",
                self.n_cols
            )));
        }
        Ok(())
    }

    /// Checks the row pointer and the lengths, but not the column indices: O(rows), for callers
    /// that bound-check columns as they use them.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first invariant that does not hold.
    pub fn validate_structure(&self) -> Result<()> {
        if self.indptr.first() != Some(&0) {
            return Err(Error::Shape("indptr must start with 0".into()));
        }
        if self.indices.len() != self.data.len() {
            return Err(Error::Shape(format!(
                "{} column indices but {} values",
                self.indices.len(),
                self.data.len()
            )));
        }
        if let Some(w) = self.indptr.windows(2).position(|w| w[1] < w[0]) {
            return Err(Error::Shape(format!("indptr decreases at row {w}")));
        }
        if *self.indptr.last().unwrap_or(&0) as usize != self.indices.len() {
            return Err(Error::Shape(format!(
                "indptr ends at {} but there are {} stored values",
                self.indptr.last().unwrap_or(&0),
                self.indices.len()
            )));
        }
        Ok(())
    }
}

/// Anything that can hand out consecutive CSR row blocks: an on-disk store, an in-memory matrix.
///
/// Readers stream: a call reads only the rows asked for, so memory is bounded by the block size.
pub trait RowSource {
    /// Number of rows (cells).
    fn n_rows(&self) -> usize;
    /// Number of columns (genes) in the source's own order.
    fn n_cols(&self) -> usize;
    /// The source's gene identifiers (one per column), used for alignment.
    fn gene_names(&self) -> &[String];
    /// Replaces the contents of `out` with rows `rows` (a range within `0..n_rows()`).
    ///
    /// # Errors
    /// Whatever the source reports when rows cannot be read (for stores, [`Error::Store`] or
    /// [`Error::Io`]); [`Error::Shape`] for a range outside `0..n_rows()`.
    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()>;
}

/// A mutable borrow of a source is a source, so a [`Batcher`](crate::preprocess::Batcher) can
/// stream a store the caller keeps using afterwards.
impl<S: RowSource + ?Sized> RowSource for &mut S {
    fn n_rows(&self) -> usize {
        (**self).n_rows()
    }
    fn n_cols(&self) -> usize {
        (**self).n_cols()
    }
    fn gene_names(&self) -> &[String] {
        (**self).gene_names()
    }
    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        (**self).read_rows(rows, out)
    }
}

/// A boxed source is a source (e.g. `Box<dyn RowSource + Send>` chosen at run time).
impl<S: RowSource + ?Sized> RowSource for Box<S> {
    fn n_rows(&self) -> usize {
        (**self).n_rows()
    }
    fn n_cols(&self) -> usize {
        (**self).n_cols()
    }
    fn gene_names(&self) -> &[String] {
        (**self).gene_names()
    }
    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        (**self).read_rows(rows, out)
    }
}
