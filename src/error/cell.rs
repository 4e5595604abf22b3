//! What can be wrong with one cell.

use std::fmt;

/// Why a cell cannot be preprocessed.
///
/// Value problems name the first offending stored value in the row's storage order, by its
/// column in the *source* matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum CellProblem {
    /// The cell has no non-zero count at all (a filtering leftover): its library size is zero.
    Empty,
    /// The cell has counts, but none in a vocabulary gene: the model would see an all-zero cell
    /// (and the reference normalization would divide by zero).
    EmptyAfterAlignment,
    /// A stored value is NaN or infinite.
    NonFinite {
        /// Source column of the value.
        column: usize,
        /// The value.
        value: f32,
    },
    /// A stored value is negative (counts never are; the data may already be transformed).
    Negative {
        /// Source column of the value.
        column: usize,
        /// The value.
        value: f32,
    },
    /// A stored value has a fractional part where raw counts are expected (the data may already
    /// be normalized; see
    /// [`PreprocessOptions::integer_counts`](crate::preprocess::PreprocessOptions::integer_counts)).
    NonInteger {
        /// Source column of the value.
        column: usize,
        /// The value.
        value: f32,
    },
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellProblem::Empty => f.write_str("has no counts (all zero)"),
            CellProblem::EmptyAfterAlignment => {
                f.write_str("has counts only in genes outside the vocabulary")
            }
            CellProblem::NonFinite { column, value } => {
                write!(f, "value {value} in gene column {column} is not finite")
            }
            CellProblem::Negative { column, value } => {
                write!(f, "value {value} in gene column {column} is negative")
            }
            CellProblem::NonInteger { column, value } => write!(
                f,
                "value {value} in gene column {column} is not an integer count \
                 (turn the integer check off for already-normalized data)"
            ),
        }
    }
}

/// Formats the optional cell name of [`Error::BadCell`](crate::Error::BadCell).
pub(crate) fn cell_label(cell: &Option<String>) -> String {
    match cell {
        Some(name) => format!(" ({name:?})"),
        None => String::new(),
    }
}
