//! The int8 graphs (signed and unsigned weight encodings) of `pbmc-small`, the model package bundled with the `instructcell` crate,
//! as bytes. `instructcell`'s `bundled-model` feature writes them out as a package
//! directory (`instructcell::bundled`); nothing else here is meant to be called directly.
#![no_std]

#[rustfmt::skip]
mod files;

pub use files::FILES;
