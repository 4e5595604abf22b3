//! Choices that govern preprocessing.

/// Which counts make up a cell's library size (the divisor of `normalize_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LibrarySize {
    /// The sum over the vocabulary genes only, after alignment. This is what the model was
    /// trained and is run with: upstream, the dataset is first unified to the vocabulary
    /// (`unify_gene_features`, which drops the other genes), the raw aligned counts are handed to
    /// the model, and its own `CellTextLLM.forward` / `CellTextLLM.generate`
    /// (`mmllm/module.py`) divide that vector by its own sum before `* 1e4` and `log1p`. Counts
    /// of genes outside the vocabulary never enter the divisor.
    #[default]
    Aligned,
    /// The sum over every gene the dataset stores, before alignment (scanpy's
    /// `normalize_total` run on the full matrix before subsetting to the vocabulary).
    AllGenes,
}

/// What to do with a cell that cannot be preprocessed (see
/// [`CellProblem`](super::CellProblem)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BadCellPolicy {
    /// Stop with [`Error::BadCell`](crate::Error::BadCell), naming the first bad cell.
    #[default]
    Error,
    /// Leave the cell out of the batch and list it in
    /// [`Batch::issues`](super::Batch::issues); [`Batch::rows`](super::Batch::rows) tells which
    /// source row each batch row is.
    Skip,
    /// Keep the cell as an all-zero row and list it in [`Batch::issues`](super::Batch::issues).
    ZeroFill,
}

/// Options of the preprocessing core.
///
/// The default is the model's own preprocessing: `log1p(counts / sum(counts) * 1e4)` with the
/// sum over the aligned genes, raw integer counts expected, bad cells an error, batches of 64
/// cells, threads from the caller's rayon context.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PreprocessOptions {
    /// Scale every cell to the same total (`counts / library_size * target_sum`).
    pub normalize_total: bool,
    /// The total every cell is scaled to.
    pub target_sum: f32,
    /// Which counts make up the library size.
    pub library_size: LibrarySize,
    /// Apply `ln(1 + x)` after scaling.
    pub log1p: bool,
    /// Require every stored value to be a whole number (raw counts).
    pub integer_counts: bool,
    /// What to do with cells that cannot be preprocessed.
    pub bad_cells: BadCellPolicy,
    /// Cells per batch: the row count of the dense output, and of each read from the source.
    pub batch_size: usize,
    /// Threads for the per-cell work: `None` uses the rayon pool the call runs in (the global
    /// pool, or the caller's `ThreadPool::install`); `Some(n)` builds a private pool of `n`
    /// threads (`Some(1)` runs on the calling thread).
    pub threads: Option<usize>,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            normalize_total: true,
            target_sum: 1e4,
            library_size: LibrarySize::Aligned,
            log1p: true,
            integer_counts: true,
            bad_cells: BadCellPolicy::Error,
            batch_size: 64,
            threads: None,
        }
    }
}

impl PreprocessOptions {
    /// Turns total-count normalization on or off.
    pub fn with_normalize_total(mut self, on: bool) -> Self {
        self.normalize_total = on;
        self
    }

    /// Sets the total every cell is scaled to.
    pub fn with_target_sum(mut self, target_sum: f32) -> Self {
        self.target_sum = target_sum;
        self
    }

    /// Sets which counts make up the library size.
    pub fn with_library_size(mut self, library_size: LibrarySize) -> Self {
        self.library_size = library_size;
        self
    }

    /// Turns `log1p` on or off.
    pub fn with_log1p(mut self, on: bool) -> Self {
        self.log1p = on;
        self
    }

    /// Requires (or not) whole-number values.
    pub fn with_integer_counts(mut self, on: bool) -> Self {
        self.integer_counts = on;
        self
    }

    /// Sets the bad-cell policy.
    pub fn with_bad_cells(mut self, policy: BadCellPolicy) -> Self {
        self.bad_cells = policy;
        self
    }

    /// Sets the number of cells per batch.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the thread count (`None`: the caller's rayon context).
    pub fn with_threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads;
        self
    }
}
