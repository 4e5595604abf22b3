//! The task calls and their results: annotation and drug response over an input, cell
//! generation, free instructions.

use super::args::{
    free_box, handle_ref, invalid, opt_handle, opt_str_arg, out_arg, put, str_arg, strings_arg,
    ArgResult,
};
use super::error::{fail, guard, IcStatus};
use super::input::{input_ref, IcInput, LabelTask};
use super::model::{model_ref, IcModel};
use crate::generation::DecodingOptions;
use crate::matrix::CsrRows;
use crate::model::CellOptions;
use crate::package::Precision;
use crate::prompt::Metadata;
use crate::tasks::{
    self, AnswerMode, CellGenerationOptions, CellRequest, Control, LabelPrediction, TaskOptions,
};
use std::ffi::{c_char, CString};

/// How an answer is turned into a label: one of `IC_CONSTRAINED`, `IC_SCORED`, `IC_FREE`
/// (an integer, so that any other value is an IC_INVALID_ARGUMENT status rather than undefined
/// behaviour).
pub type IcAnswerMode = u32;
/// Decoding restricted to the label set (always a label).
pub const IC_CONSTRAINED: IcAnswerMode = 0;
/// Every label scored; the most likely wins (always a label; calibrated probabilities where
/// the package has a calibration for the task).
pub const IC_SCORED: IcAnswerMode = 1;
/// Free text; the label is looked up in the answer (may be none).
pub const IC_FREE: IcAnswerMode = 2;

/// The crate's answer mode for a C value.
fn answer_mode(mode: IcAnswerMode) -> ArgResult<AnswerMode> {
    match mode {
        IC_CONSTRAINED => Ok(AnswerMode::Constrained),
        IC_SCORED => Ok(AnswerMode::Scored),
        IC_FREE => Ok(AnswerMode::Free),
        other => Err(invalid(format!(
            "unknown answer mode {other} (expected IC_CONSTRAINED, IC_SCORED or IC_FREE)"
        ))),
    }
}

/// A C string from text the library made (a NUL inside becomes a space).
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Library version, a static string.
#[no_mangle]
pub extern "C" fn ic_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Label-task results (opaque): one prediction per cell, in the input's row order.
pub struct IcPredictions {
    preds: Vec<LabelPrediction>,
    labels: Vec<Option<CString>>,
}

impl IcPredictions {
    fn new(preds: Vec<LabelPrediction>) -> Box<Self> {
        let labels = preds
            .iter()
            .map(|p| p.label.as_deref().map(c_string))
            .collect();
        Box::new(IcPredictions { preds, labels })
    }
}

/// Runs a label task and hands its results to `out`.
///
/// # Safety
/// `model`, `input` are NULL or live handles; `out` passed `out_arg` in this call and is still
/// valid for writes.
unsafe fn label_task(
    model: *const IcModel,
    input: *const IcInput,
    task: LabelTask<'_>,
    opts: TaskOptions,
    out: *mut *mut IcPredictions,
) -> ArgResult<()> {
    // SAFETY: `model` is NULL or live (this function's contract).
    let m = unsafe { model_ref(model)? };
    // SAFETY: `input` is NULL or live (this function's contract).
    let input = unsafe { input_ref(input)? };
    let preds = input.run(m, task, opts).map_err(fail)?;
    // SAFETY: the callers checked `out` with `out_arg` in this call; it stays writable.
    unsafe { put(out, IcPredictions::new(preds)) };
    Ok(())
}

/// Annotates the cell type of every cell of `input`. `labels`: the label set (`n_labels`
/// strings; required for IC_CONSTRAINED and IC_SCORED, optional for IC_FREE). `mode`: an
/// IcAnswerMode. `species`, `tissue`: optional metadata for the prompt (NULL to omit). In
/// IC_SCORED mode the package's calibration of the task applies. On success `*out` receives
/// results to release with `ic_predictions_free`; on failure `*out` is set to NULL.
/// Errors: IC_NULL_ARGUMENT (`model`, `input`, `out`, `labels` or a label where `n_labels` is
/// not 0), IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown mode, no labels for a mode that needs
/// them), IC_GENES (too few of the input's genes in the model), IC_BAD_CELL (a cell without
/// counts, fractional counts), IC_PROMPT (a label or metadata value that holds the package's
/// cell placeholder text), IC_STORE / IC_IO (a store input that cannot be read), IC_RUNTIME.
///
/// # Safety
/// `model`, `input` are NULL or live handles; `labels` is NULL or points to `n_labels`
/// pointers, each NULL or a NUL-terminated string; `species`, `tissue` are NULL or
/// NUL-terminated; `out` is NULL or valid for writing a pointer.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ic_annotate(
    model: *const IcModel,
    input: *const IcInput,
    labels: *const *const c_char,
    n_labels: usize,
    mode: IcAnswerMode,
    species: *const c_char,
    tissue: *const c_char,
    out: *mut *mut IcPredictions,
) -> IcStatus {
    guard(|| {
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        // SAFETY: `labels` is NULL or `n_labels` string pointers (this function's contract).
        let labels = unsafe { strings_arg(labels, n_labels, "labels")? };
        let mut opts = TaskOptions::default()
            .with_labels(labels)
            .with_mode(answer_mode(mode)?);
        // SAFETY: `species` is NULL or NUL-terminated (this function's contract).
        if let Some(s) = unsafe { opt_str_arg(species, "species")? } {
            opts = opts.with_metadata("species", s);
        }
        // SAFETY: `tissue` is NULL or NUL-terminated (this function's contract).
        if let Some(t) = unsafe { opt_str_arg(tissue, "tissue")? } {
            opts = opts.with_metadata("tissue", t);
        }
        // SAFETY: `model`, `input` are NULL or live and `out` passed `out_arg` (above, and this
        // function's contract).
        unsafe { label_task(model, input, LabelTask::Annotate, opts, out) }
    })
}

/// Predicts the response of every cell of `input` to `drug`, with the labels "Sensitive" /
/// "Resistant". `mode`: an IcAnswerMode. Results and errors as `ic_annotate` (IC_NULL_ARGUMENT
/// also for `drug`).
///
/// # Safety
/// `model`, `input` are NULL or live handles; `drug` is NULL or NUL-terminated; `out` is NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn ic_predict_drug_response(
    model: *const IcModel,
    input: *const IcInput,
    drug: *const c_char,
    mode: IcAnswerMode,
    out: *mut *mut IcPredictions,
) -> IcStatus {
    guard(|| {
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        // SAFETY: `drug` is NULL or NUL-terminated (this function's contract).
        let drug = unsafe { str_arg(drug, "drug")? };
        let opts = TaskOptions::default().with_mode(answer_mode(mode)?);
        // SAFETY: `model`, `input` are NULL or live and `out` passed `out_arg` (above, and this
        // function's contract).
        unsafe { label_task(model, input, LabelTask::DrugResponse(drug), opts, out) }
    })
}

/// Number of predictions (0 for NULL).
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_len(p: *const IcPredictions) -> usize {
    // SAFETY: `p` is NULL or live (this function's contract).
    unsafe { opt_handle(p) }.map_or(0, |p| p.preds.len())
}

/// Label of prediction `i`, or NULL (no label, NULL `p`, or `i` out of range). Owned by `p`.
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_label(p: *const IcPredictions, i: usize) -> *const c_char {
    // SAFETY: `p` is NULL or live (this function's contract).
    unsafe { opt_handle(p) }
        .and_then(|p| p.labels.get(i))
        .and_then(|l| l.as_ref())
        .map_or(std::ptr::null(), |c| c.as_ptr())
}

/// The precision of the graphs that decided prediction `i`: "fp32", "int8" or "fp16" ("fp32"
/// for a near-tie re-decided by a model loaded with an fp32 tie margin), or NULL (NULL `p` or
/// `i` out of range). A static string.
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_precision(
    p: *const IcPredictions,
    i: usize,
) -> *const c_char {
    // SAFETY: `p` is NULL or live (this function's contract).
    unsafe { opt_handle(p) }
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
    // SAFETY: `p` is NULL or live (this function's contract).
    unsafe { opt_handle(p) }
        .and_then(|p| p.preds.get(i))
        .map_or(f32::NAN, |x| x.confidence)
}

/// Input row of prediction `i` (`SIZE_MAX` for NULL `p` or `i` out of range).
///
/// # Safety
/// `p` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_row(p: *const IcPredictions, i: usize) -> usize {
    // SAFETY: `p` is NULL or live (this function's contract).
    unsafe { opt_handle(p) }
        .and_then(|p| p.preds.get(i))
        .map_or(usize::MAX, |x| x.row)
}

/// Releases label-task results. NULL is ignored.
///
/// # Safety
/// `p` is NULL or a result not yet freed, which no other thread reads.
#[no_mangle]
pub unsafe extern "C" fn ic_predictions_free(p: *mut IcPredictions) {
    // SAFETY: this function's contract is the one `free_box` requires.
    unsafe { free_box(p) }
}

/// Generated cells (opaque): a CSR matrix of counts over the model's genes
/// (`ic_model_gene_name`), one row per generated cell.
pub struct IcCells {
    counts: CsrRows,
    cell_types: Vec<CString>,
}

/// Generates `n_cells` cells of `cell_type` (optional `species`, `tissue`: NULL to omit) with
/// `seed`. Attempts where the model answers without generating are not rows. On success `*out`
/// receives cells to release with `ic_cells_free`; on failure `*out` is set to NULL.
/// Errors: IC_NULL_ARGUMENT (`model`, `cell_type`, `out`), IC_INVALID_UTF8,
/// IC_INVALID_ARGUMENT (`n_cells` 0), IC_RUNTIME.
///
/// # Safety
/// `model` is NULL or a live handle; strings are NULL or NUL-terminated; `out` is NULL or valid
/// for writing a pointer.
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
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        // SAFETY: `model` is NULL or live (this function's contract).
        let m = unsafe { model_ref(model)? };
        // SAFETY: `cell_type` is NULL or NUL-terminated (this function's contract).
        let cell_type = unsafe { str_arg(cell_type, "cell_type")? };
        let mut metadata = Metadata::new();
        // SAFETY: `species` is NULL or NUL-terminated (this function's contract).
        if let Some(s) = unsafe { opt_str_arg(species, "species")? } {
            metadata.insert("species", s);
        }
        // SAFETY: `tissue` is NULL or NUL-terminated (this function's contract).
        if let Some(t) = unsafe { opt_str_arg(tissue, "tissue")? } {
            metadata.insert("tissue", t);
        }
        let req = [CellRequest {
            cell_type: cell_type.to_string(),
            metadata,
            n_cells,
        }];
        let opts =
            CellGenerationOptions::default().with_cells(CellOptions::default().with_seed(seed));
        let cells = tasks::generate_cells(m, &req, &opts, &mut Control::new()).map_err(fail)?;
        let cell_types = cells.cell_type.iter().map(|t| c_string(t)).collect();
        let boxed = Box::new(IcCells {
            counts: cells.counts,
            cell_types,
        });
        // SAFETY: `out` passed `out_arg` above and stays writable (this function's contract).
        unsafe { put(out, boxed) };
        Ok(())
    })
}

/// Writes `value` through an optional out-pointer (NULL: nothing).
///
/// # Safety
/// `p` is NULL or valid for writing a `T`.
unsafe fn put_opt<T>(p: *mut T, value: T) -> ArgResult<()> {
    if p.is_null() {
        return Ok(());
    }
    if !p.is_aligned() {
        return Err(invalid("an out-pointer is not aligned"));
    }
    // SAFETY: `p` is non-NULL and aligned (checked above) and writable (this function's
    // contract); `write` neither reads nor drops the old value.
    unsafe { p.write(value) };
    Ok(())
}

/// Shape and CSR arrays of generated cells: `*n_rows`, `*n_cols` (the model's genes), and
/// pointers (owned by `cells`, valid until `ic_cells_free`) to `indptr` (`n_rows + 1`),
/// `indices` and `data` (`indptr[n_rows]` each; they can go straight to `ic_input_from_csr`
/// with the model's gene names). Any out-pointer may be NULL.
/// Errors: IC_NULL_ARGUMENT (`cells`).
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
        // SAFETY: `cells` is NULL or live (this function's contract).
        let c = unsafe { handle_ref(cells, "cells")? };
        // SAFETY: every out-pointer is NULL or writable (this function's contract), which is
        // what `put_opt` requires.
        unsafe {
            put_opt(n_rows, c.counts.n_rows())?;
            put_opt(n_cols, c.counts.n_cols)?;
            put_opt(indptr, c.counts.indptr.as_ptr())?;
            put_opt(indices, c.counts.indices.as_ptr())?;
            put_opt(data, c.counts.data.as_ptr())?;
        }
        Ok(())
    })
}

/// Cell type of generated row `i` (NULL for NULL `cells` or `i` out of range). Owned by
/// `cells`.
///
/// # Safety
/// `cells` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn ic_cells_cell_type(cells: *const IcCells, i: usize) -> *const c_char {
    // SAFETY: `cells` is NULL or live (this function's contract).
    unsafe { opt_handle(cells) }
        .and_then(|c| c.cell_types.get(i))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Releases generated cells. NULL is ignored.
///
/// # Safety
/// `cells` is NULL or cells not yet freed, which no other thread reads.
#[no_mangle]
pub unsafe extern "C" fn ic_cells_free(cells: *mut IcCells) {
    // SAFETY: this function's contract is the one `free_box` requires.
    unsafe { free_box(cells) }
}

/// Runs a free instruction without cells: `prompt` is literal text (braces are not template
/// fields), wrapped by the package's conventions; at most `max_new_tokens` tokens are generated
/// (0 counts as 1). On success `*out` receives the answer, to release with `ic_string_free`; on
/// failure `*out` is set to NULL.
/// Errors: IC_NULL_ARGUMENT (`model`, `prompt`, `out`), IC_INVALID_UTF8, IC_PROMPT (the prompt
/// holds the package's cell placeholder text: there is no cell to put there), IC_RUNTIME.
///
/// # Safety
/// `model` is NULL or a live handle; `prompt` is NULL or NUL-terminated; `out` is NULL or valid
/// for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn ic_instruct(
    model: *const IcModel,
    prompt: *const c_char,
    max_new_tokens: u32,
    out: *mut *mut c_char,
) -> IcStatus {
    guard(|| {
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        // SAFETY: `model` is NULL or live (this function's contract).
        let m = unsafe { model_ref(model)? };
        // SAFETY: `prompt` is NULL or NUL-terminated (this function's contract).
        let prompt = unsafe { str_arg(prompt, "prompt")? };
        let gen = DecodingOptions::default().with_max_new_tokens(max_new_tokens.max(1) as usize);
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
        let text = c_string(&answer.text).into_raw();
        // SAFETY: `out` passed `out_arg` above and stays writable (this function's contract);
        // the string's ownership passes to the caller (released by `ic_string_free`).
        unsafe { out.write(text) };
        Ok(())
    })
}

/// Releases a string returned by the library (`ic_instruct`). NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ic_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: a non-NULL `s` came from `CString::into_raw` in `ic_instruct` and is freed
        // once, per this function's contract.
        drop(unsafe { CString::from_raw(s) });
    }
}
