/* instructcell C API. Generated from src/ffi by cbindgen (include/cbindgen.toml); do not edit.
 *
 * Every call returns an IcStatus; on failure ic_last_error() (per thread) says why.
 * Ownership: each handle or string a call returns is released with its *_free function;
 * pointers read from a result stay valid until that result is freed.
 * Threads: an IcModel may be used from several threads at once; a result must not be freed
 * while another thread reads it. Panics never cross this boundary (IC_PANIC). */

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
 How an answer is turned into a label.
 */
typedef enum IcAnswerMode {
  /*
   Decoding restricted to the label set (always a label).
   */
  IC_CONSTRAINED = 0,
  /*
   Every label scored; the most likely wins (always a label).
   */
  IC_SCORED = 1,
  /*
   Free text; the label is looked up in the answer (may be none).
   */
  IC_FREE = 2,
} IcAnswerMode;

/*
 Generated cells (opaque): a CSR matrix over the model's genes.
 */
typedef struct IcCells IcCells;

/*
 A loaded model (opaque). Thread-safe: one handle may be used from several threads.
 */
typedef struct IcModel IcModel;

/*
 Annotation results (opaque).
 */
typedef struct IcPredictions IcPredictions;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 The message of the last failed call on this thread ("" after a success). The pointer stays
 valid until the next C API call on the same thread; do not free it.
 */
const char *ic_last_error(void);

/*
 Library version, a static string.
 */
const char *ic_version(void);

/*
 Loads the model package in directory `path` on the CPU.

 `precision`: "fp32", "int8" or "fp16", or NULL for fp32; "int8" loads the int8 weights this
 CPU multiplies exactly, "int8-signed" / "int8-unsigned" force an encoding; a suffix
 "+ties=M" lets the fp32 graphs decide near-ties under M nats (see
 `ic_model_load_tie_checked`), e.g. "int8+ties=0.5". `threads`: 0 for all available
 CPUs. On success `*out` receives a handle to release with `ic_model_free`.
 Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown precision),
 IC_PACKAGE (malformed or tampered package), IC_RUNTIME (ONNX Runtime missing or failing).

 # Safety
 `path` and `precision` are NULL or NUL-terminated strings; `out` is valid for writes.
 */
enum IcStatus ic_model_load(const char *path,
                            const char *precision,
                            uint32_t threads,
                            struct IcModel **out);

/*
 Loads the model package in directory `path` with an execution provider: `provider` is
 "cpu" (or NULL), "cuda" or "tensorrt" (GPU 0; needs a library built with the matching
 feature and a GPU build of ONNX Runtime). If the provider cannot start, the call fails with
 IC_RUNTIME unless `allow_fallback` is true, in which case the model runs on the CPU and a
 warning is printed to stderr. Other arguments and errors as `ic_model_load`.

 # Safety
 As `ic_model_load`.
 */
enum IcStatus ic_model_load_with_provider(const char *path,
                                          const char *precision,
                                          uint32_t threads,
                                          const char *provider,
                                          bool allow_fallback,
                                          struct IcModel **out);

/*
 Loads the model package in directory `path` on the CPU, like `ic_model_load`, and for an
 "int8" or "fp16" `precision` also its fp32 graphs, which decide the near-ties: a greedy
 answer whose smallest top-1/top-2 logit margin is below `fp32_tie_margin` nats, and a scored
 cell whose two best labels lie that close, is answered by the fp32 graphs, so answers are
 the fp32 answers at reduced-precision speed for every clear decision (0.5 suits the bundled
 trained package). No effect for "fp32". Errors as `ic_model_load`; IC_INVALID_ARGUMENT for
 a negative or non-finite margin, IC_PACKAGE when the fp32 graphs are missing or tampered.

 # Safety
 As `ic_model_load`.
 */
enum IcStatus ic_model_load_tie_checked(const char *path,
                                        const char *precision,
                                        uint32_t threads,
                                        float fp32_tie_margin,
                                        struct IcModel **out);

/*
 Releases a model. NULL is ignored.

 # Safety
 `model` is NULL or a handle from `ic_model_load` not yet freed.
 */
void ic_model_free(struct IcModel *model);

/*
 Number of genes the model reads (0 for NULL).

 # Safety
 `model` is NULL or a live handle.
 */
size_t ic_model_num_genes(const struct IcModel *model);

/*
 Annotates cells given as a CSR matrix of raw counts (`n_cells` rows; `indptr` has
 `n_cells + 1` entries; `indices`/`data` have `indptr[n_cells]` entries; column `j` is gene
 `gene_names[j]`, `n_genes` names). Genes are aligned to the model by exact symbol.
 `labels`: the label set (`n_labels` strings, required for constrained and scored modes).
 `species`, `tissue`: optional metadata (NULL to omit). On success `*out` receives results to
 release with `ic_predictions_free`.
 Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_SHAPE (inconsistent arrays, index out of
 range), IC_GENES (too few genes in common), IC_BAD_CELL (empty cell, NaN, negative counts),
 IC_INVALID_ARGUMENT (e.g. no labels), IC_RUNTIME.

 # Safety
 Pointers are valid for the stated lengths (or NULL where a length is 0); strings are
 NUL-terminated; `out` is valid for writes.
 */
enum IcStatus ic_annotate_csr(const struct IcModel *model,
                              size_t n_cells,
                              size_t n_genes,
                              const uint64_t *indptr,
                              const uint32_t *indices,
                              const float *data,
                              const char *const *gene_names,
                              const char *const *labels,
                              size_t n_labels,
                              enum IcAnswerMode mode,
                              const char *species,
                              const char *tissue,
                              struct IcPredictions **out);

/*
 Annotates every cell of an AnnData store (`.zarr` v2/v3, or `.h5ad` when built with it) at
 `store_path`. The matrix read is counts in `X`, a counts layer or `raw/X`, else
 log-normalised values (turned back into counts); a store with none of these fails with
 IC_STORE naming what each element holds. Other arguments and errors as `ic_annotate_csr`.

 # Safety
 As `ic_annotate_csr`.
 */
enum IcStatus ic_annotate_store(const struct IcModel *model,
                                const char *store_path,
                                const char *const *labels,
                                size_t n_labels,
                                enum IcAnswerMode mode,
                                const char *species,
                                const char *tissue,
                                struct IcPredictions **out);

/*
 Predicts the response of every cell of the store at `store_path` to `drug`, with the labels
 "Sensitive" / "Resistant". Other arguments and errors as `ic_annotate_store`.

 # Safety
 As `ic_annotate_store`; `drug` is a NUL-terminated string.
 */
enum IcStatus ic_predict_drug_response_store(const struct IcModel *model,
                                             const char *store_path,
                                             const char *drug,
                                             enum IcAnswerMode mode,
                                             struct IcPredictions **out);

/*
 Predicts the response to `drug` of cells given as a CSR matrix of raw counts (arrays and
 gene names as in `ic_annotate_csr`), with the labels "Sensitive" / "Resistant". Errors as
 `ic_annotate_csr`.

 # Safety
 As `ic_annotate_csr`; `drug` is a NUL-terminated string.
 */
enum IcStatus ic_predict_drug_response_csr(const struct IcModel *model,
                                           size_t n_cells,
                                           size_t n_genes,
                                           const uint64_t *indptr,
                                           const uint32_t *indices,
                                           const float *data,
                                           const char *const *gene_names,
                                           const char *drug,
                                           enum IcAnswerMode mode,
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
 for a near-tie re-decided by a model from `ic_model_load_tie_checked`), or NULL (NULL `p`
 or `i` out of range). A static string.

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
 Source row of prediction `i` (`SIZE_MAX` for NULL `p` or `i` out of range).

 # Safety
 `p` is NULL or a live result.
 */
size_t ic_predictions_row(const struct IcPredictions *p, size_t i);

/*
 Releases annotation results. NULL is ignored.

 # Safety
 `p` is NULL or a live result not yet freed.
 */
void ic_predictions_free(struct IcPredictions *p);

/*
 Generates `n_cells` cells of `cell_type` (optional `species`, `tissue`) with `seed`. Attempts
 where the model answers without generating are not rows. On success `*out` receives cells to
 release with `ic_cells_free`.
 Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (n_cells 0), IC_RUNTIME.

 # Safety
 Strings are NULL or NUL-terminated (cell_type required); `out` is valid for writes.
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
 `indices` and `data` (`indptr[n_rows]` each). Any out-pointer may be NULL.

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
 Cell type of generated row `i` (NULL when out of range). Owned by `cells`.

 # Safety
 `cells` is NULL or live.
 */
const char *ic_cells_cell_type(const struct IcCells *cells, size_t i);

/*
 Releases generated cells. NULL is ignored.

 # Safety
 `cells` is NULL or live and not yet freed.
 */
void ic_cells_free(struct IcCells *cells);

/*
 Runs a free instruction without cells: `prompt` is literal text (braces are not template
 fields), wrapped by the package's conventions; `*out_text` receives the answer, to release
 with `ic_string_free`.
 Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_RUNTIME.

 # Safety
 `prompt` is a NUL-terminated string; `out_text` is valid for writes.
 */
enum IcStatus ic_instruct(const struct IcModel *model,
                          const char *prompt,
                          uint32_t max_new_tokens,
                          char **out_text);

/*
 Releases a string returned by the library. NULL is ignored.

 # Safety
 `s` is NULL or a string from this library not yet freed.
 */
void ic_string_free(char *s);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* INSTRUCTCELL_H */
