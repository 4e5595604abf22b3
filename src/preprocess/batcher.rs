//! Streaming a whole row source through the preprocessor, one bounded block at a time.

use super::batch::Batch;
use super::options::PreprocessOptions;
use super::preprocessor::Preprocessor;
use crate::error::{Error, Result};
use crate::genes::GeneAlignment;
use crate::matrix::{CsrRows, RowSource};
use std::ops::Range;

/// Reads a [`RowSource`] in blocks of [`PreprocessOptions::batch_size`] rows and turns each into
/// a dense [`Batch`].
///
/// Memory is one CSR block and one dense batch, whatever the number of cells. Batches borrow
/// the batcher's buffer, so this is a *lending* iterator: call [`Batcher::next_batch`] in a
/// `while let` loop (a `std::iter::Iterator` could not hand out borrowed batches), or give
/// [`Batcher::for_each_batch`] a closure.
///
/// ```
/// use instructcell::genes::{AlignOptions, GeneAlignment};
/// use instructcell::memory::DenseSource;
/// use instructcell::preprocess::{Batcher, PreprocessOptions};
/// use ndarray::array;
///
/// let counts = array![[1.0f32, 3.0, 0.0], [0.0, 2.0, 2.0]];
/// let genes = vec!["A".to_string(), "B".into(), "C".into()];
/// let source = DenseSource::new(counts.view(), genes.clone())?;
/// let alignment = GeneAlignment::new(&genes, &["C", "A", "B"], &AlignOptions::default())?;
/// let mut batcher = Batcher::new(source, alignment, PreprocessOptions::default())?;
/// while let Some(batch) = batcher.next_batch() {
///     let batch = batch?;
///     assert_eq!(batch.shape(), [2, 3]);
///     // Cell 0: counts (C, A, B) = (0, 1, 3) scaled to 1e4, then log1p.
///     assert!((batch.cell(0)[1] - (1.0f32 + 2500.0).ln()).abs() < 1e-5);
/// }
/// # Ok::<(), instructcell::Error>(())
/// ```
#[derive(Debug)]
pub struct Batcher<S> {
    source: S,
    pre: Preprocessor,
    block: CsrRows,
    next: usize,
    end: usize,
    /// Second block, filled while the first is processed (see `for_each_batch_prefetch`).
    spare: CsrRows,
    cell_names: Option<Vec<String>>,
    failed: bool,
}

impl<S: RowSource> Batcher<S> {
    /// A batcher over all rows of `source`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the source's gene count differs from the alignment's dataset gene
    /// count; the errors of [`Preprocessor::new`].
    pub fn new(source: S, alignment: GeneAlignment, options: PreprocessOptions) -> Result<Self> {
        if source.n_cols() != alignment.n_dataset() {
            return Err(Error::Shape(format!(
                "the source has {} genes but the alignment was made for {}",
                source.n_cols(),
                alignment.n_dataset()
            )));
        }
        let end = source.n_rows();
        let n_cols = source.n_cols();
        Ok(Batcher {
            source,
            pre: Preprocessor::new(alignment, options)?,
            block: CsrRows::new(n_cols),
            spare: CsrRows::new(n_cols),
            next: 0,
            end,
            cell_names: None,
            failed: false,
        })
    }

    /// Restricts the batcher to source rows `rows`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the range is not within the source.
    pub fn with_rows(mut self, rows: Range<usize>) -> Result<Self> {
        if rows.start > rows.end || rows.end > self.source.n_rows() {
            return Err(Error::Shape(format!(
                "rows {rows:?} are not within the source's {} rows",
                self.source.n_rows()
            )));
        }
        self.next = rows.start;
        self.end = rows.end;
        Ok(self)
    }

    /// Gives the cells' names (one per source row), used to name bad cells in errors.
    ///
    /// # Errors
    /// [`Error::Shape`] when there is not one name per source row.
    pub fn with_cell_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.source.n_rows() {
            return Err(Error::Shape(format!(
                "{} cell names for {} rows",
                names.len(),
                self.source.n_rows()
            )));
        }
        self.cell_names = Some(names);
        Ok(self)
    }

    /// The rows of the block after `start`.
    fn block_after(&self, start: usize) -> Range<usize> {
        start..(start + self.pre.options().batch_size).min(self.end)
    }

    /// The next batch, or `None` when every row has been delivered or an error was returned.
    pub fn next_batch(&mut self) -> Option<Result<Batch<'_>>> {
        if self.failed || self.next >= self.end {
            return None;
        }
        let rows = self.block_after(self.next);
        let (start, stop) = (rows.start, rows.end);
        if let Err(e) = read_block(&mut self.source, rows, &mut self.block) {
            self.failed = true;
            return Some(Err(e));
        }
        self.next = stop;
        let result = self
            .pre
            .process(&self.block, start, self.cell_names.as_deref());
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }

    /// Calls `f` with every batch in order, stopping at the first error (its own or `f`'s).
    ///
    /// # Errors
    /// The first error of the source ([`RowSource::read_rows`]), of preprocessing
    /// ([`Error::BadCell`] for a cell with NaN, infinite or negative values under
    /// [`BadCellPolicy::Error`](super::BadCellPolicy::Error)) or of `f`.
    pub fn for_each_batch<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(Batch<'_>) -> Result<()>,
    {
        while let Some(batch) = self.next_batch() {
            f(batch?)?;
        }
        Ok(())
    }

    /// Source rows not yet delivered.
    ///
    /// After an error this is where reading stopped (the failed block included or not,
    /// depending on where the error arose).
    pub fn remaining_rows(&self) -> Range<usize> {
        self.next.min(self.end)..self.end
    }

    /// The preprocessor (alignment and options).
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.pre
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Gives the source back.
    pub fn into_source(self) -> S {
        self.source
    }
}

impl<S: RowSource + Send> Batcher<S> {
    /// Like [`Batcher::for_each_batch`], but reads the next block from the source while the
    /// current one is preprocessed and handed to `f`, so that reading (decompression, disk)
    /// overlaps computing. Needs a source that can be sent to another thread; with
    /// [`PreprocessOptions::threads`] `Some(1)` it runs like `for_each_batch`.
    ///
    /// # Errors
    /// As for [`Batcher::for_each_batch`].
    pub fn for_each_batch_prefetch<F>(&mut self, mut f: F) -> Result<()>
    where
        F: FnMut(Batch<'_>) -> Result<()> + Send,
    {
        if self.pre.is_serial() {
            return self.for_each_batch(f);
        }
        if self.failed || self.next >= self.end {
            return Ok(());
        }
        let first = self.block_after(self.next);
        if let Err(e) = read_block(&mut self.source, first.clone(), &mut self.block) {
            self.failed = true;
            return Err(e);
        }
        let mut current = first;
        let pool = self.pre.pool();
        loop {
            let ahead = self.block_after(current.end);
            let Batcher {
                source,
                pre,
                block,
                spare,
                cell_names,
                ..
            } = self;
            let names = cell_names.as_deref();
            let (f, start, next_rows) = (&mut f, current.start, ahead.clone());
            let work = move || {
                rayon::join(
                    || {
                        if next_rows.is_empty() {
                            Ok(())
                        } else {
                            read_block(source, next_rows, spare)
                        }
                    },
                    || f(pre.process(block, start, names)?),
                )
            };
            let (read, done) = match &pool {
                Some(pool) => pool.install(work),
                None => work(),
            };
            // The current batch went first, so its error wins over the read-ahead's.
            if let Err(e) = done.and(read) {
                self.next = current.end;
                self.failed = true;
                return Err(e);
            }
            self.next = current.end;
            if ahead.is_empty() {
                return Ok(());
            }
            std::mem::swap(&mut self.block, &mut self.spare);
            current = ahead;
        }
    }
}

/// Reads `rows` into `out`, checking that the source returned what was asked for.
fn read_block<S: RowSource + ?Sized>(
    source: &mut S,
    rows: Range<usize>,
    out: &mut CsrRows,
) -> Result<()> {
    out.clear(source.n_cols());
    source.read_rows(rows.clone(), out)?;
    if out.n_rows() != rows.len() {
        return Err(Error::Shape(format!(
            "asked the source for {} rows, got {}",
            rows.len(),
            out.n_rows()
        )));
    }
    Ok(())
}
