//! Choices that govern gene alignment.

/// How gene identifiers are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GeneMatching {
    /// Byte-for-byte equality (the published demo's setting).
    #[default]
    Exact,
    /// Equality after Unicode upper-casing of both sides (the reference pipeline's
    /// `force_gene_symbol_uppercase`). Mouse (`Cd3e`) and human (`CD3E`) symbols then meet.
    IgnoreCase,
}

/// What to do when several dataset columns match the same vocabulary gene.
///
/// Only columns that match the vocabulary are concerned: duplicated identifiers outside it are
/// dropped anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DatasetDuplicates {
    /// The first column wins; later ones are dropped (the reference pipeline with upper-casing).
    KeepFirst,
    /// The last column wins; earlier ones are dropped (the reference pipeline with exact
    /// matching, whose name-to-column dictionary keeps the last entry).
    #[default]
    KeepLast,
    /// The columns' counts are added (e.g. one symbol for several Ensembl ids).
    Sum,
    /// Refuse with [`Error::DuplicateGene`](crate::Error::DuplicateGene).
    Error,
}

/// What to do when the vocabulary itself lists a gene twice (after case folding, if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VocabDuplicates {
    /// Every copy receives the dataset gene's counts (the reference pipeline with exact
    /// matching). The copies count towards the cell's library size, as in the model.
    #[default]
    AllCopies,
    /// Only the first copy receives counts; later copies stay zero.
    FirstOnly,
    /// Refuse with [`Error::DuplicateGene`](crate::Error::DuplicateGene) (the reference pipeline
    /// with upper-casing; the published 18,961-gene vocabulary has 310 symbols that collide
    /// when upper-cased, so this refuses it).
    Error,
}

/// The least overlap between dataset and vocabulary accepted before alignment is refused.
///
/// Whatever the setting, at least one vocabulary gene must be matched.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum MinOverlap {
    /// A fraction of the vocabulary (0.0 to 1.0) that must receive a dataset gene.
    Fraction(f64),
    /// A number of vocabulary genes that must receive a dataset gene.
    Count(usize),
}

impl MinOverlap {
    /// The number of matched vocabulary genes this threshold requires for a vocabulary of
    /// `n_vocab` genes (never below 1).
    pub fn required(&self, n_vocab: usize) -> usize {
        let n = match *self {
            MinOverlap::Fraction(f) => (f.clamp(0.0, 1.0) * n_vocab as f64).ceil() as usize,
            MinOverlap::Count(c) => c,
        };
        n.max(1)
    }
}

impl Default for MinOverlap {
    /// A tenth of the vocabulary: far below what a dataset of the model's species reaches, far
    /// above what mismatched identifiers produce by chance.
    fn default() -> Self {
        MinOverlap::Fraction(0.1)
    }
}

/// Options of [`GeneAlignment::new`](super::GeneAlignment::new).
///
/// The default reproduces the reference pipeline as the published demo runs it: exact matching,
/// the last of duplicated dataset columns wins, duplicated vocabulary entries all receive counts;
/// plus an overlap floor of 10% of the vocabulary. [`AlignOptions::reference_ignore_case`] gives
/// the reference pipeline's upper-casing variant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AlignOptions {
    /// How identifiers are compared.
    pub matching: GeneMatching,
    /// Rule for dataset columns that match the same vocabulary gene.
    pub dataset_duplicates: DatasetDuplicates,
    /// Rule for vocabulary entries that are equal.
    pub vocab_duplicates: VocabDuplicates,
    /// Least overlap accepted.
    pub min_overlap: MinOverlap,
    /// How many missing vocabulary genes the report names (the first ones in vocabulary order).
    pub report_missing: usize,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions {
            matching: GeneMatching::Exact,
            dataset_duplicates: DatasetDuplicates::KeepLast,
            vocab_duplicates: VocabDuplicates::AllCopies,
            min_overlap: MinOverlap::default(),
            report_missing: 20,
        }
    }
}

impl AlignOptions {
    /// The reference pipeline's upper-casing variant: identifiers compared upper-cased, the first
    /// of duplicated dataset columns wins, duplicated vocabulary entries are an error.
    pub fn reference_ignore_case() -> Self {
        AlignOptions {
            matching: GeneMatching::IgnoreCase,
            dataset_duplicates: DatasetDuplicates::KeepFirst,
            vocab_duplicates: VocabDuplicates::Error,
            ..AlignOptions::default()
        }
    }

    /// Sets how identifiers are compared.
    pub fn with_matching(mut self, matching: GeneMatching) -> Self {
        self.matching = matching;
        self
    }

    /// Sets the rule for dataset columns matching the same vocabulary gene.
    pub fn with_dataset_duplicates(mut self, rule: DatasetDuplicates) -> Self {
        self.dataset_duplicates = rule;
        self
    }

    /// Sets the rule for equal vocabulary entries.
    pub fn with_vocab_duplicates(mut self, rule: VocabDuplicates) -> Self {
        self.vocab_duplicates = rule;
        self
    }

    /// Sets the least overlap accepted.
    pub fn with_min_overlap(mut self, min_overlap: MinOverlap) -> Self {
        self.min_overlap = min_overlap;
        self
    }

    /// Sets how many missing vocabulary genes the report names.
    pub fn with_report_missing(mut self, n: usize) -> Self {
        self.report_missing = n;
        self
    }
}
