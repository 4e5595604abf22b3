//! What can be wrong with one cell.

pub use crate::error::CellProblem;

/// A cell that a lenient [`BadCellPolicy`](super::BadCellPolicy) skipped or zero-filled.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CellIssue {
    /// Row index of the cell in the source.
    pub row: usize,
    /// What is wrong with it.
    pub problem: CellProblem,
}
