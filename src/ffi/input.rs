//! Inputs of the label tasks: cells from CSR arrays (copied and validated) or from a store.

use super::args::{
    free_box, handle_ref, invalid, null, opt_handle, opt_str_arg, out_arg, put, slice_arg, str_arg,
    strings_arg, ArgResult,
};
use super::error::{fail, guard, IcStatus};
use super::rows::RowsView;
use crate::error::{Error, Result};
use crate::genes::{AlignOptions, GeneAlignment};
use crate::io::{MatrixChoice, MatrixSelection};
use crate::matrix::CsrRows;
use crate::model::Model;
use crate::pipeline::{self, Dataset, InputOptions, LabelRequest};
use crate::preprocess::CellProblem;
use crate::tasks::{self, AnswerMode, Control, LabelPrediction, TaskOptions};
use std::ffi::c_char;
use std::sync::{Mutex, PoisonError};

/// Cells to run a task on (opaque): made by `ic_input_from_csr` (the library keeps its own
/// copy of the arrays) or `ic_input_from_store` (the store stays open and is read by each
/// task), released by `ic_input_free`. One input may serve several tasks, also from several
/// threads at once (tasks over a store input take turns reading it).
pub struct IcInput {
    kind: InputKind,
    n_cells: usize,
    n_genes: usize,
}

enum InputKind {
    /// Validated CSR rows of raw counts, and the gene of each column.
    Csr { rows: CsrRows, genes: Vec<String> },
    /// An opened store; a task needs it exclusively while it reads.
    Store(Mutex<Dataset>),
}

// The C API documents inputs (and models) as shareable between threads.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<IcInput>();
    shareable::<super::model::IcModel>();
};

/// A label task over an input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LabelTask<'a> {
    /// Cell type annotation.
    Annotate,
    /// Response to the drug.
    DrugResponse(&'a str),
}

impl LabelTask<'_> {
    /// The package's calibration key of the task (as in [`pipeline`]).
    fn calibration_key(self) -> &'static str {
        match self {
            LabelTask::Annotate => "cell_type",
            LabelTask::DrugResponse(_) => "drug_response",
        }
    }
}

impl IcInput {
    /// Runs `task` over every cell with `opts`, the same way whichever kind of input this is:
    /// genes aligned by exact symbol, the package's calibration in scored mode.
    pub(crate) fn run(
        &self,
        model: &Model,
        task: LabelTask<'_>,
        opts: TaskOptions,
    ) -> Result<Vec<LabelPrediction>> {
        let mut control = Control::new();
        match &self.kind {
            InputKind::Store(dataset) => {
                // A panic inside an earlier task cannot leave the dataset unusable: every read
                // states its rows, and the readers keep no state between reads.
                let mut data = dataset.lock().unwrap_or_else(PoisonError::into_inner);
                let req = LabelRequest::new(opts);
                let preds = match task {
                    LabelTask::Annotate => pipeline::annotate(model, &mut data, &req, &mut control),
                    LabelTask::DrugResponse(drug) => {
                        pipeline::drug_response(model, &mut data, drug, &req, &mut control)
                    }
                }?;
                Ok(preds.predictions)
            }
            InputKind::Csr { rows, genes } => {
                let alignment = GeneAlignment::new(genes, model.genes(), &AlignOptions::default())?;
                let mut opts = opts;
                if opts.mode == AnswerMode::Scored && opts.temperature.is_none() {
                    if let Some(c) = model.calibration(task.calibration_key()) {
                        opts = opts.with_temperature(c.temperature);
                    }
                }
                let source = RowsView::new(rows, genes);
                match task {
                    LabelTask::Annotate => {
                        tasks::annotate(model, source, &alignment, &opts, &mut control)
                    }
                    LabelTask::DrugResponse(drug) => tasks::predict_drug_response(
                        model,
                        source,
                        &alignment,
                        drug,
                        &opts,
                        &mut control,
                    ),
                }
            }
        }
    }
}

/// The first value that is not a count (NaN, infinite, negative), as a bad-cell error.
fn check_values(rows: &CsrRows) -> Result<()> {
    for r in 0..rows.n_rows() {
        let (cols, values) = rows.row(r);
        for (&c, &v) in cols.iter().zip(values) {
            let problem = if !v.is_finite() {
                CellProblem::NonFinite {
                    column: c as usize,
                    value: v,
                }
            } else if v < 0.0 {
                CellProblem::Negative {
                    column: c as usize,
                    value: v,
                }
            } else {
                continue;
            };
            return Err(Error::BadCell {
                row: r,
                cell: None,
                problem,
            });
        }
    }
    Ok(())
}

/// Makes an input from a CSR matrix of raw counts: `n_cells` rows over `n_genes` columns with
/// `nnz` stored values; `indptr` has `n_cells + 1` entries (0 first, non-decreasing, `nnz`
/// last), `indices` and `values` have `nnz` entries each (`indices[k] < n_genes`); column `j`
/// is gene `gene_names[j]` (`n_genes` strings), matched to a model's genes by exact symbol when
/// a task runs. The arrays are COPIED: they may be freed or changed as soon as the call
/// returns. Everything is checked here, before any task: on success `*out` receives an input to
/// release with `ic_input_free`; on failure `*out` is set to NULL.
/// Errors: IC_NULL_ARGUMENT (`out`, `indptr`, or `indices` / `values` / `gene_names` / a gene
/// name where their length is not 0), IC_INVALID_UTF8 (a gene name), IC_INVALID_ARGUMENT
/// (lengths too large, misaligned arrays), IC_SHAPE (indptr not starting at 0, decreasing or not
/// ending at `nnz`; a column index out of range), IC_BAD_CELL (a NaN, infinite or negative
/// value; the message names the cell and column). Cells with no counts, or with fractional
/// values, fail later, in the task (IC_BAD_CELL).
///
/// # Safety
/// `indptr` is NULL or points to `n_cells + 1` readable values; `indices` and `values` are NULL
/// or point to `nnz` readable values each; `gene_names` is NULL or points to `n_genes` pointers,
/// each NULL or a NUL-terminated string; none changes during the call; `out` is NULL or valid
/// for writing a pointer.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ic_input_from_csr(
    n_cells: usize,
    n_genes: usize,
    nnz: usize,
    indptr: *const u64,
    indices: *const u32,
    values: *const f32,
    gene_names: *const *const c_char,
    out: *mut *mut IcInput,
) -> IcStatus {
    guard(|| {
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        let n_ptr = n_cells
            .checked_add(1)
            .ok_or_else(|| invalid("n_cells is too large"))?;
        if indptr.is_null() {
            return Err(null("indptr"));
        }
        // SAFETY: `indptr` is non-NULL and points to `n_cells + 1` values that do not change
        // during the call (this function's contract); `slice_arg` checks alignment and size.
        let indptr = unsafe { slice_arg(indptr, n_ptr, "indptr")? };
        // SAFETY: `indices` is NULL or points to `nnz` values, unchanged during the call.
        let indices = unsafe { slice_arg(indices, nnz, "indices")? };
        // SAFETY: `values` is NULL or points to `nnz` values, unchanged during the call.
        let values = unsafe { slice_arg(values, nnz, "values")? };
        // SAFETY: `gene_names` is NULL or points to `n_genes` string pointers, each NULL or
        // NUL-terminated, unchanged during the call (this function's contract).
        let genes = unsafe { strings_arg(gene_names, n_genes, "gene_names")? };
        let rows = CsrRows {
            indptr: indptr.to_vec(),
            indices: indices.to_vec(),
            data: values.to_vec(),
            n_cols: n_genes,
        };
        rows.validate().map_err(fail)?;
        check_values(&rows).map_err(fail)?;
        let input = IcInput {
            kind: InputKind::Csr { rows, genes },
            n_cells,
            n_genes,
        };
        // SAFETY: `out` passed `out_arg` above and stays writable (this function's contract).
        unsafe { put(out, Box::new(input)) };
        Ok(())
    })
}

/// The matrix a store input reads, from its C spelling.
fn matrix_choice(spec: Option<&str>) -> ArgResult<MatrixChoice> {
    Ok(match spec {
        None | Some("auto") => MatrixChoice::Auto,
        Some("X") => MatrixChoice::Use(MatrixSelection::X),
        Some("raw/X") | Some("raw") => MatrixChoice::Use(MatrixSelection::RawX),
        Some(s) => match s.strip_prefix("layers/") {
            Some(layer) if !layer.is_empty() && !layer.contains('/') => {
                MatrixChoice::Use(MatrixSelection::Layer(layer.to_string()))
            }
            _ => {
                return Err(invalid(format!(
                    "unknown matrix {s:?} (expected auto, X, raw/X or layers/NAME)"
                )))
            }
        },
    })
}

/// Opens the dataset at `path`: an AnnData store (`.zarr` v2/v3, or `.h5ad` when built with
/// it), a MuData store (`.h5mu`, MuData zarr) or a 10x Matrix Market directory. `matrix` (NULL
/// or "auto": counts in X, a counts layer or `raw/X`, else log-normalised values turned back
/// into counts; or "X", "raw/X", "layers/NAME"), `modality` (MuData; NULL: `rna`, else the only
/// one) and `gene_symbols` (the var column with the gene symbols; NULL: the var index) may be
/// NULL. The store is opened and its matrix chosen here; tasks read its cells. On success `*out`
/// receives an input to release with `ic_input_free`; on failure `*out` is set to NULL.
/// Errors: IC_NULL_ARGUMENT (`path`, `out`), IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown
/// matrix spelling, a modality for a 10x directory), IC_STORE (nothing at `path`, not a store,
/// malformed elements, no usable matrix: the message names what each element holds), IC_SHAPE
/// (obs and the matrix disagree), IC_IO.
///
/// # Safety
/// `path`, `matrix`, `modality`, `gene_symbols` are NULL or NUL-terminated strings; `out` is
/// NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn ic_input_from_store(
    path: *const c_char,
    matrix: *const c_char,
    modality: *const c_char,
    gene_symbols: *const c_char,
    out: *mut *mut IcInput,
) -> IcStatus {
    guard(|| {
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        // SAFETY: `path` is NULL or NUL-terminated (this function's contract), as are the
        // three strings below.
        let path = unsafe { str_arg(path, "path")? };
        // SAFETY: as above.
        let matrix = matrix_choice(unsafe { opt_str_arg(matrix, "matrix")? })?;
        // SAFETY: as above.
        let modality = unsafe { opt_str_arg(modality, "modality")? };
        // SAFETY: as above.
        let gene_symbols = unsafe { opt_str_arg(gene_symbols, "gene_symbols")? };
        let mut opts = InputOptions::default()
            .with_matrix(matrix)
            .with_modality(modality.map(str::to_string));
        if let Some(g) = gene_symbols {
            opts = opts.with_gene_symbols(g);
        }
        let data = Dataset::open(path, &opts).map_err(fail)?;
        let input = IcInput {
            n_cells: data.n_cells(),
            n_genes: data.gene_names().len(),
            kind: InputKind::Store(Mutex::new(data)),
        };
        // SAFETY: `out` passed `out_arg` above and stays writable (this function's contract).
        unsafe { put(out, Box::new(input)) };
        Ok(())
    })
}

/// Number of cells of an input (0 for NULL).
///
/// # Safety
/// `input` is NULL or a live input.
#[no_mangle]
pub unsafe extern "C" fn ic_input_num_cells(input: *const IcInput) -> usize {
    // SAFETY: `input` is NULL or live (this function's contract).
    unsafe { opt_handle(input) }.map_or(0, |i| i.n_cells)
}

/// Number of genes (matrix columns) of an input (0 for NULL).
///
/// # Safety
/// `input` is NULL or a live input.
#[no_mangle]
pub unsafe extern "C" fn ic_input_num_genes(input: *const IcInput) -> usize {
    // SAFETY: `input` is NULL or live (this function's contract).
    unsafe { opt_handle(input) }.map_or(0, |i| i.n_genes)
}

/// Releases an input (closing its store). NULL is ignored.
///
/// # Safety
/// `input` is NULL or an input not yet freed, which no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn ic_input_free(input: *mut IcInput) {
    // SAFETY: this function's contract is the one `free_box` requires.
    unsafe { free_box(input) }
}

/// The input of a live handle, or IC_NULL_ARGUMENT.
///
/// # Safety
/// `input` is NULL or a live input that outlives `'a`.
pub(crate) unsafe fn input_ref<'a>(input: *const IcInput) -> ArgResult<&'a IcInput> {
    // SAFETY: this function's contract is the one `handle_ref` requires.
    unsafe { handle_ref(input, "input") }
}
