//! The C functions: models, annotation, generation, instructions, and their results.
// The SAFETY notes of this file are written with the C API redesign; until then the lint is
// allowed here only.
#![allow(clippy::undocumented_unsafe_blocks)]

use super::args::{check_out, free_box, opt_str_arg, put, slice_arg, str_arg, strings_arg};
use super::error::{fail, guard, IcStatus};
use super::rows::RowsSource;
use crate::genes::{AlignOptions, GeneAlignment};
use crate::matrix::CsrRows;
use crate::model::{CellOptions, Model, ModelOptions};
use crate::package::Precision;
use crate::pipeline::{self, Dataset, InputOptions, LabelRequest};
use crate::prompt::Metadata;
use crate::runtime::{ExecutionProvider, SessionOptions};
use crate::tasks::{
    self, AnswerMode, CellGenerationOptions, CellRequest, Control, LabelPrediction, TaskOptions,
};
use std::ffi::{c_char, CString};

/// A loaded model (opaque). Thread-safe: one handle may be used from several threads.
pub struct IcModel(Model);

/// Annotation results (opaque).
pub struct IcPredictions {
    preds: Vec<LabelPrediction>,
    labels: Vec<Option<CString>>,
}

/// Generated cells (opaque): a CSR matrix over the model's genes.
pub struct IcCells {
    counts: CsrRows,
    cell_types: Vec<CString>,
}

/// How an answer is turned into a label.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcAnswerMode {
    /// Decoding restricted to the label set (always a label).
    IcConstrained = 0,
    /// Every label scored; the most likely wins (always a label).
    IcScored = 1,
    /// Free text; the label is looked up in the answer (may be none).
    IcFree = 2,
}

impl From<IcAnswerMode> for AnswerMode {
    fn from(m: IcAnswerMode) -> Self {
        match m {
            IcAnswerMode::IcConstrained => AnswerMode::Constrained,
            IcAnswerMode::IcScored => AnswerMode::Scored,
            IcAnswerMode::IcFree => AnswerMode::Free,
        }
    }
}

/// Library version, a static string.
#[no_mangle]
pub extern "C" fn ic_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Loads the model package in directory `path` on the CPU.
///
/// `precision`: "fp32", "int8" or "fp16", or NULL for fp32; "int8" loads the int8 weights this
/// CPU multiplies exactly, "int8-signed" / "int8-unsigned" force an encoding; a suffix
/// "+ties=M" lets the fp32 graphs decide near-ties under M nats (see
/// `ic_model_load_tie_checked`), e.g. "int8+ties=0.5". `threads`: 0 for all available
/// CPUs. On success `*out` receives a handle to release with `ic_model_free`.
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown precision),
/// IC_PACKAGE (malformed or tampered package), IC_RUNTIME (ONNX Runtime missing or failing).
///
/// # Safety
/// `path` and `precision` are NULL or NUL-terminated strings; `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn ic_model_load(
    path: *const c_char,
    precision: *const c_char,
    threads: u32,
    out: *mut *mut IcModel,
) -> IcStatus {
    // SAFETY: forwarded contract.
    unsafe { ic_model_load_with_provider(path, precision, threads, std::ptr::null(), false, out) }
}

/// Loads the model package in directory `path` with an execution provider: `provider` is
/// "cpu" (or NULL), "cuda" or "tensorrt" (GPU 0; needs a library built with the matching
/// feature and a GPU build of ONNX Runtime). If the provider cannot start, the call fails with
/// IC_RUNTIME unless `allow_fallback` is true, in which case the model runs on the CPU and a
/// warning is printed to stderr. Other arguments and errors as `ic_model_load`.
///
/// # Safety
/// As `ic_model_load`.
#[no_mangle]
pub unsafe extern "C" fn ic_model_load_with_provider(
    path: *const c_char,
    precision: *const c_char,
    threads: u32,
    provider: *const c_char,
    allow_fallback: bool,
    out: *mut *mut IcModel,
) -> IcStatus {
    // SAFETY: forwarded contract.
    unsafe {
        load_model(
            path,
            precision,
            threads,
            provider,
            allow_fallback,
            None,
            out,
        )
    }
}

/// Loads the model package in directory `path` on the CPU, like `ic_model_load`, and for an
/// "int8" or "fp16" `precision` also its fp32 graphs, which decide the near-ties: a greedy
/// answer whose smallest top-1/top-2 logit margin is below `fp32_tie_margin` nats, and a scored
/// cell whose two best labels lie that close, is answered by the fp32 graphs, so answers are
/// the fp32 answers at reduced-precision speed for every clear decision (0.5 suits the bundled
/// trained package). No effect for "fp32". Errors as `ic_model_load`; IC_INVALID_ARGUMENT for
/// a negative or non-finite margin, IC_PACKAGE when the fp32 graphs are missing or tampered.
///
/// # Safety
/// As `ic_model_load`.
#[no_mangle]
pub unsafe extern "C" fn ic_model_load_tie_checked(
    path: *const c_char,
    precision: *const c_char,
    threads: u32,
    fp32_tie_margin: f32,
    out: *mut *mut IcModel,
) -> IcStatus {
    // SAFETY: forwarded contract.
    unsafe {
        load_model(
            path,
            precision,
            threads,
            std::ptr::null(),
            false,
            Some(fp32_tie_margin),
            out,
        )
    }
}

/// The loaders above: C strings → [`ModelOptions`] → a model handle in `*out`.
///
/// # Safety
/// As `ic_model_load_with_provider`.
unsafe fn load_model(
    path: *const c_char,
    precision: *const c_char,
    threads: u32,
    provider: *const c_char,
    allow_fallback: bool,
    fp32_tie_margin: Option<f32>,
    out: *mut *mut IcModel,
) -> IcStatus {
    guard(|| {
        let path = unsafe { str_arg(path, "path")? };
        let precision = unsafe { opt_str_arg(precision, "precision")? };
        let providers = match unsafe { opt_str_arg(provider, "provider")? } {
            None | Some("cpu") => vec![ExecutionProvider::Cpu],
            Some("cuda") => vec![ExecutionProvider::cuda(), ExecutionProvider::Cpu],
            Some("tensorrt") => vec![ExecutionProvider::tensorrt(), ExecutionProvider::Cpu],
            Some(other) => {
                return Err((
                    IcStatus::IcInvalidArgument,
                    format!("unknown provider {other:?} (expected cpu, cuda or tensorrt)"),
                ))
            }
        };
        let mut session = SessionOptions::default()
            .with_providers(providers)
            .with_allow_fallback(allow_fallback);
        if threads > 0 {
            session = session.with_threads(threads as usize);
        }
        let mut opts = ModelOptions::default().with_session(session);
        if let Some(p) = precision {
            opts = opts.with_precision_spec(p).map_err(fail)?;
        }
        if fp32_tie_margin.is_some() {
            opts.fp32_tie_margin = fp32_tie_margin;
        }
        check_out(out, "out")?;
        let model = Model::load(path, &opts).map_err(fail)?;
        unsafe { put(out, Box::into_raw(Box::new(IcModel(model))), "out") }
    })
}

/// Releases a model. NULL is ignored.
///
/// # Safety
/// `model` is NULL or a handle from `ic_model_load` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ic_model_free(model: *mut IcModel) {
    // SAFETY: forwarded contract.
    unsafe { free_box(model) }
}

/// Number of genes the model reads (0 for NULL).
///
/// # Safety
/// `model` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ic_model_num_genes(model: *const IcModel) -> usize {
    // SAFETY: live handle or NULL per the contract.
    unsafe { model.as_ref() }.map_or(0, |m| m.0.dims().num_genes)
}

unsafe fn model_ref<'a>(model: *const IcModel) -> Result<&'a Model, (IcStatus, String)> {
    // SAFETY: live handle or NULL per the callers' contracts.
    unsafe { model.as_ref() }
        .map(|m| &m.0)
        .ok_or((IcStatus::IcNullArgument, "model is NULL".to_string()))
}

fn task_options(
    labels: Vec<String>,
    mode: IcAnswerMode,
    species: Option<&str>,
    tissue: Option<&str>,
) -> TaskOptions {
    let mut opts = TaskOptions::default()
        .with_labels(labels)
        .with_mode(mode.into());
    if let Some(s) = species {
        opts = opts.with_metadata("species", s);
    }
    if let Some(t) = tissue {
        opts = opts.with_metadata("tissue", t);
    }
    opts
}

fn predictions(preds: Vec<LabelPrediction>) -> Box<IcPredictions> {
    let labels = preds
        .iter()
        .map(|p| {
            p.label
                .as_ref()
                .map(|l| CString::new(l.replace('\0', " ")).unwrap_or_default())
        })
        .collect();
    Box::new(IcPredictions { preds, labels })
}

/// Copies CSR arrays into a row source and aligns its genes to the model by exact symbol.
///
/// # Safety
/// As `ic_annotate_csr`.
unsafe fn csr_source(
    m: &Model,
    n_cells: usize,
    n_genes: usize,
    indptr: *const u64,
    indices: *const u32,
    data: *const f32,
    gene_names: *const *const c_char,
) -> Result<(RowsSource, GeneAlignment), (IcStatus, String)> {
    let n_ptr = n_cells.checked_add(1).ok_or((
        IcStatus::IcInvalidArgument,
        "n_cells is too large".to_string(),
    ))?;
    let indptr = unsafe { slice_arg(indptr, n_ptr, "indptr")? };
    let nnz = *indptr.last().unwrap_or(&0) as usize;
    let rows = CsrRows {
        indptr: indptr.to_vec(),
        indices: unsafe { slice_arg(indices, nnz, "indices")? }.to_vec(),
        data: unsafe { slice_arg(data, nnz, "data")? }.to_vec(),
        n_cols: n_genes,
    };
    rows.validate().map_err(fail)?;
    let genes = unsafe { strings_arg(gene_names, n_genes, "gene_names")? };
    let alignment =
        GeneAlignment::new(&genes, m.genes(), &AlignOptions::default()).map_err(fail)?;
    Ok((RowsSource::new(rows, genes), alignment))
}

/// Annotates cells given as a CSR matrix of raw counts (`n_cells` rows; `indptr` has
/// `n_cells + 1` entries; `indices`/`data` have `indptr[n_cells]` entries; column `j` is gene
/// `gene_names[j]`, `n_genes` names). Genes are aligned to the model by exact symbol.
/// `labels`: the label set (`n_labels` strings, required for constrained and scored modes).
/// `species`, `tissue`: optional metadata (NULL to omit). On success `*out` receives results to
/// release with `ic_predictions_free`.
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_SHAPE (inconsistent arrays, index out of
/// range), IC_GENES (too few genes in common), IC_BAD_CELL (empty cell, NaN, negative counts),
/// IC_INVALID_ARGUMENT (e.g. no labels), IC_RUNTIME.
///
/// # Safety
/// Pointers are valid for the stated lengths (or NULL where a length is 0); strings are
/// NUL-terminated; `out` is valid for writes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ic_annotate_csr(
    model: *const IcModel,
    n_cells: usize,
    n_genes: usize,
    indptr: *const u64,
    indices: *const u32,
    data: *const f32,
    gene_names: *const *const c_char,
    labels: *const *const c_char,
    n_labels: usize,
    mode: IcAnswerMode,
    species: *const c_char,
    tissue: *const c_char,
    out: *mut *mut IcPredictions,
) -> IcStatus {
    guard(|| {
        let m = unsafe { model_ref(model)? };
        let (source, alignment) =
            unsafe { csr_source(m, n_cells, n_genes, indptr, indices, data, gene_names)? };
        let labels = unsafe { strings_arg(labels, n_labels, "labels")? };
        let species = unsafe { opt_str_arg(species, "species")? };
        let tissue = unsafe { opt_str_arg(tissue, "tissue")? };
        check_out(out, "out")?;
        let preds = tasks::annotate(
            m,
            source,
            &alignment,
            &task_options(labels, mode, species, tissue),
            &mut Control::new(),
        )
        .map_err(fail)?;
        unsafe { put(out, Box::into_raw(predictions(preds)), "out") }
    })
}

/// The dataset at `path`, with the matrix chosen as the pipeline chooses it (counts in X, a
/// counts layer or `raw/X`, else log-normalised values).
fn open_store(path: &str) -> Result<Dataset, (IcStatus, String)> {
    Dataset::open(path, &InputOptions::default()).map_err(fail)
}

/// Annotates every cell of an AnnData store (`.zarr` v2/v3, or `.h5ad` when built with it) at
/// `store_path`. The matrix read is counts in `X`, a counts layer or `raw/X`, else
/// log-normalised values (turned back into counts); a store with none of these fails with
/// IC_STORE naming what each element holds. Other arguments and errors as `ic_annotate_csr`.
///
/// # Safety
/// As `ic_annotate_csr`.
#[no_mangle]
pub unsafe extern "C" fn ic_annotate_store(
    model: *const IcModel,
    store_path: *const c_char,
    labels: *const *const c_char,
    n_labels: usize,
    mode: IcAnswerMode,
    species: *const c_char,
    tissue: *const c_char,
    out: *mut *mut IcPredictions,
) -> IcStatus {
    guard(|| {
        let m = unsafe { model_ref(model)? };
        let path = unsafe { str_arg(store_path, "store_path")? };
        let labels = unsafe { strings_arg(labels, n_labels, "labels")? };
        let species = unsafe { opt_str_arg(species, "species")? };
        let tissue = unsafe { opt_str_arg(tissue, "tissue")? };
        check_out(out, "out")?;
        let mut data = open_store(path)?;
        let req = LabelRequest::new(task_options(labels, mode, species, tissue));
        let preds = pipeline::annotate(m, &mut data, &req, &mut Control::new()).map_err(fail)?;
        unsafe { put(out, Box::into_raw(predictions(preds.predictions)), "out") }
    })
}

/// Predicts the response of every cell of the store at `store_path` to `drug`, with the labels
/// "Sensitive" / "Resistant". Other arguments and errors as `ic_annotate_store`.
///
/// # Safety
/// As `ic_annotate_store`; `drug` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ic_predict_drug_response_store(
    model: *const IcModel,
    store_path: *const c_char,
    drug: *const c_char,
    mode: IcAnswerMode,
    out: *mut *mut IcPredictions,
) -> IcStatus {
    guard(|| {
        let m = unsafe { model_ref(model)? };
        let path = unsafe { str_arg(store_path, "store_path")? };
        let drug = unsafe { str_arg(drug, "drug")? };
        check_out(out, "out")?;
        let mut data = open_store(path)?;
        let req = LabelRequest::new(TaskOptions::default().with_mode(mode.into()));
        let preds =
            pipeline::drug_response(m, &mut data, drug, &req, &mut Control::new()).map_err(fail)?;
        unsafe { put(out, Box::into_raw(predictions(preds.predictions)), "out") }
    })
}

/// Predicts the response to `drug` of cells given as a CSR matrix of raw counts (arrays and
/// gene names as in `ic_annotate_csr`), with the labels "Sensitive" / "Resistant". Errors as
/// `ic_annotate_csr`.
///
/// # Safety
/// As `ic_annotate_csr`; `drug` is a NUL-terminated string.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ic_predict_drug_response_csr(
    model: *const IcModel,
    n_cells: usize,
    n_genes: usize,
    indptr: *const u64,
    indices: *const u32,
    data: *const f32,
    gene_names: *const *const c_char,
    drug: *const c_char,
    mode: IcAnswerMode,
    out: *mut *mut IcPredictions,
) -> IcStatus {
    guard(|| {
        let m = unsafe { model_ref(model)? };
        let (source, alignment) =
            unsafe { csr_source(m, n_cells, n_genes, indptr, indices, data, gene_names)? };
        let drug = unsafe { str_arg(drug, "drug")? };
        check_out(out, "out")?;
        let opts = TaskOptions::default().with_mode(mode.into());
        let preds =
            tasks::predict_drug_response(m, source, &alignment, drug, &opts, &mut Control::new())
                .map_err(fail)?;
        unsafe { put(out, Box::into_raw(predictions(preds)), "out") }
    })
}

/// Number of predictions (0 for NULL).
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_len(p: *const IcPredictions) -> usize {
    unsafe { p.as_ref() }.map_or(0, |p| p.preds.len())
}

/// Label of prediction `i`, or NULL (no label, NULL `p`, or `i` out of range). Owned by `p`.
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_label(p: *const IcPredictions, i: usize) -> *const c_char {
    unsafe { p.as_ref() }
        .and_then(|p| p.labels.get(i))
        .and_then(|l| l.as_ref())
        .map_or(std::ptr::null(), |c| c.as_ptr())
}

/// The precision of the graphs that decided prediction `i`: "fp32", "int8" or "fp16" ("fp32"
/// for a near-tie re-decided by a model from `ic_model_load_tie_checked`), or NULL (NULL `p`
/// or `i` out of range). A static string.
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_precision(
    p: *const IcPredictions,
    i: usize,
) -> *const c_char {
    unsafe { p.as_ref() }
        .and_then(|p| p.preds.get(i))
        .map_or(std::ptr::null(), |x| match x.precision {
            Precision::Int8 => c"int8".as_ptr(),
            Precision::Fp16 => c"fp16".as_ptr(),
            _ => c"fp32".as_ptr(),
        })
}

/// Confidence of prediction `i` (NaN for NULL `p` or `i` out of range).
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_confidence(p: *const IcPredictions, i: usize) -> f32 {
    unsafe { p.as_ref() }
        .and_then(|p| p.preds.get(i))
        .map_or(f32::NAN, |x| x.confidence)
}

/// Source row of prediction `i` (`SIZE_MAX` for NULL `p` or `i` out of range).
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_row(p: *const IcPredictions, i: usize) -> usize {
    unsafe { p.as_ref() }
        .and_then(|p| p.preds.get(i))
        .map_or(usize::MAX, |x| x.row)
}

/// Releases annotation results. NULL is ignored.
///
/// # Safety
/// `p` is NULL or a live result not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_free(p: *mut IcPredictions) {
    // SAFETY: forwarded contract.
    unsafe { free_box(p) }
}

/// Generates `n_cells` cells of `cell_type` (optional `species`, `tissue`) with `seed`. Attempts
/// where the model answers without generating are not rows. On success `*out` receives cells to
/// release with `ic_cells_free`.
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (n_cells 0), IC_RUNTIME.
///
/// # Safety
/// Strings are NULL or NUL-terminated (cell_type required); `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn ic_generate_cells(
    model: *const IcModel,
    cell_type: *const c_char,
    species: *const c_char,
    tissue: *const c_char,
    n_cells: usize,
    seed: u64,
    out: *mut *mut IcCells,
) -> IcStatus {
    guard(|| {
        let m = unsafe { model_ref(model)? };
        let cell_type = unsafe { str_arg(cell_type, "cell_type")? };
        let mut metadata = Metadata::new();
        if let Some(s) = unsafe { opt_str_arg(species, "species")? } {
            metadata.insert("species", s);
        }
        if let Some(t) = unsafe { opt_str_arg(tissue, "tissue")? } {
            metadata.insert("tissue", t);
        }
        check_out(out, "out")?;
        let req = [CellRequest {
            cell_type: cell_type.to_string(),
            metadata,
            n_cells,
        }];
        let opts =
            CellGenerationOptions::default().with_cells(CellOptions::default().with_seed(seed));
        let cells = tasks::generate_cells(m, &req, &opts, &mut Control::new()).map_err(fail)?;
        let cell_types = cells
            .cell_type
            .iter()
            .map(|t| CString::new(t.replace('\0', " ")).unwrap_or_default())
            .collect();
        let boxed = Box::new(IcCells {
            counts: cells.counts,
            cell_types,
        });
        unsafe { put(out, Box::into_raw(boxed), "out") }
    })
}

/// Shape and CSR arrays of generated cells: `*n_rows`, `*n_cols` (the model's genes), and
/// pointers (owned by `cells`, valid until `ic_cells_free`) to `indptr` (`n_rows + 1`),
/// `indices` and `data` (`indptr[n_rows]` each). Any out-pointer may be NULL.
///
/// # Safety
/// `cells` is NULL or live; non-NULL out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn ic_cells_csr(
    cells: *const IcCells,
    n_rows: *mut usize,
    n_cols: *mut usize,
    indptr: *mut *const u64,
    indices: *mut *const u32,
    data: *mut *const f32,
) -> IcStatus {
    guard(|| {
        let c = unsafe { cells.as_ref() }
            .ok_or((IcStatus::IcNullArgument, "cells is NULL".to_string()))?;
        unsafe {
            if !n_rows.is_null() {
                n_rows.write(c.counts.n_rows());
            }
            if !n_cols.is_null() {
                n_cols.write(c.counts.n_cols);
            }
            if !indptr.is_null() {
                indptr.write(c.counts.indptr.as_ptr());
            }
            if !indices.is_null() {
                indices.write(c.counts.indices.as_ptr());
            }
            if !data.is_null() {
                data.write(c.counts.data.as_ptr());
            }
        }
        Ok(())
    })
}

/// Cell type of generated row `i` (NULL when out of range). Owned by `cells`.
///
/// # Safety
/// `cells` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn ic_cells_cell_type(cells: *const IcCells, i: usize) -> *const c_char {
    unsafe { cells.as_ref() }
        .and_then(|c| c.cell_types.get(i))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Releases generated cells. NULL is ignored.
///
/// # Safety
/// `cells` is NULL or live and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ic_cells_free(cells: *mut IcCells) {
    // SAFETY: forwarded contract.
    unsafe { free_box(cells) }
}

/// Runs a free instruction without cells: `prompt` is literal text (braces are not template
/// fields), wrapped by the package's conventions; `*out_text` receives the answer, to release
/// with `ic_string_free`.
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_RUNTIME.
///
/// # Safety
/// `prompt` is a NUL-terminated string; `out_text` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn ic_instruct(
    model: *const IcModel,
    prompt: *const c_char,
    max_new_tokens: u32,
    out_text: *mut *mut c_char,
) -> IcStatus {
    guard(|| {
        let m = unsafe { model_ref(model)? };
        let prompt = unsafe { str_arg(prompt, "prompt")? };
        check_out(out_text, "out_text")?;
        let gen = crate::generation::DecodingOptions::default()
            .with_max_new_tokens(max_new_tokens.max(1) as usize);
        let escaped = prompt.replace('{', "{{").replace('}', "}}");
        let answer = tasks::instruct(
            m,
            &escaped,
            &Metadata::new(),
            None,
            &gen,
            &CellOptions::default(),
        )
        .map_err(fail)?;
        let c = CString::new(answer.text.replace('\0', " ")).unwrap_or_default();
        unsafe { put(out_text, c.into_raw(), "out_text") }
    })
}

/// Releases a string returned by the library. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ic_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: created by CString::into_raw, freed once per the contract.
        drop(unsafe { CString::from_raw(s) });
    }
}
