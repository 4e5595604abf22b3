//! The package manifest and its verification: the input replaces `manifest.json` of a copy of
//! the tiny random package, which is then opened and verified (sizes and SHA-256 of every
//! file used) for each precision. The seed is the manifest as it is.

use std::path::PathBuf;
use std::sync::OnceLock;

use instructcell::package::{ModelPackage, Precision};

fn package() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = crate::common::scratch("manifest").join("tiny-random");
        crate::common::copy_tree(&crate::common::root().join("tests/data/tiny-random"), &dir);
        dir
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let dir = package();
    std::fs::write(dir.join("manifest.json"), data).unwrap();
    if let Ok(p) = ModelPackage::open(dir) {
        for precision in [Precision::Fp32, Precision::Int8, Precision::Fp16] {
            let _ = p.verify(precision);
        }
    }
}
