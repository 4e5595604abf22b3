//! Fuzz target `h5ad_structure`: see `fuzz/drive/h5ad_structure.rs`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[path = "../drive/h5ad_structure.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::run(data));
