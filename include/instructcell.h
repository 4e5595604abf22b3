/* instructcell C API. Generated from src/ffi by cbindgen (include/cbindgen.toml); do not edit.
 *
 * Every call returns an IcStatus; on failure ic_last_error() (per thread) says why, and the
 * call's out-pointer is set to NULL. Every pointer argument is checked (IC_NULL_ARGUMENT) and
 * every array validated before use.
 * Flow: IcModelOptions (ic_model_options_*) -> ic_model_load -> IcModel; IcInput from CSR arrays
 * (copied) or a store -> ic_annotate / ic_predict_drug_response -> IcPredictions.
 * Ownership: each handle or string a call returns is released with its *_free function, which
 * accepts NULL; pointers read from a handle stay valid until that handle is freed.
 * Threads: an IcModel and an IcInput may be used from several threads at once; options must
 * not be changed while another thread uses them; a result must not be freed while another
 * thread reads it. Panics never cross this boundary (IC_PANIC). */

#ifndef INSTRUCTCELL_H
#define INSTRUCTCELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 Result of every C API call. `IC_OK` is 0; anything else is an error whose message
 `ic_last_error()` returns.
 */
typedef enum IcStatus {
  /*
   Success.
   */
  IC_OK = 0,
  /*
   A required pointer argument was NULL.
   */
  IC_NULL_ARGUMENT = 1,
  /*
   A string argument was not valid UTF-8.
   */
  IC_INVALID_UTF8 = 2,
  /*
   An argument value is invalid (out of range, empty label set, ...).
   */
  IC_INVALID_ARGUMENT = 3,
  /*
   Array lengths or shapes disagree.
   */
  IC_SHAPE = 4,
  /*
   A file could not be read or written.
   */
  IC_IO = 5,
  /*
   The model package is malformed, incomplete or tampered with.
   */
  IC_PACKAGE = 6,
  /*
   ONNX Runtime is missing, could not start a provider, or failed while running.
   */
  IC_RUNTIME = 7,
  /*
   An AnnData store is malformed or unsupported.
   */
  IC_STORE = 8,
  /*
   The data's genes do not match the model's well enough.
   */
  IC_GENES = 9,
  /*
   A cell's counts are invalid (empty, NaN, negative, ...).
   */
  IC_BAD_CELL = 10,
  /*
   A prompt or template is invalid.
   */
  IC_PROMPT = 11,
  /*
   The operation was cancelled.
   */
  IC_CANCELLED = 12,
  /*
   An internal error (a bug); the library caught it at the boundary.
   */
  IC_PANIC = 13,
  /*
   Any other error.
   */
  IC_OTHER = 14,
} IcStatus;

/*
 Generated cells (opaque): a CSR matrix of counts over the model's genes
 (`ic_model_gene_name`), one row per generated cell.
 */
typedef struct IcCells IcCells;

/*
 Cells to run a task on (opaque): made by `ic_input_from_csr` (the library keeps its own
 copy of the arrays) or `ic_input_from_store` (the store stays open and is read by each
 task), released by `ic_input_free`. One input may serve several tasks, also from several
 threads at once (tasks over a store input take turns reading it).
 */
typedef struct IcInput IcInput;

/*
 A loaded model (opaque). Thread-safe: one handle may be used from several threads at once.
 */
typedef struct IcModel IcModel;

/*
 How to load a model (opaque): precision, threads, execution provider, CPU fallback and the
 fp32 tie margin. Made by `ic_model_options_new` with the defaults (fp32, every available
 CPU, the CPU provider, no fallback, no tie margin), changed by the `ic_model_options_set_*`
 calls, released by `ic_model_options_free`. One options handle may serve several loads; it
 must not be changed while another thread uses it.
 */
typedef struct IcModelOptions IcModelOptions;

/*
 Label-task results (opaque): one prediction per cell, in the input's row order.
 */
typedef struct IcPredictions IcPredictions;

/*
 How an answer is turned into a label: one of `IC_CONSTRAINED`, `IC_SCORED`, `IC_FREE`
 (an integer, so that any other value is an IC_INVALID_ARGUMENT status rather than undefined
 behaviour).
 */
typedef uint32_t IcAnswerMode;

/*
 Decoding restricted to the label set (always a label).
 */
#define IC_CONSTRAINED 0

/*
 Every label scored; the most likely wins (always a label; calibrated probabilities where
 the package has a calibration for the task).
 */
#define IC_SCORED 1

/*
 Free text; the label is looked up in the answer (may be none).
 */
#define IC_FREE 2

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 The message of the last failed call on this thread ("" after a success). The pointer stays
 valid until the next C API call on the same thread; do not free it.
 */
const char *ic_last_error(void);

/*
 New model options with the defaults: fp32, every available CPU, the CPU provider, no
 fallback, no fp32 tie margin. Returns NULL only when out of memory (which aborts in
 practice). Release with `ic_model_options_free`.
 */
struct IcModelOptions *ic_model_options_new(void);

/*
 Releases model options. NULL is ignored.

 # Safety
 `opts` is NULL or a handle from `ic_model_options_new` not yet freed and not in use.
 */
void ic_model_options_free(struct IcModelOptions *opts);

/*
 Sets the precision: "fp32" (default), "fp16", "int8" (the int8 weights this CPU multiplies
 exactly), "int8-signed" / "int8-unsigned" (a forced weight encoding), each optionally with a
 suffix "+ties=M" that sets the fp32 tie margin to M nats as
 `ic_model_options_set_fp32_tie_margin` does (e.g. "int8+ties=0.5"). A precision without
 the suffix leaves the tie margin as it is.
 Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown precision or
 encoding, an encoding on fp32 or fp16, a margin that is not a finite number ≥ 0); the options
 are unchanged after an error.

 # Safety
 `opts` is NULL or a live options handle no other thread uses; `precision` is NULL or a
 NUL-terminated string.
 */
enum IcStatus ic_model_options_set_precision(struct IcModelOptions *opts, const char *precision);

/*
 Sets the number of threads (default 0: every CPU this process may use).
 Errors: IC_NULL_ARGUMENT, IC_INVALID_ARGUMENT (more than 4096).

 # Safety
 `opts` is NULL or a live options handle no other thread uses.
 */
enum IcStatus ic_model_options_set_threads(struct IcModelOptions *opts, uint32_t threads);

/*
 Sets the execution provider: "cpu" (default), "cuda" or "tensorrt" (GPU 0, with the CPU
 behind it for what the GPU provider does not run; needs a library built with the matching
 feature and a GPU build of ONNX Runtime). Whether a provider can start is known only at
 `ic_model_load` (see `ic_model_options_set_allow_fallback`).
 Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (any other name).

 # Safety
 `opts` is NULL or a live options handle no other thread uses; `provider` is NULL or a
 NUL-terminated string.
 */
enum IcStatus ic_model_options_set_provider(struct IcModelOptions *opts, const char *provider);

/*
 Whether a GPU provider that cannot start falls back to the CPU (default false: the load
 fails with IC_RUNTIME). With fallback the model runs on the CPU and a warning goes to stderr.
 Errors: IC_NULL_ARGUMENT.

 # Safety
 `opts` is NULL or a live options handle no other thread uses.
 */
enum IcStatus ic_model_options_set_allow_fallback(struct IcModelOptions *opts, bool allow);

/*
 For an "int8" or "fp16" precision, also loads the package's fp32 graphs and lets them decide
 the near-ties: a greedy answer whose smallest top-1/top-2 logit margin is below `margin`
 nats, and a scored cell whose two best labels lie that close, is answered by the fp32 graphs,
 so answers are the fp32 answers at reduced-precision speed for every clear decision (0.5
 suits the bundled trained package). No effect for "fp32". Default: no margin.
 Errors: IC_NULL_ARGUMENT, IC_INVALID_ARGUMENT (negative or not finite). At load,
 IC_PACKAGE when the package lacks its fp32 graphs.

 # Safety
 `opts` is NULL or a live options handle no other thread uses.
 */
enum IcStatus ic_model_options_set_fp32_tie_margin(struct IcModelOptions *opts, float margin);

/*
 Loads the model package in directory `package_dir` with `opts` (NULL: the defaults of
 `ic_model_options_new`). On success `*out` receives a handle to release with
 `ic_model_free`; on failure `*out` is set to NULL. `opts` may be freed right after.
 Errors: IC_NULL_ARGUMENT (`package_dir` or `out`), IC_INVALID_UTF8, IC_PACKAGE (missing,
 malformed or tampered package; int8 weights the package lacks; fp32 graphs missing for a
 tie margin), IC_RUNTIME (ONNX Runtime missing or failing, a provider that cannot start
 without fallback), IC_INVALID_ARGUMENT (options the package cannot satisfy).

 # Safety
 `package_dir` is NULL or a NUL-terminated string; `opts` is NULL or a live options handle
 not being changed; `out` is NULL or valid for writing a pointer.
 */
enum IcStatus ic_model_load(const char *package_dir,
                            const struct IcModelOptions *opts,
                            struct IcModel **out);

/*
 Releases a model. NULL is ignored.

 # Safety
 `model` is NULL or a handle from `ic_model_load` not yet freed, which no other thread uses.
 */
void ic_model_free(struct IcModel *model);

/*
 Number of genes the model reads (0 for NULL): the columns of generated cells.

 # Safety
 `model` is NULL or a live model handle.
 */
size_t ic_model_num_genes(const struct IcModel *model);

/*
 Symbol of the model's gene `i` (column `i` of generated cells), or NULL (NULL `model`, `i`
 out of range). Owned by `model`.

 # Safety
 `model` is NULL or a live model handle.
 */
const char *ic_model_gene_name(const struct IcModel *model, size_t i);

/*
 Makes an input from a CSR matrix of raw counts: `n_cells` rows over `n_genes` columns with
 `nnz` stored values; `indptr` has `n_cells + 1` entries (0 first, non-decreasing, `nnz`
 last), `indices` and `values` have `nnz` entries each (`indices[k] < n_genes`); column `j`
 is gene `gene_names[j]` (`n_genes` strings), matched to a model's genes by exact symbol when
 a task runs. The arrays are COPIED: they may be freed or changed as soon as the call
 returns. Everything is checked here, before any task: on success `*out` receives an input to
 release with `ic_input_free`; on failure `*out` is set to NULL.
 Errors: IC_NULL_ARGUMENT (`out`, `indptr`, or `indices` / `values` / `gene_names` / a gene
 name where their length is not 0), IC_INVALID_UTF8 (a gene name), IC_INVALID_ARGUMENT
 (lengths too large, misaligned arrays), IC_SHAPE (indptr not starting at 0, decreasing or not
 ending at `nnz`; a column index out of range), IC_BAD_CELL (a NaN, infinite or negative
 value; the message names the cell and column). Cells with no counts, or with fractional
 values, fail later, in the task (IC_BAD_CELL).

 # Safety
 `indptr` is NULL or points to `n_cells + 1` readable values; `indices` and `values` are NULL
 or point to `nnz` readable values each; `gene_names` is NULL or points to `n_genes` pointers,
 each NULL or a NUL-terminated string; none changes during the call; `out` is NULL or valid
 for writing a pointer.
 */
enum IcStatus ic_input_from_csr(size_t n_cells,
                                size_t n_genes,
                                size_t nnz,
                                const uint64_t *indptr,
                                const uint32_t *indices,
                                const float *values,
                                const char *const *gene_names,
                                struct IcInput **out);

/*
 Opens the dataset at `path`: an AnnData store (`.zarr` v2/v3, or `.h5ad` when built with
 it), a MuData store (`.h5mu`, MuData zarr) or a 10x Matrix Market directory. `matrix` (NULL
 or "auto": counts in X, a counts layer or `raw/X`, else log-normalised values turned back
 into counts; or "X", "raw/X", "layers/NAME"), `modality` (MuData; NULL: `rna`, else the only
 one) and `gene_symbols` (the var column with the gene symbols; NULL: the var index) may be
 NULL. The store is opened and its matrix chosen here; tasks read its cells. On success `*out`
 receives an input to release with `ic_input_free`; on failure `*out` is set to NULL.
 Errors: IC_NULL_ARGUMENT (`path`, `out`), IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown
 matrix spelling, a modality for a 10x directory), IC_STORE (nothing at `path`, not a store,
 malformed elements, no usable matrix: the message names what each element holds), IC_SHAPE
 (obs and the matrix disagree), IC_IO.

 # Safety
 `path`, `matrix`, `modality`, `gene_symbols` are NULL or NUL-terminated strings; `out` is
 NULL or valid for writing a pointer.
 */
enum IcStatus ic_input_from_store(const char *path,
                                  const char *matrix,
                                  const char *modality,
                                  const char *gene_symbols,
                                  struct IcInput **out);

/*
 Number of cells of an input (0 for NULL).

 # Safety
 `input` is NULL or a live input.
 */
size_t ic_input_num_cells(const struct IcInput *input);

/*
 Number of genes (matrix columns) of an input (0 for NULL).

 # Safety
 `input` is NULL or a live input.
 */
size_t ic_input_num_genes(const struct IcInput *input);

/*
 Releases an input (closing its store). NULL is ignored.

 # Safety
 `input` is NULL or an input not yet freed, which no other thread uses.
 */
void ic_input_free(struct IcInput *input);

/*
 Library version, a static string.
 */
const char *ic_version(void);

/*
 Annotates the cell type of every cell of `input`. `labels`: the label set (`n_labels`
 strings; required for IC_CONSTRAINED and IC_SCORED, optional for IC_FREE). `mode`: an
 IcAnswerMode. `species`, `tissue`: optional metadata for the prompt (NULL to omit). In
 IC_SCORED mode the package's calibration of the task applies. On success `*out` receives
 results to release with `ic_predictions_free`; on failure `*out` is set to NULL.
 Errors: IC_NULL_ARGUMENT (`model`, `input`, `out`, `labels` or a label where `n_labels` is
 not 0), IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown mode, no labels for a mode that needs
 them), IC_GENES (too few of the input's genes in the model), IC_BAD_CELL (a cell without
 counts, fractional counts), IC_PROMPT (a label or metadata value that holds the package's
 cell placeholder text), IC_STORE / IC_IO (a store input that cannot be read), IC_RUNTIME.

 # Safety
 `model`, `input` are NULL or live handles; `labels` is NULL or points to `n_labels`
 pointers, each NULL or a NUL-terminated string; `species`, `tissue` are NULL or
 NUL-terminated; `out` is NULL or valid for writing a pointer.
 */
enum IcStatus ic_annotate(const struct IcModel *model,
                          const struct IcInput *input,
                          const char *const *labels,
                          size_t n_labels,
                          IcAnswerMode mode,
                          const char *species,
                          const char *tissue,
                          struct IcPredictions **out);

/*
 Predicts the response of every cell of `input` to `drug`, with the labels "Sensitive" /
 "Resistant". `mode`: an IcAnswerMode. Results and errors as `ic_annotate` (IC_NULL_ARGUMENT
 also for `drug`).

 # Safety
 `model`, `input` are NULL or live handles; `drug` is NULL or NUL-terminated; `out` is NULL or
 valid for writing a pointer.
 */
enum IcStatus ic_predict_drug_response(const struct IcModel *model,
                                       const struct IcInput *input,
                                       const char *drug,
                                       IcAnswerMode mode,
                                       struct IcPredictions **out);

/*
 Number of predictions (0 for NULL).

 # Safety
 `p` is NULL or a live result.
 */
size_t ic_predictions_len(const struct IcPredictions *p);

/*
 Label of prediction `i`, or NULL (no label, NULL `p`, or `i` out of range). Owned by `p`.

 # Safety
 `p` is NULL or a live result.
 */
const char *ic_predictions_label(const struct IcPredictions *p, size_t i);

/*
 The precision of the graphs that decided prediction `i`: "fp32", "int8" or "fp16" ("fp32"
 for a near-tie re-decided by a model loaded with an fp32 tie margin), or NULL (NULL `p` or
 `i` out of range). A static string.

 # Safety
 `p` is NULL or a live result.
 */
const char *ic_predictions_precision(const struct IcPredictions *p, size_t i);

/*
 Confidence of prediction `i` (NaN for NULL `p` or `i` out of range).

 # Safety
 `p` is NULL or a live result.
 */
float ic_predictions_confidence(const struct IcPredictions *p, size_t i);

/*
 Input row of prediction `i` (`SIZE_MAX` for NULL `p` or `i` out of range).

 # Safety
 `p` is NULL or a live result.
 */
size_t ic_predictions_row(const struct IcPredictions *p, size_t i);

/*
 Releases label-task results. NULL is ignored.

 # Safety
 `p` is NULL or a result not yet freed, which no other thread reads.
 */
void ic_predictions_free(struct IcPredictions *p);

/*
 Generates `n_cells` cells of `cell_type` (optional `species`, `tissue`: NULL to omit) with
 `seed`. Attempts where the model answers without generating are not rows. On success `*out`
 receives cells to release with `ic_cells_free`; on failure `*out` is set to NULL.
 Errors: IC_NULL_ARGUMENT (`model`, `cell_type`, `out`), IC_INVALID_UTF8,
 IC_INVALID_ARGUMENT (`n_cells` 0), IC_RUNTIME.

 # Safety
 `model` is NULL or a live handle; strings are NULL or NUL-terminated; `out` is NULL or valid
 for writing a pointer.
 */
enum IcStatus ic_generate_cells(const struct IcModel *model,
                                const char *cell_type,
                                const char *species,
                                const char *tissue,
                                size_t n_cells,
                                uint64_t seed,
                                struct IcCells **out);

/*
 Shape and CSR arrays of generated cells: `*n_rows`, `*n_cols` (the model's genes), and
 pointers (owned by `cells`, valid until `ic_cells_free`) to `indptr` (`n_rows + 1`),
 `indices` and `data` (`indptr[n_rows]` each; they can go straight to `ic_input_from_csr`
 with the model's gene names). Any out-pointer may be NULL.
 Errors: IC_NULL_ARGUMENT (`cells`).

 # Safety
 `cells` is NULL or live; non-NULL out-pointers are valid for writes.
 */
enum IcStatus ic_cells_csr(const struct IcCells *cells,
                           size_t *n_rows,
                           size_t *n_cols,
                           const uint64_t **indptr,
                           const uint32_t **indices,
                           const float **data);

/*
 Cell type of generated row `i` (NULL for NULL `cells` or `i` out of range). Owned by
 `cells`.

 # Safety
 `cells` is NULL or live.
 */
const char *ic_cells_cell_type(const struct IcCells *cells, size_t i);

/*
 Releases generated cells. NULL is ignored.

 # Safety
 `cells` is NULL or cells not yet freed, which no other thread reads.
 */
void ic_cells_free(struct IcCells *cells);

/*
 Runs a free instruction without cells: `prompt` is literal text (braces are not template
 fields), wrapped by the package's conventions; at most `max_new_tokens` tokens are generated
 (0 counts as 1). On success `*out` receives the answer, to release with `ic_string_free`; on
 failure `*out` is set to NULL.
 Errors: IC_NULL_ARGUMENT (`model`, `prompt`, `out`), IC_INVALID_UTF8, IC_PROMPT (the prompt
 holds the package's cell placeholder text: there is no cell to put there), IC_RUNTIME.

 # Safety
 `model` is NULL or a live handle; `prompt` is NULL or NUL-terminated; `out` is NULL or valid
 for writing a pointer.
 */
enum IcStatus ic_instruct(const struct IcModel *model,
                          const char *prompt,
                          uint32_t max_new_tokens,
                          char **out);

/*
 Releases a string returned by the library (`ic_instruct`). NULL is ignored.

 # Safety
 `s` is NULL or a string from this library not yet freed.
 */
void ic_string_free(char *s);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* INSTRUCTCELL_H */
