//! Fuzz target `prompt_template`: see `fuzz/drive/prompt_template.rs`.
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[path = "../drive/prompt_template.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::run(data));
