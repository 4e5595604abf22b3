//! The write side: a [`Sink`](sink::Sink) trait (the counterpart of the read side's
//! `Backend`) with a zarr and an HDF5 implementation, one AnnData element encoder over it,
//! and the operations built from them — new stores, obs columns added in place, copies with
//! extra columns — all through temporary names renamed into place.

// The shared parts of `io`, and the read-side modules the write side builds on (it reads the
// stores it adds to or copies).
#[cfg(feature = "h5ad")]
use super::read::h5 as h5_read;
use super::read::zarr as zarr_read;
use super::read::{backend, column, mudata, store};
use super::{options, problem, values};

pub(crate) mod atomic;
mod checks;
mod consolidated;
pub(crate) mod copy;
mod encode;
mod files;
#[cfg(feature = "h5ad")]
mod h5;
#[cfg(feature = "h5ad")]
mod h5ad_columns;
mod leftovers;
pub(crate) mod obs;
mod sink;
pub(crate) mod writer;
mod zarr;
