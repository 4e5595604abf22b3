//! The fp32 graphs and shared files (manifest, tokenizer, gene list, token embeddings, model card) of `pbmc-small`, the model package bundled with the `instructcell` crate,
//! as bytes. `instructcell`'s `bundled-model` feature writes them out as a package
//! directory (`instructcell::bundled`); nothing else here is meant to be called directly.
#![no_std]

#[rustfmt::skip]
mod files;

pub use files::FILES;
