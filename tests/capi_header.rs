//! The committed C header matches what cbindgen generates from `src/ffi` (drift check).
//! Regenerate deliberately with `INSTRUCTCELL_BLESS=1 cargo test --features capi --test capi_header`.
#![cfg(feature = "capi")]

use std::path::PathBuf;

#[test]
fn header_matches_the_code() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("include/cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/error.rs"))
        .with_src(root.join("src/ffi/model.rs"))
        .with_src(root.join("src/ffi/input.rs"))
        .with_src(root.join("src/ffi/api.rs"))
        .generate()
        .expect("cbindgen can read the C API")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = root.join("include/instructcell.h");
    if std::env::var_os("INSTRUCTCELL_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/instructcell.h is out of date: regenerate it with \
         INSTRUCTCELL_BLESS=1 cargo test --features capi --test capi_header"
    );
    // Every C function, and the answer-mode constants: none may drop out of the header.
    for f in [
        "ic_version",
        "ic_last_error",
        "ic_model_options_new",
        "ic_model_options_set_precision",
        "ic_model_options_set_threads",
        "ic_model_options_set_provider",
        "ic_model_options_set_allow_fallback",
        "ic_model_options_set_fp32_tie_margin",
        "ic_model_options_free",
        "ic_model_load",
        "ic_model_num_genes",
        "ic_model_gene_name",
        "ic_model_free",
        "ic_input_from_csr",
        "ic_input_from_store",
        "ic_input_num_cells",
        "ic_input_num_genes",
        "ic_input_free",
        "ic_annotate",
        "ic_predict_drug_response",
        "ic_predictions_len",
        "ic_predictions_label",
        "ic_predictions_precision",
        "ic_predictions_confidence",
        "ic_predictions_row",
        "ic_predictions_free",
        "ic_generate_cells",
        "ic_cells_csr",
        "ic_cells_cell_type",
        "ic_cells_free",
        "ic_instruct",
        "ic_string_free",
    ] {
        assert!(
            generated.contains(&format!("{f}(")),
            "{f} missing from the header"
        );
    }
    for c in [
        "IC_CONSTRAINED",
        "IC_SCORED",
        "IC_FREE",
        "IC_NULL_ARGUMENT",
        "IC_PANIC",
    ] {
        assert!(generated.contains(c), "{c} missing from the header");
    }
    // The calls the redesign replaced stay gone.
    for f in [
        "ic_model_load_with_provider",
        "ic_model_load_tie_checked",
        "ic_annotate_csr",
        "ic_annotate_store",
        "ic_predict_drug_response_csr",
        "ic_predict_drug_response_store",
    ] {
        assert!(!generated.contains(f), "{f} is back in the header");
    }
}
