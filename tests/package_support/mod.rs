//! Helpers shared by the integration tests that damage or edit private copies of packages and
//! stores.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The committed tiny random package.
pub fn tiny_package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-random")
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A private copy of the tiny package.
pub fn tiny_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&tiny_package(), dir.path());
    dir
}

/// Rewrites `dir/manifest.json` through `f`.
pub fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("manifest.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// `Model::load(dir, opts)`, or `None` (the caller skips) when ONNX Runtime is absent and
/// `INSTRUCTCELL_REQUIRE_ORT` is not set.
pub fn load_or_skip(
    dir: &Path,
    opts: &instructcell::model::ModelOptions,
) -> Option<instructcell::Result<instructcell::model::Model>> {
    match instructcell::model::Model::load(dir, opts) {
        Err(instructcell::Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        r => Some(r),
    }
}
