//! Which list of genes a problem was found in.

use std::fmt;

/// Which list of genes a duplicate was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeneSide {
    /// The dataset's gene identifiers.
    Dataset,
    /// The model's gene vocabulary.
    Vocabulary,
}

impl fmt::Display for GeneSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GeneSide::Dataset => "dataset genes",
            GeneSide::Vocabulary => "vocabulary",
        })
    }
}
