/* Every error status the C API can be made to return (IC_CANCELLED, IC_PANIC and IC_OTHER
 * have no input that provokes them; ic_instruct escapes braces, so IC_PROMPT cannot come
 * from it), every accessor on NULL and out of
 * range, and every *_free on NULL. Built by tests/capi_c.rs, also with AddressSanitizer and
 * UndefinedBehaviorSanitizer. Usage: errors PACKAGE_DIR STORE GENES_FILE. Exits non-zero on the first
 * unexpected result. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instructcell.h"

static int failures = 0;

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

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PACKAGE_DIR STORE GENES_FILE\n", argv[0]);
        return 2;
    }
    const char *package = argv[1];
    const char *store = argv[2];
    const char *genes_file = argv[3];
    IcModel *model = NULL;

    /* Loading. */
    expect("load NULL path", ic_model_load(NULL, NULL, 1, &model), IC_NULL_ARGUMENT);
    expect("load NULL out", ic_model_load(package, NULL, 1, NULL), IC_NULL_ARGUMENT);
    expect("load invalid UTF-8", ic_model_load("\xff\xfe", NULL, 1, &model), IC_INVALID_UTF8);
    expect("load unknown precision", ic_model_load(package, "int3", 1, &model),
           IC_INVALID_ARGUMENT);
    expect("load negative tie margin",
           ic_model_load_tie_checked(package, "int8", 1, -1.0f, &model), IC_INVALID_ARGUMENT);
    expect("load NaN tie margin",
           ic_model_load_tie_checked(package, "int8", 1, NAN, &model), IC_INVALID_ARGUMENT);
    expect("load missing package", ic_model_load("/nonexistent/package", NULL, 1, &model),
           IC_PACKAGE);
    expect("load unknown provider",
           ic_model_load_with_provider(package, NULL, 1, "abacus", false, &model),
           IC_INVALID_ARGUMENT);
    /* No GPU here (or no GPU build): the provider cannot start and fallback is not allowed. */
    expect("load cuda without fallback",
           ic_model_load_with_provider(package, NULL, 1, "cuda", false, &model), IC_RUNTIME);
    check("no handle after failures", model == NULL);
    expect("load", ic_model_load(package, NULL, 1, &model), IC_OK);
    check("last error empty after success", ic_last_error()[0] == '\0');
    size_t n_genes = ic_model_num_genes(model);
    check("model genes", n_genes > 0);
    check("num_genes NULL", ic_model_num_genes(NULL) == 0);

    /* CSR input: two cells over three genes the model does not know, then bad arrays. */
    const char *unknown_genes[] = {"NOT_A_GENE_1", "NOT_A_GENE_2", "NOT_A_GENE_3"};
    const char *labels[] = {"CD19+ B", "CD56+ NK"};
    uint64_t indptr[] = {0, 2, 3};
    uint32_t indices[] = {0, 2, 1};
    float data[] = {1.0f, 2.0f, 3.0f};
    IcPredictions *pred = NULL;
    expect("annotate NULL model",
           ic_annotate_csr(NULL, 2, 3, indptr, indices, data, unknown_genes, labels, 2,
                           IC_CONSTRAINED, NULL, NULL, &pred),
           IC_NULL_ARGUMENT);
    expect("annotate no gene overlap",
           ic_annotate_csr(model, 2, 3, indptr, indices, data, unknown_genes, labels, 2,
                           IC_CONSTRAINED, NULL, NULL, &pred),
           IC_GENES);
    uint64_t bad_indptr[] = {0, 5, 3};
    expect("annotate inconsistent indptr",
           ic_annotate_csr(model, 2, 3, bad_indptr, indices, data, unknown_genes, labels, 2,
                           IC_CONSTRAINED, NULL, NULL, &pred),
           IC_SHAPE);
    uint32_t bad_indices[] = {0, 7, 1};
    expect("annotate index out of range",
           ic_annotate_csr(model, 2, 3, indptr, bad_indices, data, unknown_genes, labels, 2,
                           IC_CONSTRAINED, NULL, NULL, &pred),
           IC_SHAPE);
    /* Cells over the model's own genes (from the store), with NaN, negative and empty cells. */
    IcPredictions *store_pred = NULL;
    expect("annotate store", ic_annotate_store(model, store, labels, 2, IC_SCORED, NULL, NULL,
                                               &store_pred),
           IC_OK);
    check("store predictions", ic_predictions_len(store_pred) == 178);
    ic_predictions_free(store_pred);
    IcCells *cells = NULL;
    expect("generate 0 cells", ic_generate_cells(model, "CD19+ B", NULL, NULL, 0, 1, &cells),
           IC_INVALID_ARGUMENT);
    expect("generate", ic_generate_cells(model, "CD19+ B", NULL, NULL, 2, 1, &cells), IC_OK);
    size_t rows = 0, cols = 0;
    const uint64_t *gp = NULL;
    const uint32_t *gi = NULL;
    const float *gd = NULL;
    expect("cells csr", ic_cells_csr(cells, &rows, &cols, &gp, &gi, &gd), IC_OK);
    check("cells shape", cols == n_genes && rows <= 2);
    check("cells type out of range", ic_cells_cell_type(cells, rows) == NULL);
    expect("cells csr NULL", ic_cells_csr(NULL, &rows, &cols, &gp, &gi, &gd),
           IC_NULL_ARGUMENT);
    ic_cells_free(cells);

    /* Cells over the store's genes (GENES_FILE, one symbol per line): NaN, negative, empty. */
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
    expect("annotate empty cell",
           ic_annotate_csr(model, 2, n_names, cp, ci, cd, names, labels, 2, IC_CONSTRAINED,
                           NULL, NULL, &pred),
           IC_BAD_CELL);
    cd[3] = NAN;
    expect("annotate NaN count",
           ic_annotate_csr(model, 1, n_names, cp, ci, cd, names, labels, 2, IC_CONSTRAINED,
                           NULL, NULL, &pred),
           IC_BAD_CELL);
    cd[3] = -2.0f;
    expect("annotate negative count",
           ic_annotate_csr(model, 1, n_names, cp, ci, cd, names, labels, 2, IC_CONSTRAINED,
                           NULL, NULL, &pred),
           IC_BAD_CELL);
    cd[3] = 1.0f;
    expect("annotate invalid UTF-8 label",
           ic_annotate_csr(model, 1, n_names, cp, ci, cd, names,
                           (const char *const[]){"\xc3\x28", "B"}, 2, IC_CONSTRAINED, NULL,
                           NULL, &pred),
           IC_INVALID_UTF8);
    expect("annotate without labels",
           ic_annotate_csr(model, 1, n_names, cp, ci, cd, names, NULL, 0, IC_CONSTRAINED, NULL,
                           NULL, &pred),
           IC_INVALID_ARGUMENT);
    expect("annotate one good cell",
           ic_annotate_csr(model, 1, n_names, cp, ci, cd, names, labels, 2, IC_CONSTRAINED,
                           NULL, NULL, &pred),
           IC_OK);
    check("one prediction", ic_predictions_len(pred) == 1);
    check("label out of range", ic_predictions_label(pred, 1) == NULL);
    check("precision out of range", ic_predictions_precision(pred, 1) == NULL);
    check("confidence out of range", isnan(ic_predictions_confidence(pred, 1)));
    check("row out of range", ic_predictions_row(pred, 1) == SIZE_MAX);
    ic_predictions_free(pred);
    pred = NULL;
    free(cp);
    free(ci);
    free(cd);
    check("no result after failures", pred == NULL);

    /* Stores. */
    expect("annotate missing store",
           ic_annotate_store(model, "/nonexistent/store.zarr", labels, 2, IC_CONSTRAINED, NULL,
                             NULL, &pred),
           IC_STORE);
    expect("drug NULL drug",
           ic_predict_drug_response_store(model, store, NULL, IC_CONSTRAINED, &pred),
           IC_NULL_ARGUMENT);

    /* Instructions. */
    char *text = NULL;
    /* The prompt is literal text: braces are not template fields. */
    expect("instruct with braces", ic_instruct(model, "Describe {input}", 4, &text), IC_OK);
    ic_string_free(text);
    text = NULL;
    expect("instruct NULL prompt", ic_instruct(model, NULL, 8, &text), IC_NULL_ARGUMENT);
    expect("instruct", ic_instruct(model, "Name a blood cell.", 8, &text), IC_OK);
    check("instruct text", text != NULL);
    ic_string_free(text);

    /* Accessors on NULL and out of range. */
    check("len NULL", ic_predictions_len(NULL) == 0);
    check("label NULL", ic_predictions_label(NULL, 0) == NULL);
    check("precision NULL", ic_predictions_precision(NULL, 0) == NULL);
    check("confidence NULL", isnan(ic_predictions_confidence(NULL, 0)));
    check("row NULL", ic_predictions_row(NULL, 0) == SIZE_MAX);
    check("cell type NULL", ic_cells_cell_type(NULL, 0) == NULL);
    check("version", ic_version() != NULL && ic_version()[0] != '\0');

    /* Every release function accepts NULL. */
    ic_model_free(NULL);
    ic_predictions_free(NULL);
    ic_cells_free(NULL);
    ic_string_free(NULL);
    ic_model_free(model);

    if (failures) {
        fprintf(stderr, "%d C API error checks failed\n", failures);
        return 1;
    }
    printf("all C API error checks passed\n");
    return 0;
}
