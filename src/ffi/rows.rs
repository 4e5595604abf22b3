//! A CSR matrix held by an `IcInput`, lent to a task as a row source (the input keeps its copy
//! of the caller's arrays; tasks only read it, so one input serves several calls at once).

use crate::error::{Error, Result};
use crate::matrix::{CsrRows, RowSource};
use std::ops::Range;

/// Rows of a validated CSR matrix and the gene of each column, borrowed for one task.
pub(crate) struct RowsView<'a> {
    rows: &'a CsrRows,
    genes: &'a [String],
}

impl<'a> RowsView<'a> {
    /// A view of `rows` (validated: [`CsrRows::validate`]) whose column `j` is `genes[j]`.
    pub(crate) fn new(rows: &'a CsrRows, genes: &'a [String]) -> Self {
        RowsView { rows, genes }
    }
}

impl RowSource for RowsView<'_> {
    fn n_rows(&self) -> usize {
        self.rows.n_rows()
    }
    fn n_cols(&self) -> usize {
        self.rows.n_cols
    }
    fn gene_names(&self) -> &[String] {
        self.genes
    }
    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        if rows.end > self.rows.n_rows() || rows.start > rows.end {
            return Err(Error::Shape(format!(
                "rows {rows:?} of a matrix with {} rows",
                self.rows.n_rows()
            )));
        }
        out.clear(self.rows.n_cols);
        for r in rows {
            let (i, d) = self.rows.row(r);
            out.push_row(i, d)?;
        }
        Ok(())
    }
}
