//! The fuzz targets' inputs outside libFuzzer: every input under `tests/data/fuzz-crashes/<target>/`
//! (each crash a fuzz run found, kept once fixed) and 64 fixed pseudo-random inputs per target
//! go through the same code as `fuzz/fuzz_targets/<target>.rs` (`fuzz/drive/`). A panic that
//! escapes the crate fails the test. How to fuzz: README, "Fuzzing".
#![cfg(all(feature = "h5ad", feature = "capi"))]

#[path = "../fuzz/common/mod.rs"]
mod common;

#[path = "../fuzz/drive/capi_csr.rs"]
mod capi_csr;
#[path = "../fuzz/drive/h5ad_structure.rs"]
mod h5ad_structure;
#[path = "../fuzz/drive/package_manifest.rs"]
mod package_manifest;
#[path = "../fuzz/drive/prompt_template.rs"]
mod prompt_template;
#[path = "../fuzz/drive/tenx_mtx.rs"]
mod tenx_mtx;
#[path = "../fuzz/drive/zarr_store.rs"]
mod zarr_store;

use std::panic::{catch_unwind, AssertUnwindSafe};

type Run = fn(&[u8]);

const TARGETS: [(&str, Run); 6] = [
    ("zarr_store", zarr_store::run),
    ("h5ad_structure", h5ad_structure::run),
    ("package_manifest", package_manifest::run),
    ("prompt_template", prompt_template::run),
    ("tenx_mtx", tenx_mtx::run),
    ("capi_csr", capi_csr::run),
];

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dir = common::root().join("tests/data/fuzz-crashes").join(target);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd {
            let p = e.unwrap().path();
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ target.len() as u64;
    for i in 0..64 {
        let len = 1 + (i * 7) % 200;
        let bytes = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        out.push((format!("random #{i}"), bytes));
    }
    out
}

#[test]
fn fuzz_inputs_replay_without_escaping_panics() {
    let ort = instructcell::runtime::locate_onnxruntime().is_ok()
        || std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_some();
    for (name, run) in TARGETS {
        if name == "capi_csr" && !ort {
            eprintln!("skipping capi_csr: ONNX Runtime not installed");
            continue;
        }
        for (what, data) in inputs(name) {
            let r = catch_unwind(AssertUnwindSafe(|| run(&data)));
            assert!(r.is_ok(), "{name}: {what} panicked");
        }
    }
}
