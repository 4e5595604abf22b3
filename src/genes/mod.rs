//! Alignment of a dataset's genes to a model's gene vocabulary.
//!
//! A model reads cells as dense vectors in the order of its gene vocabulary. A dataset arrives in
//! its own gene order and naming, so before anything else its columns are matched to vocabulary
//! positions, once per dataset, into a compact [`GeneAlignment`]: one `u32` per dataset column
//! (the vocabulary position, or [`GeneAlignment::DROPPED`]). The preprocessing core then
//! scatters each cell's stored values through that table.
//!
//! The rules follow the reference pipeline's gene unification: the dataset's genes are reordered
//! to the vocabulary, vocabulary genes the dataset lacks stay zero, and dataset genes outside the
//! vocabulary are dropped. Matching is exact by default (as in the published demo) or ignores
//! case ([`GeneMatching::IgnoreCase`], which compares upper-cased identifiers on both sides).
//! Which identifiers are compared is the caller's choice: pass the var index, or any var column
//! such as Ensembl ids, as the dataset names.
//!
//! ```
//! use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
//!
//! let vocab = ["CD3E", "MS4A1", "LYZ", "NKG7"];
//! let dataset = ["LYZ", "MALAT1", "CD3E"];
//! let options = AlignOptions::default().with_min_overlap(MinOverlap::Count(2));
//! let alignment = GeneAlignment::new(&dataset, &vocab, &options)?;
//! assert_eq!(alignment.position(0), Some(2)); // LYZ
//! assert_eq!(alignment.position(1), None); // MALAT1 is not in the vocabulary
//! assert_eq!(alignment.report().matched, 2);
//! assert_eq!(alignment.report().top_missing, ["MS4A1", "NKG7"]);
//! # Ok::<(), instructcell::Error>(())
//! ```

mod alignment;
mod options;
mod report;
mod vocab;

pub use alignment::GeneAlignment;
pub use options::{AlignOptions, DatasetDuplicates, GeneMatching, MinOverlap, VocabDuplicates};
pub use report::{AlignmentReport, DuplicateGene, GeneSide};
pub use vocab::read_vocabulary;
