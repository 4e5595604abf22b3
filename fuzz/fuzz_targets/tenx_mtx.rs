//! Fuzz target `tenx_mtx`: see `fuzz/drive/tenx_mtx.rs`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[path = "../drive/tenx_mtx.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::run(data));
