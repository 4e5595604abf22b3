//! Fuzz target `package_manifest`: see `fuzz/drive/package_manifest.rs`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[path = "../drive/package_manifest.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::run(data));
