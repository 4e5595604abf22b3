//! What an alignment matched, missed and dropped.

use std::fmt;

pub use crate::error::GeneSide;

/// One identifier that occurs more than once, with every position it occurs at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DuplicateGene {
    /// The identifier as written at its first position.
    pub name: String,
    /// Where the duplicate lives.
    pub side: GeneSide,
    /// Dataset columns or vocabulary positions, ascending.
    pub positions: Vec<usize>,
}

/// Counts and names describing an alignment, for logs and for deciding whether to trust it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AlignmentReport {
    /// Number of dataset genes (columns).
    pub n_dataset: usize,
    /// Number of vocabulary genes.
    pub n_vocab: usize,
    /// Vocabulary positions that receive a dataset gene's counts.
    pub matched: usize,
    /// Vocabulary positions that stay zero (`n_vocab - matched`).
    pub missing: usize,
    /// Dataset columns whose identifier is not in the vocabulary (dropped).
    pub extra: usize,
    /// Dataset columns dropped by the duplicate rule ([`DatasetDuplicates`](super::DatasetDuplicates)).
    pub dropped_duplicates: usize,
    /// The first missing vocabulary genes, in vocabulary order (at most
    /// [`AlignOptions::report_missing`](super::AlignOptions::report_missing) of them).
    pub top_missing: Vec<String>,
    /// Identifiers that occur more than once: dataset genes matching the same vocabulary gene
    /// (genes outside the vocabulary are not listed), then vocabulary duplicates.
    pub duplicates: Vec<DuplicateGene>,
}

impl AlignmentReport {
    /// Fraction of the vocabulary that receives a dataset gene.
    pub fn matched_fraction(&self) -> f64 {
        if self.n_vocab == 0 {
            0.0
        } else {
            self.matched as f64 / self.n_vocab as f64
        }
    }
}

impl fmt::Display for AlignmentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} vocabulary genes matched ({:.1}%), {} missing, {} of {} dataset genes \
             outside the vocabulary, {} dropped as duplicates",
            self.matched,
            self.n_vocab,
            100.0 * self.matched_fraction(),
            self.missing,
            self.extra,
            self.n_dataset,
            self.dropped_duplicates
        )?;
        if !self.top_missing.is_empty() {
            write!(f, "; first missing: {}", self.top_missing.join(", "))?;
        }
        Ok(())
    }
}
