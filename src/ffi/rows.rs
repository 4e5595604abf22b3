//! An owned CSR matrix as a row source (arrays passed through the C API are copied once).

use crate::error::{Error, Result};
use crate::matrix::{CsrRows, RowSource};
use std::ops::Range;

pub(crate) struct RowsSource {
    rows: CsrRows,
    genes: Vec<String>,
}

impl RowsSource {
    pub(crate) fn new(rows: CsrRows, genes: Vec<String>) -> Self {
        RowsSource { rows, genes }
    }
}

impl RowSource for RowsSource {
    fn n_rows(&self) -> usize {
        self.rows.n_rows()
    }
    fn n_cols(&self) -> usize {
        self.rows.n_cols
    }
    fn gene_names(&self) -> &[String] {
        &self.genes
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
