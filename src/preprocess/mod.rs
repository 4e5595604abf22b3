//! The sparse preprocessing core: CSR row blocks in, model-ready dense batches out.
//!
//! For every cell the core computes, over the model's gene vocabulary,
//! `log1p(counts / library_size * target_sum)`, writing a `[cells × genes]` row-major `f32`
//! batch into a buffer it reuses, with rayon across cells.
//!
//! **Library size.** By default ([`LibrarySize::Aligned`]) it is the sum of the cell's counts
//! over the vocabulary genes, *after* alignment: the reference model receives the aligned
//! count vector and normalizes it itself (its forward pass divides the vector by its own sum), so
//! counts of genes outside the vocabulary never enter the divisor. [`LibrarySize::AllGenes`]
//! uses every stored count of the cell instead, as scanpy's `normalize_total` would on the full
//! matrix before subsetting.
//!
//! **Bad cells.** Cells with no counts, with counts only outside the vocabulary, with NaN,
//! infinite or negative values, or (when raw counts are expected) with fractional values are an
//! [`Error::BadCell`](crate::Error::BadCell) naming the cell, unless the caller picks another
//! [`BadCellPolicy`].
//!
//! **Threads.** By default the work runs in the caller's rayon context: the global pool, or the
//! pool of an enclosing `ThreadPool::install`. [`PreprocessOptions::threads`] gives the core
//! its own pool instead. Results do not depend on the thread count.
//!
//! Use a [`Batcher`] to stream a whole [`RowSource`](crate::RowSource) (with
//! [`Batcher::for_each_batch_prefetch`], the next block is read while the current one is
//! processed), or a [`Preprocessor`] directly on [`CsrRows`](crate::CsrRows) blocks you read
//! yourself.
//!
//! **Output.** Each [`Batch`] is `[cells, genes]` row-major contiguous `f32`, the layout a cell
//! encoder's input tensor takes as is. Results agree with an `f64` reference to within
//! `1e-6 + 5e-7·|x|`; against scanpy's `normalize_total` + `log1p` the largest difference
//! measured on the test fixtures is below `1e-6`.

mod batch;
mod batcher;
mod kernel;
mod log1p;
mod options;
mod preprocessor;
mod problem;

pub use batch::Batch;
pub use batcher::Batcher;
pub use options::{BadCellPolicy, LibrarySize, PreprocessOptions};
pub use preprocessor::Preprocessor;
pub use problem::{CellIssue, CellProblem};
