//! The read side: one [`Backend`](backend::Backend) trait over zarr (v2, v3, sharded, pre-0.7
//! structured arrays) and HDF5, views for MuData modalities and pre-0.7 layouts, and on top of
//! them dataframes, streamed matrices, content inspection and the store handle. Nothing here
//! depends on the write side.

// The shared parts of `io` this side builds on.
use super::{options, problem, values};

pub(crate) mod backend;
pub(crate) mod choose;
pub(crate) mod column;
pub(crate) mod content;
pub(crate) mod expm1;
pub(crate) mod guard;
#[cfg(feature = "h5ad")]
pub(crate) mod h5;
#[cfg(feature = "h5ad")]
mod h5_records;
pub(crate) mod legacy;
pub(crate) mod matrix;
pub(crate) mod mudata;
pub(crate) mod store;
mod tally;
pub(crate) mod tenx;
pub(crate) mod zarr;
mod zarr_legacy;
