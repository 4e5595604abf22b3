/* Annotate the bundled held-out PBMCs from C, generate cells and run an instruction, checking
 * every status. Usage: annotate PACKAGE_DIR STORE_PATH
 * Build: cc examples/c/annotate.c -Iinclude -Ltarget/release -linstructcell -o annotate */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "instructcell.h"

static int failures = 0;

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "FAILED: %s (last error: %s)\n", what, ic_last_error());
        failures++;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PACKAGE_DIR STORE_PATH\n", argv[0]);
        return 2;
    }
    printf("instructcell %s\n", ic_version());

    IcModel *model = NULL;
    IcStatus st = ic_model_load(argv[1], NULL, 2, &model);
    if (st != IC_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], ic_last_error());
        return 1;
    }
    printf("model reads %zu genes\n", ic_model_num_genes(model));

    const char *labels[] = {"CD14+ Monocyte", "CD19+ B", "CD34+", "CD4+/CD25 T Reg",
                            "CD4+/CD45RA+/CD25- Naive T", "CD4+/CD45RO+ Memory", "CD56+ NK",
                            "CD8+ Cytotoxic T", "CD8+/CD45RA+ Naive Cytotoxic", "Dendritic"};
    size_t n_labels = sizeof labels / sizeof labels[0];

    IcPredictions *preds = NULL;
    st = ic_annotate_store(model, argv[2], labels, n_labels, IC_CONSTRAINED, "human",
                           "peripheral blood", &preds);
    expect(st == IC_OK, "annotate the store");
    size_t n = ic_predictions_len(preds);
    printf("annotated %zu cells\n", n);
    expect(n > 0, "some predictions");
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
    IcModel *checked = NULL;
    expect(ic_model_load_tie_checked(argv[1], "int8", 2, 0.5f, &checked) == IC_OK,
           "int8 with fp32 near-ties");
    IcPredictions *checked_preds = NULL;
    st = ic_annotate_store(checked, argv[2], labels, n_labels, IC_CONSTRAINED, "human",
                           "peripheral blood", &checked_preds);
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
    IcModel *spelled = NULL;
    expect(ic_model_load(argv[1], "int8+ties=0.5", 1, &spelled) == IC_OK, "int8+ties=0.5");
    ic_model_free(spelled);
    expect(ic_model_load(argv[1], "int8+ties=wide", 1, &spelled) == IC_INVALID_ARGUMENT,
           "a tie margin that is not a number");
    IcModel *refused = NULL;
    expect(ic_model_load_tie_checked(argv[1], "int8", 2, -1.0f, &refused) == IC_INVALID_ARGUMENT &&
               refused == NULL, "negative tie margin");
    ic_predictions_free(preds);

    /* Errors are statuses with a message, never crashes. */
    IcPredictions *none = NULL;
    st = ic_annotate_store(model, "/nonexistent/store.zarr", labels, n_labels, IC_SCORED, NULL,
                           NULL, &none);
    expect(st == IC_STORE && strlen(ic_last_error()) > 0 && none == NULL, "missing store");
    st = ic_annotate_store(NULL, argv[2], labels, n_labels, IC_SCORED, NULL, NULL, &none);
    expect(st == IC_NULL_ARGUMENT, "NULL model");
    st = ic_annotate_store(model, argv[2], labels, 0, IC_CONSTRAINED, NULL, NULL, &none);
    expect(st == IC_INVALID_ARGUMENT, "empty label set");
    const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};
    st = ic_annotate_store(model, bad_utf8, labels, n_labels, IC_SCORED, NULL, NULL, &none);
    expect(st == IC_INVALID_UTF8, "invalid UTF-8 path");
    uint64_t indptr[] = {0, 2, 1};
    uint32_t indices[] = {0, 1};
    float data[] = {1.0f, 2.0f};
    const char *genes[] = {"A", "B"};
    st = ic_annotate_csr(model, 2, 2, indptr, indices, data, genes, labels, n_labels,
                         IC_CONSTRAINED, NULL, NULL, &none);
    expect(st == IC_SHAPE, "decreasing indptr");
    uint64_t indptr_ok[] = {0, 1, 2};
    st = ic_annotate_csr(model, 2, 2, indptr_ok, indices, data, genes, labels, n_labels,
                         IC_CONSTRAINED, NULL, NULL, &none);
    expect(st == IC_GENES, "no genes in common");
    st = ic_predict_drug_response_csr(model, 2, 2, indptr_ok, indices, data, genes, "cisplatin",
                                      IC_SCORED, &none);
    expect(st == IC_GENES, "drug response over CSR with no genes in common");
    IcModel *broken = NULL;
    expect(ic_model_load("/nonexistent/package", "fp32", 1, &broken) == IC_PACKAGE, "missing package");
    expect(ic_model_load(argv[1], "fp64", 1, &broken) == IC_INVALID_ARGUMENT, "bad precision");
    expect(ic_model_load(argv[1], "fp32-signed", 1, &broken) == IC_INVALID_ARGUMENT,
           "weight encoding on fp32");
    IcModel *unsigned_int8 = NULL;
    expect(ic_model_load(argv[1], "int8-unsigned", 1, &unsigned_int8) == IC_OK,
           "int8 with unsigned weights");
    ic_model_free(unsigned_int8);

    IcPredictions *drug = NULL;
    st = ic_predict_drug_response_store(model, argv[2], "cisplatin", IC_SCORED, &drug);
    expect(st == IC_OK, "drug response");
    for (size_t i = 0; i < ic_predictions_len(drug); i++) {
        const char *l = ic_predictions_label(drug, i);
        expect(l && (!strcmp(l, "Sensitive") || !strcmp(l, "Resistant")), "drug labels");
    }
    printf("drug response (synthetic labels) for %zu cells\n", ic_predictions_len(drug));
    ic_predictions_free(drug);
    expect(ic_model_load_with_provider(argv[1], NULL, 1, "quantum", false, &broken) ==
               IC_INVALID_ARGUMENT, "unknown provider");
    st = ic_model_load_with_provider(argv[1], NULL, 1, "cuda", false, &broken);
    expect(st == IC_RUNTIME || st == IC_OK, "CUDA is an error unless present");
    if (st == IC_OK) ic_model_free(broken);

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

    ic_model_free(model);
    ic_model_free(NULL);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all C API checks passed\n");
    return 0;
}
