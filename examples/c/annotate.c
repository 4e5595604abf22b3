/* Annotate the bundled held-out PBMCs from C (from the store, and from CSR arrays), predict
 * drug response, generate cells and run an instruction, checking every status.
 * Usage: annotate PACKAGE_DIR STORE_PATH
 * Build: cc examples/c/annotate.c -Iinclude -Ltarget/release -linstructcell -lm -o annotate */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instructcell.h"

static int failures = 0;

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "FAILED: %s (last error: %s)\n", what, ic_last_error());
        failures++;
    }
}

/* Loads PACKAGE with a precision spec ("fp32", "int8", "int8+ties=0.5", ...) and threads. */
static IcStatus load(const char *package, const char *precision, uint32_t threads,
                     IcModel **out) {
    IcModelOptions *opts = ic_model_options_new();
    IcStatus st = opts ? IC_OK : IC_OTHER;
    if (st == IC_OK) st = ic_model_options_set_precision(opts, precision);
    if (st == IC_OK) st = ic_model_options_set_threads(opts, threads);
    if (st == IC_OK) st = ic_model_load(package, opts, out);
    ic_model_options_free(opts);
    return st;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PACKAGE_DIR STORE_PATH\n", argv[0]);
        return 2;
    }
    printf("instructcell %s\n", ic_version());

    /* One options handle, one load. */
    IcModelOptions *opts = ic_model_options_new();
    expect(opts != NULL, "new options");
    expect(ic_model_options_set_threads(opts, 2) == IC_OK, "2 threads");
    IcModel *model = NULL;
    IcStatus st = ic_model_load(argv[1], opts, &model);
    ic_model_options_free(opts);
    if (st != IC_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], ic_last_error());
        return 1;
    }
    printf("model reads %zu genes\n", ic_model_num_genes(model));

    const char *labels[] = {"CD14+ Monocyte", "CD19+ B", "CD34+", "CD4+/CD25 T Reg",
                            "CD4+/CD45RA+/CD25- Naive T", "CD4+/CD45RO+ Memory", "CD56+ NK",
                            "CD8+ Cytotoxic T", "CD8+/CD45RA+ Naive Cytotoxic", "Dendritic"};
    size_t n_labels = sizeof labels / sizeof labels[0];

    /* An input from the store (matrix chosen automatically), then one call per task. */
    IcInput *store = NULL;
    st = ic_input_from_store(argv[2], NULL, NULL, NULL, &store);
    expect(st == IC_OK, "open the store");
    printf("store has %zu cells over %zu genes\n", ic_input_num_cells(store),
           ic_input_num_genes(store));
    IcPredictions *preds = NULL;
    st = ic_annotate(model, store, labels, n_labels, IC_CONSTRAINED, "human", "peripheral blood",
                     &preds);
    expect(st == IC_OK, "annotate the store");
    size_t n = ic_predictions_len(preds);
    printf("annotated %zu cells\n", n);
    expect(n > 0 && n == ic_input_num_cells(store), "a prediction per cell");
    for (size_t i = 0; i < n; i++) {
        const char *label = ic_predictions_label(preds, i);
        int known = 0;
        for (size_t j = 0; label && j < n_labels; j++) known |= strcmp(label, labels[j]) == 0;
        expect(known, "every label comes from the set");
        if (i < 3) printf("  cell %zu: %s (%.3f)\n", ic_predictions_row(preds, i), label,
                          ic_predictions_confidence(preds, i));
    }
    expect(ic_predictions_label(preds, n) == NULL, "out-of-range label is NULL");
    expect(isnan(ic_predictions_confidence(preds, n)), "out-of-range confidence is NaN");

    /* int8 speed with fp32 answers: near-ties (margins under 0.5 nats) go to the fp32 graphs. */
    IcModelOptions *int8 = ic_model_options_new();
    expect(ic_model_options_set_precision(int8, "int8") == IC_OK, "int8 precision");
    expect(ic_model_options_set_threads(int8, 2) == IC_OK, "int8 threads");
    expect(ic_model_options_set_fp32_tie_margin(int8, 0.5f) == IC_OK, "tie margin 0.5");
    expect(ic_model_options_set_fp32_tie_margin(int8, -1.0f) == IC_INVALID_ARGUMENT,
           "negative tie margin");
    IcModel *checked = NULL;
    expect(ic_model_load(argv[1], int8, &checked) == IC_OK, "int8 with fp32 near-ties");
    ic_model_options_free(int8);
    IcPredictions *checked_preds = NULL;
    st = ic_annotate(checked, store, labels, n_labels, IC_CONSTRAINED, "human", "peripheral blood",
                     &checked_preds);
    expect(st == IC_OK && ic_predictions_len(checked_preds) == n, "annotate with int8 + fp32 ties");
    size_t same = 0, by_fp32 = 0;
    for (size_t i = 0; st == IC_OK && i < n; i++) {
        const char *a = ic_predictions_label(preds, i), *b = ic_predictions_label(checked_preds, i);
        same += a && b && strcmp(a, b) == 0;
        const char *decided = ic_predictions_precision(checked_preds, i);
        expect(decided && (!strcmp(decided, "int8") || !strcmp(decided, "fp32")), "deciding precision");
        by_fp32 += decided && !strcmp(decided, "fp32");
        expect(!strcmp(ic_predictions_precision(preds, i), "fp32"), "an fp32 model decides in fp32");
    }
    expect(ic_predictions_precision(checked_preds, n) == NULL, "out-of-range precision is NULL");
    printf("int8 with fp32 near-ties gives the fp32 label for %zu/%zu cells (%zu decided in fp32)\n",
           same, n, by_fp32);
    expect(same == n, "int8 with fp32 near-ties gives the fp32 labels");
    ic_predictions_free(checked_preds);
    ic_model_free(checked);
    /* The same margin spelled in the precision. */
    IcModel *spelled = NULL;
    expect(load(argv[1], "int8+ties=0.5", 1, &spelled) == IC_OK, "int8+ties=0.5");
    ic_model_free(spelled);
    spelled = NULL;
    expect(load(argv[1], "int8+ties=wide", 1, &spelled) == IC_INVALID_ARGUMENT && spelled == NULL,
           "a tie margin that is not a number");
    expect(load(argv[1], "int8+ties=-1", 1, &spelled) == IC_INVALID_ARGUMENT && spelled == NULL,
           "a negative tie margin in the precision");
    ic_predictions_free(preds);

    /* An input from CSR arrays (copied by the library): three cells over the model's genes. */
    size_t n_model_genes = ic_model_num_genes(model);
    const char **gene_names = calloc(n_model_genes, sizeof *gene_names);
    uint64_t indptr[4] = {0};
    uint32_t *indices = calloc(3 * n_model_genes, sizeof *indices);
    float *values = calloc(3 * n_model_genes, sizeof *values);
    size_t nnz = 0;
    for (size_t j = 0; j < n_model_genes; j++) gene_names[j] = ic_model_gene_name(model, j);
    for (size_t c = 0; c < 3; c++) {
        for (size_t j = 0; j < n_model_genes; j++) {
            if ((j + c) % 3 != 0) continue;
            indices[nnz] = (uint32_t)j;
            values[nnz] = (float)(1 + (j * (c + 1)) % 7);
            nnz++;
        }
        indptr[c + 1] = nnz;
    }
    IcInput *csr = NULL;
    st = ic_input_from_csr(3, n_model_genes, nnz, indptr, indices, values, gene_names, &csr);
    expect(st == IC_OK, "CSR input");
    free(gene_names);
    free(indices);
    free(values);
    IcPredictions *csr_preds = NULL;
    st = ic_annotate(model, csr, labels, n_labels, IC_SCORED, NULL, NULL, &csr_preds);
    expect(st == IC_OK && ic_predictions_len(csr_preds) == 3, "annotate CSR cells (scored)");
    for (size_t i = 0; i < ic_predictions_len(csr_preds); i++)
        printf("  CSR cell %zu: %s (%.3f)\n", ic_predictions_row(csr_preds, i),
               ic_predictions_label(csr_preds, i), ic_predictions_confidence(csr_preds, i));
    ic_predictions_free(csr_preds);

    /* Errors are statuses with a message, never crashes. */
    IcInput *none_input = NULL;
    st = ic_input_from_store("/nonexistent/store.zarr", NULL, NULL, NULL, &none_input);
    expect(st == IC_STORE && strlen(ic_last_error()) > 0 && none_input == NULL, "missing store");
    IcPredictions *none = NULL;
    st = ic_annotate(NULL, store, labels, n_labels, IC_SCORED, NULL, NULL, &none);
    expect(st == IC_NULL_ARGUMENT, "NULL model");
    st = ic_annotate(model, store, labels, 0, IC_CONSTRAINED, NULL, NULL, &none);
    expect(st == IC_INVALID_ARGUMENT, "empty label set");
    const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};
    st = ic_input_from_store(bad_utf8, NULL, NULL, NULL, &none_input);
    expect(st == IC_INVALID_UTF8, "invalid UTF-8 path");
    uint64_t bad_indptr[] = {0, 2, 1};
    uint32_t few_indices[] = {0, 1};
    float few_values[] = {1.0f, 2.0f};
    const char *genes[] = {"A", "B"};
    st = ic_input_from_csr(2, 2, 2, bad_indptr, few_indices, few_values, genes, &none_input);
    expect(st == IC_SHAPE && none_input == NULL, "decreasing indptr");
    uint64_t indptr_ok[] = {0, 1, 2};
    IcInput *unknown = NULL;
    st = ic_input_from_csr(2, 2, 2, indptr_ok, few_indices, few_values, genes, &unknown);
    expect(st == IC_OK, "CSR over genes the model lacks");
    st = ic_annotate(model, unknown, labels, n_labels, IC_CONSTRAINED, NULL, NULL, &none);
    expect(st == IC_GENES, "no genes in common");
    st = ic_predict_drug_response(model, unknown, "cisplatin", IC_SCORED, &none);
    expect(st == IC_GENES, "drug response over CSR with no genes in common");
    ic_input_free(unknown);
    IcModel *broken = NULL;
    expect(load("/nonexistent/package", "fp32", 1, &broken) == IC_PACKAGE, "missing package");
    expect(load(argv[1], "fp64", 1, &broken) == IC_INVALID_ARGUMENT, "bad precision");
    expect(load(argv[1], "fp32-signed", 1, &broken) == IC_INVALID_ARGUMENT,
           "weight encoding on fp32");
    IcModel *unsigned_int8 = NULL;
    expect(load(argv[1], "int8-unsigned", 1, &unsigned_int8) == IC_OK,
           "int8 with unsigned weights");
    ic_model_free(unsigned_int8);

    IcPredictions *drug = NULL;
    st = ic_predict_drug_response(model, store, "cisplatin", IC_SCORED, &drug);
    expect(st == IC_OK, "drug response");
    for (size_t i = 0; i < ic_predictions_len(drug); i++) {
        const char *l = ic_predictions_label(drug, i);
        expect(l && (!strcmp(l, "Sensitive") || !strcmp(l, "Resistant")), "drug labels");
    }
    printf("drug response (synthetic labels) for %zu cells\n", ic_predictions_len(drug));
    ic_predictions_free(drug);

    /* Execution providers. */
    IcModelOptions *gpu = ic_model_options_new();
    expect(ic_model_options_set_provider(gpu, "quantum") == IC_INVALID_ARGUMENT,
           "unknown provider");
    expect(ic_model_options_set_provider(gpu, "cuda") == IC_OK, "cuda provider");
    expect(ic_model_options_set_threads(gpu, 1) == IC_OK, "1 thread");
    st = ic_model_load(argv[1], gpu, &broken);
    expect(st == IC_RUNTIME || st == IC_OK, "CUDA is an error unless present");
    ic_model_free(broken);
    broken = NULL;
    expect(ic_model_options_set_allow_fallback(gpu, true) == IC_OK, "allow fallback");
    expect(ic_model_load(argv[1], gpu, &broken) == IC_OK, "CUDA or a fallback to the CPU");
    ic_model_free(broken);
    ic_model_options_free(gpu);

    IcCells *cells = NULL;
    st = ic_generate_cells(model, "CD14+ Monocyte", "human", "peripheral blood", 2, 7, &cells);
    expect(st == IC_OK, "generate cells");
    size_t rows = 0, cols = 0;
    const uint64_t *ip = NULL;
    const uint32_t *ix = NULL;
    const float *dx = NULL;
    expect(ic_cells_csr(cells, &rows, &cols, &ip, &ix, &dx) == IC_OK, "read generated cells");
    expect(cols == ic_model_num_genes(model) && ip != NULL && ip[0] == 0, "CSR shape");
    printf("generated %zu cells over %zu genes\n", rows, cols);
    ic_cells_free(cells);

    char *text = NULL;
    expect(ic_instruct(model, "What do monocytes do?", 16, &text) == IC_OK, "instruction");
    printf("instruction answer: %s\n", text ? text : "(none)");
    ic_string_free(text);

    ic_input_free(csr);
    ic_input_free(store);
    ic_model_free(model);
    ic_model_free(NULL);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all C API checks passed\n");
    return 0;
}
