//! The reusable dense buffer and the parallel pass over a block of rows.

use super::batch::Batch;
use super::kernel::{clear_row, Kernel, RowState};
use super::options::{BadCellPolicy, LibrarySize, PreprocessOptions};
use super::problem::CellIssue;
use crate::error::{Error, Result};
use crate::genes::GeneAlignment;
use crate::matrix::CsrRows;
use rayon::prelude::*;
use std::sync::Arc;

/// Turns CSR row blocks into aligned, normalized, `log1p` dense batches in one reused buffer.
///
/// Memory is the buffer (`rows × vocabulary × 4` bytes for the largest block seen) plus a few
/// bytes per stored value of a row; it does not grow with the number of blocks processed.
/// Reusing a row costs only the positions the previous cell wrote, not the row's width.
#[derive(Debug)]
pub struct Preprocessor {
    alignment: GeneAlignment,
    options: PreprocessOptions,
    pool: Option<Arc<rayon::ThreadPool>>,
    buffer: Vec<f32>,
    states: Vec<RowState>,
    rows: Vec<usize>,
    issues: Vec<CellIssue>,
}

impl Preprocessor {
    /// A preprocessor for data aligned by `alignment`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero batch size or thread count, a target sum that is
    /// not finite and positive, or a thread pool that cannot be built.
    pub fn new(alignment: GeneAlignment, options: PreprocessOptions) -> Result<Self> {
        if options.batch_size == 0 {
            return Err(Error::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        if !(options.target_sum.is_finite() && options.target_sum > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "target sum must be finite and positive, got {}",
                options.target_sum
            )));
        }
        let pool = match options.threads {
            Some(0) => {
                return Err(Error::InvalidArgument(
                    "thread count must be at least 1".into(),
                ))
            }
            Some(n) if n > 1 => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("instructcell-preprocess-{i}"))
                    .build()
                    .map_err(|e| {
                        Error::InvalidArgument(format!("cannot start {n} threads: {e}"))
                    })?,
            )),
            _ => None,
        };
        Ok(Preprocessor {
            alignment,
            options,
            pool,
            buffer: Vec::new(),
            states: Vec::new(),
            rows: Vec::new(),
            issues: Vec::new(),
        })
    }

    /// The alignment applied.
    pub fn alignment(&self) -> &GeneAlignment {
        &self.alignment
    }

    /// The options in force.
    pub fn options(&self) -> &PreprocessOptions {
        &self.options
    }

    /// Whether the work runs on the calling thread only (`threads == Some(1)`).
    pub(crate) fn is_serial(&self) -> bool {
        self.pool.is_none() && self.options.threads == Some(1)
    }

    /// The private pool, if the options asked for one.
    pub(crate) fn pool(&self) -> Option<Arc<rayon::ThreadPool>> {
        self.pool.clone()
    }

    /// Width of the output rows (the vocabulary size).
    pub fn n_genes(&self) -> usize {
        self.alignment.n_vocab()
    }

    /// Preprocesses every row of `block`, whose first row is row `first_row` of its source.
    ///
    /// `cell_names`, when given, holds the source's obs names (indexed by source row) and is only
    /// read to name a bad cell in an error.
    ///
    /// # Errors
    /// [`Error::Shape`] when the block is malformed or its width differs from the alignment's
    /// dataset width; [`Error::BadCell`] for the first bad cell under [`BadCellPolicy::Error`].
    pub fn process(
        &mut self,
        block: &CsrRows,
        first_row: usize,
        cell_names: Option<&[String]>,
    ) -> Result<Batch<'_>> {
        if block.n_cols != self.alignment.n_dataset() {
            return Err(Error::Shape(format!(
                "rows have {} genes but the alignment was made for {}",
                block.n_cols,
                self.alignment.n_dataset()
            )));
        }
        // Column bounds are checked per row, in parallel, by the kernel.
        block.validate_structure()?;
        let n = block.n_rows();
        let g = self.n_genes();
        if self.states.len() < n {
            self.buffer.resize(n * g, 0.0);
            self.states.resize_with(n, RowState::default);
        }

        let o = self.options.clone();
        let kernel = Kernel {
            map: self.alignment.table(),
            copies: self.alignment.copies(),
            sums_columns: self.alignment.sums_columns(),
            normalize: o.normalize_total,
            target_sum: o.target_sum as f64,
            all_genes: o.library_size == LibrarySize::AllGenes,
            log1p: o.log1p,
            integer: o.integer_counts,
        };
        let work = |(i, (out, state)): (usize, (&mut [f32], &mut RowState))| {
            let (indices, values) = block.row(i);
            kernel.run(indices, values, out, state).is_err()
        };
        let serial = self.is_serial();
        let out = &mut self.buffer[..n * g];
        let states = &mut self.states[..n];
        let bad_column = if serial {
            out.chunks_mut(g)
                .zip(states.iter_mut())
                .enumerate()
                .map(work)
                .fold(false, |a, b| a | b)
        } else {
            let mut parallel = move || {
                out.par_chunks_mut(g)
                    .zip(states.par_iter_mut())
                    .enumerate()
                    .map(work)
                    .reduce(|| false, |a, b| a | b)
            };
            match &self.pool {
                Some(pool) => pool.install(parallel),
                None => parallel(),
            }
        };
        if bad_column {
            return Err(Error::Shape(format!(
                "a column index is out of range for {} columns",
                block.n_cols
            )));
        }

        self.rows.clear();
        self.issues.clear();
        let mut kept = 0;
        for i in 0..n {
            let row = first_row + i;
            let Some(problem) = self.states[i].problem else {
                if kept != i {
                    self.move_row(i, kept, g);
                }
                self.rows.push(row);
                kept += 1;
                continue;
            };
            match o.bad_cells {
                BadCellPolicy::Error => {
                    return Err(Error::BadCell {
                        row,
                        cell: cell_names.and_then(|names| names.get(row)).cloned(),
                        problem,
                    })
                }
                BadCellPolicy::Skip => self.issues.push(CellIssue { row, problem }),
                BadCellPolicy::ZeroFill => {
                    self.issues.push(CellIssue { row, problem });
                    self.rows.push(row);
                    kept += 1;
                }
            }
        }
        Ok(Batch {
            data: &self.buffer[..kept * g],
            n_genes: g,
            rows: &self.rows,
            issues: &self.issues,
            source_rows: first_row..first_row + n,
        })
    }

    /// Moves row `from` to the all-zero row `to` (`to < from`), touching only stored positions.
    fn move_row(&mut self, from: usize, to: usize, g: usize) {
        debug_assert!(to < from && self.states[to].len == 0);
        let (head, tail) = self.buffer.split_at_mut(from * g);
        let dst = &mut head[to * g..(to + 1) * g];
        let src = &mut tail[..g];
        for &p in self.states[from].touched() {
            dst[p as usize] = src[p as usize];
            src[p as usize] = 0.0;
        }
        self.states.swap(from, to);
        // `from` now holds `to`'s empty state; make sure it says so.
        clear_row(src, &mut self.states[from]);
    }
}
