//! Fuzz target `zarr_store`: see `fuzz/drive/zarr_store.rs`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[path = "../drive/zarr_store.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::run(data));
