//! Fuzz target `capi_csr`: see `fuzz/drive/capi_csr.rs`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[path = "../drive/capi_csr.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::run(data));
