//! One preprocessed batch, borrowed from the buffer that produced it.

use super::problem::CellIssue;
use ndarray::ArrayView2;

/// A dense batch of preprocessed cells: `[cells × vocabulary genes]`, row-major, contiguous
/// `f32` — the layout of a cell-encoder input tensor.
///
/// It borrows the producer's reused buffer, so it must be dropped (or copied) before the next
/// batch is asked for.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) n_genes: usize,
    pub(crate) rows: &'a [usize],
    pub(crate) issues: &'a [CellIssue],
    pub(crate) source_rows: std::ops::Range<usize>,
}

impl<'a> Batch<'a> {
    /// The values, `n_cells() * n_genes()` of them, cell after cell.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// The values as a `[cells, genes]` array view.
    pub fn view(&self) -> ArrayView2<'a, f32> {
        ArrayView2::from_shape((self.n_cells(), self.n_genes), self.data)
            .expect("the buffer holds whole rows")
    }

    /// `[cells, genes]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.n_cells(), self.n_genes]
    }

    /// Number of cells (rows) in the batch.
    pub fn n_cells(&self) -> usize {
        self.rows.len()
    }

    /// Number of genes per cell (the vocabulary size).
    pub fn n_genes(&self) -> usize {
        self.n_genes
    }

    /// One cell's preprocessed values.
    ///
    /// # Panics
    /// If `i >= self.n_cells()`.
    pub fn cell(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.n_genes..(i + 1) * self.n_genes]
    }

    /// The source row of each batch row. Consecutive unless cells were skipped.
    pub fn rows(&self) -> &'a [usize] {
        self.rows
    }

    /// The range of source rows this batch was made from (skipped cells included).
    pub fn source_rows(&self) -> std::ops::Range<usize> {
        self.source_rows.clone()
    }

    /// Cells of this range that were skipped or zero-filled, in row order.
    pub fn issues(&self) -> &'a [CellIssue] {
        self.issues
    }
}
