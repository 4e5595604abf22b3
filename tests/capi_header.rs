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
    for f in [
        "ic_model_load",
        "ic_annotate_csr",
        "ic_annotate_store",
        "ic_generate_cells",
        "ic_instruct",
        "ic_last_error",
    ] {
        assert!(generated.contains(f), "{f} missing from the header");
    }
}
