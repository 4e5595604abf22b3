/* Every error status the C API can be made to return, every accessor on NULL and out of range,
 * and every *_free on NULL. IC_CANCELLED, IC_PANIC and IC_OTHER have no input that provokes
 * them (the C API has no cancellation; a panic would be a bug); the program checks at the end
 * that it saw every other status. Built by tests/capi_c.rs, also with AddressSanitizer and
 * UndefinedBehaviorSanitizer.
 * Usage: errors PACKAGE_DIR STORE GENES_FILE TENX_DIR. Exits non-zero on any unexpected
 * result. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instructcell.h"

static int failures = 0;
static int seen[IC_OTHER + 1];

static void expect(const char *what, enum IcStatus got, enum IcStatus want) {
    const char *msg = ic_last_error();
    if (got != want) {
        fprintf(stderr, "FAIL %s: status %d, expected %d (%s)\n", what, (int)got, (int)want, msg);
        failures++;
        return;
    }
    if (want != IC_OK && (msg == NULL || msg[0] == '\0')) {
        fprintf(stderr, "FAIL %s: no error message\n", what);
        failures++;
        return;
    }
    if (want == IC_OK && (msg == NULL || msg[0] != '\0')) {
        fprintf(stderr, "FAIL %s: last error not empty after a success\n", what);
        failures++;
        return;
    }
    if ((int)want >= 0 && want <= IC_OTHER) seen[want] = 1;
    printf("ok %s: %s\n", what, want == IC_OK ? "IC_OK" : msg);
}

static void check(const char *what, int ok) {
    if (!ok) {
        fprintf(stderr, "FAIL %s\n", what);
        failures++;
    } else {
        printf("ok %s\n", what);
    }
}

/* A non-NULL value that must be replaced by NULL when a call fails. */
static int sentinel_target;
#define SENTINEL(type) ((type *)(void *)&sentinel_target)

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s PACKAGE_DIR STORE GENES_FILE TENX_DIR\n", argv[0]);
        return 2;
    }
    const char *package = argv[1];
    const char *store = argv[2];
    const char *genes_file = argv[3];
    const char *tenx = argv[4];
    const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};

    /* Options: every setter on NULL, with NULL and invalid values; the options stay usable. */
    IcModelOptions *opts = ic_model_options_new();
    check("options new", opts != NULL);
    expect("precision NULL options", ic_model_options_set_precision(NULL, "fp32"),
           IC_NULL_ARGUMENT);
    expect("precision NULL", ic_model_options_set_precision(opts, NULL), IC_NULL_ARGUMENT);
    expect("precision invalid UTF-8", ic_model_options_set_precision(opts, bad_utf8),
           IC_INVALID_UTF8);
    expect("precision unknown", ic_model_options_set_precision(opts, "int3"),
           IC_INVALID_ARGUMENT);
    expect("precision fp64", ic_model_options_set_precision(opts, "fp64"), IC_INVALID_ARGUMENT);
    expect("precision encoding on fp32", ic_model_options_set_precision(opts, "fp32-signed"),
           IC_INVALID_ARGUMENT);
    expect("precision margin not a number",
           ic_model_options_set_precision(opts, "int8+ties=wide"), IC_INVALID_ARGUMENT);
    expect("precision negative margin", ic_model_options_set_precision(opts, "int8+ties=-1"),
           IC_INVALID_ARGUMENT);
    expect("precision NaN margin", ic_model_options_set_precision(opts, "int8+ties=nan"),
           IC_INVALID_ARGUMENT);
    expect("precision fp32", ic_model_options_set_precision(opts, "fp32"), IC_OK);
    expect("threads NULL options", ic_model_options_set_threads(NULL, 1), IC_NULL_ARGUMENT);
    expect("threads too many", ic_model_options_set_threads(opts, 100000), IC_INVALID_ARGUMENT);
    expect("threads 0 (all CPUs)", ic_model_options_set_threads(opts, 0), IC_OK);
    expect("threads 1", ic_model_options_set_threads(opts, 1), IC_OK);
    expect("provider NULL options", ic_model_options_set_provider(NULL, "cpu"), IC_NULL_ARGUMENT);
    expect("provider NULL", ic_model_options_set_provider(opts, NULL), IC_NULL_ARGUMENT);
    expect("provider invalid UTF-8", ic_model_options_set_provider(opts, bad_utf8),
           IC_INVALID_UTF8);
    expect("provider unknown", ic_model_options_set_provider(opts, "abacus"),
           IC_INVALID_ARGUMENT);
    expect("provider cpu", ic_model_options_set_provider(opts, "cpu"), IC_OK);
    expect("fallback NULL options", ic_model_options_set_allow_fallback(NULL, true),
           IC_NULL_ARGUMENT);
    expect("fallback off", ic_model_options_set_allow_fallback(opts, false), IC_OK);
    expect("margin NULL options", ic_model_options_set_fp32_tie_margin(NULL, 0.5f),
           IC_NULL_ARGUMENT);
    expect("margin negative", ic_model_options_set_fp32_tie_margin(opts, -1.0f),
           IC_INVALID_ARGUMENT);
    expect("margin NaN", ic_model_options_set_fp32_tie_margin(opts, NAN), IC_INVALID_ARGUMENT);
    expect("margin infinite", ic_model_options_set_fp32_tie_margin(opts, INFINITY),
           IC_INVALID_ARGUMENT);

    /* Loading. */
    IcModel *model = SENTINEL(IcModel);
    expect("load NULL path", ic_model_load(NULL, opts, &model), IC_NULL_ARGUMENT);
    check("out NULL after a failure", model == NULL);
    expect("load NULL out", ic_model_load(package, opts, NULL), IC_NULL_ARGUMENT);
    expect("load invalid UTF-8", ic_model_load(bad_utf8, opts, &model), IC_INVALID_UTF8);
    model = SENTINEL(IcModel);
    expect("load missing package", ic_model_load("/nonexistent/package", opts, &model),
           IC_PACKAGE);
    check("out NULL after a package error", model == NULL);
    /* A package whose manifest cannot be read (it is a directory): an IO error. */
    char unreadable[] = "/tmp/instructcell-errors-XXXXXX";
    char manifest[sizeof unreadable + 32];
    check("temporary directory", mkdtemp(unreadable) != NULL);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", unreadable);
    check("manifest directory", mkdir(manifest, 0700) == 0);
    expect("load unreadable manifest", ic_model_load(unreadable, opts, &model), IC_IO);
    rmdir(manifest);
    rmdir(unreadable);
    /* No GPU here (or no GPU build): the provider cannot start and fallback is not allowed. */
    IcModelOptions *gpu = ic_model_options_new();
    expect("provider cuda", ic_model_options_set_provider(gpu, "cuda"), IC_OK);
    expect("threads 1 (gpu)", ic_model_options_set_threads(gpu, 1), IC_OK);
    expect("load cuda without fallback", ic_model_load(package, gpu, &model), IC_RUNTIME);
    ic_model_options_free(gpu);
    check("no handle after failures", model == NULL);
    IcModel *defaults = NULL;
    expect("load with NULL options (defaults)", ic_model_load(package, NULL, &defaults), IC_OK);
    ic_model_free(defaults);
    expect("load", ic_model_load(package, opts, &model), IC_OK);
    ic_model_options_free(opts);
    check("last error empty after success", ic_last_error()[0] == '\0');
    size_t n_genes = ic_model_num_genes(model);
    check("model genes", n_genes > 0);
    check("num_genes NULL", ic_model_num_genes(NULL) == 0);
    check("gene name", ic_model_gene_name(model, 0) != NULL);
    check("gene name out of range", ic_model_gene_name(model, n_genes) == NULL);
    check("gene name NULL", ic_model_gene_name(NULL, 0) == NULL);

    /* CSR inputs: two cells over three genes the model does not know, then bad arrays. */
    const char *unknown_genes[] = {"NOT_A_GENE_1", "NOT_A_GENE_2", "NOT_A_GENE_3"};
    const char *labels[] = {"CD19+ B", "CD56+ NK"};
    uint64_t indptr[] = {0, 2, 3};
    uint32_t indices[] = {0, 2, 1};
    float data[] = {1.0f, 2.0f, 3.0f};
    IcInput *input = SENTINEL(IcInput);
    expect("csr NULL out", ic_input_from_csr(2, 3, 3, indptr, indices, data, unknown_genes, NULL),
           IC_NULL_ARGUMENT);
    expect("csr NULL indptr", ic_input_from_csr(2, 3, 3, NULL, indices, data, unknown_genes,
                                                &input),
           IC_NULL_ARGUMENT);
    check("csr out NULL after a failure", input == NULL);
    expect("csr NULL indices", ic_input_from_csr(2, 3, 3, indptr, NULL, data, unknown_genes,
                                                 &input),
           IC_NULL_ARGUMENT);
    expect("csr NULL values", ic_input_from_csr(2, 3, 3, indptr, indices, NULL, unknown_genes,
                                                &input),
           IC_NULL_ARGUMENT);
    expect("csr NULL gene names", ic_input_from_csr(2, 3, 3, indptr, indices, data, NULL, &input),
           IC_NULL_ARGUMENT);
    const char *null_gene[] = {"NOT_A_GENE_1", NULL, "NOT_A_GENE_3"};
    expect("csr NULL gene name", ic_input_from_csr(2, 3, 3, indptr, indices, data, null_gene,
                                                   &input),
           IC_NULL_ARGUMENT);
    const char *utf8_gene[] = {"NOT_A_GENE_1", bad_utf8, "NOT_A_GENE_3"};
    expect("csr invalid UTF-8 gene name",
           ic_input_from_csr(2, 3, 3, indptr, indices, data, utf8_gene, &input), IC_INVALID_UTF8);
    expect("csr n_cells overflows", ic_input_from_csr(SIZE_MAX, 3, 3, indptr, indices, data,
                                                      unknown_genes, &input),
           IC_INVALID_ARGUMENT);
    expect("csr nnz too large", ic_input_from_csr(2, 3, SIZE_MAX / 2, indptr, indices, data,
                                                  unknown_genes, &input),
           IC_INVALID_ARGUMENT);
    uint64_t not_zero_first[] = {1, 2, 3};
    expect("csr indptr not starting at 0",
           ic_input_from_csr(2, 3, 3, not_zero_first, indices, data, unknown_genes, &input),
           IC_SHAPE);
    uint64_t decreasing[] = {0, 3, 2};
    expect("csr indptr not monotone",
           ic_input_from_csr(2, 3, 2, decreasing, indices, data, unknown_genes, &input), IC_SHAPE);
    expect("csr indptr not ending at nnz (wrong length)",
           ic_input_from_csr(2, 3, 2, indptr, indices, data, unknown_genes, &input), IC_SHAPE);
    uint64_t beyond[] = {0, 5, 3};
    expect("csr indptr beyond nnz",
           ic_input_from_csr(2, 3, 3, beyond, indices, data, unknown_genes, &input), IC_SHAPE);
    uint32_t bad_indices[] = {0, 7, 1};
    expect("csr index out of range",
           ic_input_from_csr(2, 3, 3, indptr, bad_indices, data, unknown_genes, &input), IC_SHAPE);
    expect("csr index beyond fewer genes",
           ic_input_from_csr(2, 2, 3, indptr, indices, data, unknown_genes, &input), IC_SHAPE);
    float nan_data[] = {1.0f, NAN, 3.0f};
    expect("csr NaN value",
           ic_input_from_csr(2, 3, 3, indptr, indices, nan_data, unknown_genes, &input),
           IC_BAD_CELL);
    float inf_data[] = {1.0f, 2.0f, INFINITY};
    expect("csr infinite value",
           ic_input_from_csr(2, 3, 3, indptr, indices, inf_data, unknown_genes, &input),
           IC_BAD_CELL);
    float neg_data[] = {1.0f, 2.0f, -3.0f};
    expect("csr negative value",
           ic_input_from_csr(2, 3, 3, indptr, indices, neg_data, unknown_genes, &input),
           IC_BAD_CELL);
    check("csr no input after failures", input == NULL);
    uint64_t no_cells[] = {0};
    IcInput *empty = NULL;
    expect("csr no cells", ic_input_from_csr(0, 0, 0, no_cells, NULL, NULL, NULL, &empty), IC_OK);
    check("csr no cells count", ic_input_num_cells(empty) == 0 && ic_input_num_genes(empty) == 0);
    IcPredictions *pred = SENTINEL(IcPredictions);
    expect("annotate no genes at all",
           ic_annotate(model, empty, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred), IC_GENES);
    check("predictions NULL after a failure", pred == NULL);
    ic_input_free(empty);
    expect("csr unknown genes",
           ic_input_from_csr(2, 3, 3, indptr, indices, data, unknown_genes, &input), IC_OK);
    check("csr counts", ic_input_num_cells(input) == 2 && ic_input_num_genes(input) == 3);

    /* Tasks: arguments. */
    expect("annotate NULL model",
           ic_annotate(NULL, input, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred),
           IC_NULL_ARGUMENT);
    expect("annotate NULL input",
           ic_annotate(model, NULL, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred),
           IC_NULL_ARGUMENT);
    expect("annotate NULL out",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, NULL, NULL, NULL),
           IC_NULL_ARGUMENT);
    expect("annotate NULL labels",
           ic_annotate(model, input, NULL, 2, IC_CONSTRAINED, NULL, NULL, &pred),
           IC_NULL_ARGUMENT);
    expect("annotate NULL label",
           ic_annotate(model, input, (const char *const[]){"CD19+ B", NULL}, 2, IC_CONSTRAINED,
                       NULL, NULL, &pred),
           IC_NULL_ARGUMENT);
    expect("annotate unknown mode",
           ic_annotate(model, input, labels, 2, (IcAnswerMode)7, NULL, NULL, &pred),
           IC_INVALID_ARGUMENT);
    expect("annotate invalid UTF-8 species",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, bad_utf8, "blood", &pred),
           IC_INVALID_UTF8);
    expect("annotate invalid UTF-8 tissue",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, "human", bad_utf8, &pred),
           IC_INVALID_UTF8);
    expect("annotate no gene overlap",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred), IC_GENES);
    expect("drug NULL model", ic_predict_drug_response(NULL, input, "cisplatin", IC_SCORED, &pred),
           IC_NULL_ARGUMENT);
    expect("drug NULL input", ic_predict_drug_response(model, NULL, "cisplatin", IC_SCORED, &pred),
           IC_NULL_ARGUMENT);
    expect("drug NULL drug", ic_predict_drug_response(model, input, NULL, IC_SCORED, &pred),
           IC_NULL_ARGUMENT);
    expect("drug NULL out", ic_predict_drug_response(model, input, "cisplatin", IC_SCORED, NULL),
           IC_NULL_ARGUMENT);
    expect("drug invalid UTF-8", ic_predict_drug_response(model, input, bad_utf8, IC_SCORED, &pred),
           IC_INVALID_UTF8);
    expect("drug unknown mode",
           ic_predict_drug_response(model, input, "cisplatin", (IcAnswerMode)3, &pred),
           IC_INVALID_ARGUMENT);
    expect("drug no gene overlap",
           ic_predict_drug_response(model, input, "cisplatin", IC_SCORED, &pred), IC_GENES);
    ic_input_free(input);
    input = NULL;

    /* Store inputs. */
    IcInput *data_input = SENTINEL(IcInput);
    expect("store NULL path", ic_input_from_store(NULL, NULL, NULL, NULL, &data_input),
           IC_NULL_ARGUMENT);
    check("store out NULL after a failure", data_input == NULL);
    expect("store NULL out", ic_input_from_store(store, NULL, NULL, NULL, NULL), IC_NULL_ARGUMENT);
    expect("store invalid UTF-8 path", ic_input_from_store(bad_utf8, NULL, NULL, NULL, &data_input),
           IC_INVALID_UTF8);
    expect("store invalid UTF-8 matrix",
           ic_input_from_store(store, bad_utf8, NULL, NULL, &data_input), IC_INVALID_UTF8);
    expect("store unknown matrix", ic_input_from_store(store, "Y", NULL, NULL, &data_input),
           IC_INVALID_ARGUMENT);
    expect("store empty layer name",
           ic_input_from_store(store, "layers/", NULL, NULL, &data_input), IC_INVALID_ARGUMENT);
    expect("store missing store",
           ic_input_from_store("/nonexistent/store.zarr", NULL, NULL, NULL, &data_input), IC_STORE);
    expect("store not a store (a text file)",
           ic_input_from_store(genes_file, NULL, NULL, NULL, &data_input), IC_STORE);
    expect("store missing layer",
           ic_input_from_store(store, "layers/no_such_layer", NULL, NULL, &data_input), IC_STORE);
    expect("store modality of a 10x directory",
           ic_input_from_store(tenx, NULL, "rna", NULL, &data_input), IC_INVALID_ARGUMENT);
    check("store no input after failures", data_input == NULL);
    IcInput *tenx_input = NULL;
    expect("store 10x directory", ic_input_from_store(tenx, NULL, NULL, NULL, &tenx_input), IC_OK);
    check("10x cells", ic_input_num_cells(tenx_input) > 0);
    ic_input_free(tenx_input);
    IcInput *raw = NULL;
    expect("store X", ic_input_from_store(store, "X", NULL, NULL, &raw), IC_OK);
    ic_input_free(raw);
    expect("store", ic_input_from_store(store, NULL, NULL, NULL, &data_input), IC_OK);
    check("store cells", ic_input_num_cells(data_input) == 178);
    IcPredictions *store_pred = NULL;
    expect("annotate store",
           ic_annotate(model, data_input, labels, 2, IC_SCORED, NULL, NULL, &store_pred), IC_OK);
    check("store predictions", ic_predictions_len(store_pred) == 178);
    ic_predictions_free(store_pred);
    expect("annotate store without labels",
           ic_annotate(model, data_input, NULL, 0, IC_CONSTRAINED, NULL, NULL, &pred),
           IC_INVALID_ARGUMENT);
    expect("drug store NULL drug",
           ic_predict_drug_response(model, data_input, NULL, IC_CONSTRAINED, &pred),
           IC_NULL_ARGUMENT);
    ic_input_free(data_input);

    /* Generation. */
    IcCells *cells = SENTINEL(IcCells);
    expect("generate 0 cells", ic_generate_cells(model, "CD19+ B", NULL, NULL, 0, 1, &cells),
           IC_INVALID_ARGUMENT);
    check("cells NULL after a failure", cells == NULL);
    expect("generate NULL model", ic_generate_cells(NULL, "CD19+ B", NULL, NULL, 2, 1, &cells),
           IC_NULL_ARGUMENT);
    expect("generate NULL cell type", ic_generate_cells(model, NULL, NULL, NULL, 2, 1, &cells),
           IC_NULL_ARGUMENT);
    expect("generate NULL out", ic_generate_cells(model, "CD19+ B", NULL, NULL, 2, 1, NULL),
           IC_NULL_ARGUMENT);
    expect("generate invalid UTF-8 species",
           ic_generate_cells(model, "CD19+ B", bad_utf8, NULL, 2, 1, &cells), IC_INVALID_UTF8);
    expect("generate", ic_generate_cells(model, "CD19+ B", NULL, NULL, 2, 1, &cells), IC_OK);
    size_t rows = 0, cols = 0;
    const uint64_t *gp = NULL;
    const uint32_t *gi = NULL;
    const float *gd = NULL;
    expect("cells csr", ic_cells_csr(cells, &rows, &cols, &gp, &gi, &gd), IC_OK);
    check("cells shape", cols == n_genes && rows <= 2 && gp != NULL && gp[0] == 0);
    expect("cells csr, no out-pointers", ic_cells_csr(cells, NULL, NULL, NULL, NULL, NULL), IC_OK);
    check("cells type out of range", ic_cells_cell_type(cells, rows) == NULL);
    expect("cells csr NULL", ic_cells_csr(NULL, &rows, &cols, &gp, &gi, &gd), IC_NULL_ARGUMENT);
    /* Generated cells, over the model's genes, make a valid input. */
    const char **model_genes = calloc(n_genes, sizeof *model_genes);
    for (size_t j = 0; j < n_genes; j++) model_genes[j] = ic_model_gene_name(model, j);
    IcInput *generated = NULL;
    expect("generated cells as input",
           ic_input_from_csr(rows, cols, gp[rows], gp, gi, gd, model_genes, &generated), IC_OK);
    check("generated input shape",
          ic_input_num_cells(generated) == rows && ic_input_num_genes(generated) == n_genes);
    ic_input_free(generated);
    free(model_genes);
    ic_cells_free(cells);

    /* Cells over the store's genes (GENES_FILE, one symbol per line): task-time bad cells. */
    static char names_buf[1 << 16];
    static const char *names[4096];
    size_t n_names = 0, used = 0;
    FILE *f = fopen(genes_file, "r");
    check("genes file", f != NULL);
    if (f != NULL) {
        while (n_names < 4096 && fgets(names_buf + used, (int)(sizeof names_buf - used), f)) {
            size_t len = strcspn(names_buf + used, "\r\n");
            names_buf[used + len] = '\0';
            names[n_names++] = names_buf + used;
            used += len + 1;
            if (used + 256 > sizeof names_buf) break;
        }
        fclose(f);
    }
    uint64_t *cp = calloc(3, sizeof(uint64_t));
    uint32_t *ci = calloc(n_names, sizeof(uint32_t));
    float *cd = calloc(n_names, sizeof(float));
    for (size_t j = 0; j < n_names; j++) {
        ci[j] = (uint32_t)j;
        cd[j] = (float)(j % 5);
    }
    /* Cell 0 has every gene, cell 1 none (empty). */
    cp[0] = 0;
    cp[1] = n_names;
    cp[2] = n_names;
    expect("csr with an empty cell", ic_input_from_csr(2, n_names, n_names, cp, ci, cd, names,
                                                       &input),
           IC_OK);
    expect("annotate empty cell",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred), IC_BAD_CELL);
    ic_input_free(input);
    input = NULL;
    cd[3] = 1.5f;
    expect("csr with a fractional count",
           ic_input_from_csr(1, n_names, n_names, cp, ci, cd, names, &input), IC_OK);
    expect("annotate fractional count",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred), IC_BAD_CELL);
    ic_input_free(input);
    input = NULL;
    cd[3] = NAN;
    expect("csr NaN count", ic_input_from_csr(1, n_names, n_names, cp, ci, cd, names, &input),
           IC_BAD_CELL);
    cd[3] = -2.0f;
    expect("csr negative count", ic_input_from_csr(1, n_names, n_names, cp, ci, cd, names, &input),
           IC_BAD_CELL);
    cd[3] = 1.0f;
    expect("csr one good cell", ic_input_from_csr(1, n_names, n_names, cp, ci, cd, names, &input),
           IC_OK);
    /* The arrays were copied: changing them now changes nothing. */
    cd[3] = NAN;
    expect("annotate invalid UTF-8 label",
           ic_annotate(model, input, (const char *const[]){"\xc3\x28", "B"}, 2, IC_CONSTRAINED,
                       NULL, NULL, &pred),
           IC_INVALID_UTF8);
    expect("annotate without labels",
           ic_annotate(model, input, NULL, 0, IC_CONSTRAINED, NULL, NULL, &pred),
           IC_INVALID_ARGUMENT);
    /* The cell placeholder of the package's prompt format inside a label. */
    expect("annotate a label with the cell placeholder",
           ic_annotate(model, input, (const char *const[]){"CD19+ B", "<CELL><CELL0></CELL>"}, 2,
                       IC_CONSTRAINED, NULL, NULL, &pred),
           IC_PROMPT);
    expect("annotate one good cell",
           ic_annotate(model, input, labels, 2, IC_CONSTRAINED, NULL, NULL, &pred), IC_OK);
    check("one prediction", ic_predictions_len(pred) == 1);
    check("label in range", ic_predictions_label(pred, 0) != NULL);
    check("label out of range", ic_predictions_label(pred, 1) == NULL);
    check("precision out of range", ic_predictions_precision(pred, 1) == NULL);
    check("confidence out of range", isnan(ic_predictions_confidence(pred, 1)));
    check("row out of range", ic_predictions_row(pred, 1) == SIZE_MAX);
    ic_predictions_free(pred);
    pred = NULL;
    IcPredictions *drug = NULL;
    expect("drug one good cell",
           ic_predict_drug_response(model, input, "cisplatin", IC_FREE, &drug), IC_OK);
    check("one drug prediction", ic_predictions_len(drug) == 1);
    ic_predictions_free(drug);
    ic_input_free(input);
    free(cp);
    free(ci);
    free(cd);

    /* Instructions. */
    char *text = SENTINEL(char);
    expect("instruct NULL prompt", ic_instruct(model, NULL, 8, &text), IC_NULL_ARGUMENT);
    check("text NULL after a failure", text == NULL);
    expect("instruct NULL model", ic_instruct(NULL, "Hi", 8, &text), IC_NULL_ARGUMENT);
    expect("instruct NULL out", ic_instruct(model, "Hi", 8, NULL), IC_NULL_ARGUMENT);
    expect("instruct invalid UTF-8", ic_instruct(model, bad_utf8, 8, &text), IC_INVALID_UTF8);
    expect("instruct with the cell placeholder",
           ic_instruct(model, "Describe <CELL><CELL0></CELL>", 4, &text), IC_PROMPT);
    /* The prompt is literal text: braces are not template fields. */
    expect("instruct with braces", ic_instruct(model, "Describe {input}", 4, &text), IC_OK);
    ic_string_free(text);
    text = NULL;
    expect("instruct", ic_instruct(model, "Name a blood cell.", 8, &text), IC_OK);
    check("instruct text", text != NULL);
    ic_string_free(text);

    /* Accessors on NULL. */
    check("len NULL", ic_predictions_len(NULL) == 0);
    check("label NULL", ic_predictions_label(NULL, 0) == NULL);
    check("precision NULL", ic_predictions_precision(NULL, 0) == NULL);
    check("confidence NULL", isnan(ic_predictions_confidence(NULL, 0)));
    check("row NULL", ic_predictions_row(NULL, 0) == SIZE_MAX);
    check("cell type NULL", ic_cells_cell_type(NULL, 0) == NULL);
    check("input cells NULL", ic_input_num_cells(NULL) == 0);
    check("input genes NULL", ic_input_num_genes(NULL) == 0);
    check("version", ic_version() != NULL && ic_version()[0] != '\0');

    /* Every release function accepts NULL. */
    ic_model_options_free(NULL);
    ic_model_free(NULL);
    ic_input_free(NULL);
    ic_predictions_free(NULL);
    ic_cells_free(NULL);
    ic_string_free(NULL);
    ic_model_free(model);

    /* Every status but the three no input provokes was seen. */
    for (int s = IC_OK; s <= IC_OTHER; s++) {
        int unprovokable = s == IC_CANCELLED || s == IC_PANIC || s == IC_OTHER;
        if (!unprovokable && !seen[s]) {
            fprintf(stderr, "FAIL status %d was never provoked\n", s);
            failures++;
        }
    }
    if (failures) {
        fprintf(stderr, "%d C API error checks failed\n", failures);
        return 1;
    }
    printf("all C API error checks passed\n");
    return 0;
}
