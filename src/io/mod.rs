//! AnnData stores read straight from the on-disk specification, and results written back.
//!
//! * Reading: [`AnnDataStore::open`] takes a zarr v2 or v3 directory (sharded or not) or, with
//!   the `h5ad` feature, an `.h5ad` file. [`AnnDataStore::matrix`] streams `X`, `layers/<name>`
//!   or `raw/X` as [`CsrRows`](crate::CsrRows) blocks through [`RowSource`](crate::RowSource),
//!   reading only the chunks each block needs. CSR is read directly, CSC is converted while
//!   streaming (one scan of the stored entries per block), dense arrays keep their non-zeros.
//!   obs/var dataframes decode to [`Column`] values.
//! * Writing: [`add_obs_columns`] adds columns to an existing store (zarr, or `.h5ad` through a
//!   copy renamed over it); [`write_store_with_obs_columns`] writes a copy of a store with extra
//!   obs columns, everything else kept byte for byte; [`AnnDataWriter`] writes a new store. All
//!   write to temporary names and rename into place, so a crash leaves what was there before.
//!
//! * 10x Genomics Matrix Market directories: [`TenxMatrix`] (loaded in memory, transposed).
//!
//! Every problem with a store is an [`Error::Store`](crate::Error::Store) naming the store, the
//! element and a [`StoreProblem`].

mod options;
mod problem;
mod read;
mod values;
mod write;

use read::{choose, column, content, expm1, matrix, mudata, store, tenx, zarr as zarr_read};
use write::{atomic, copy, obs as obs_write, writer};

#[cfg(feature = "bundled-model")]
pub(crate) use atomic::write_dir_atomic;
pub(crate) use atomic::write_file_atomic;
pub use choose::{choose_matrix, ChosenMatrix, MatrixChoice, ValueTransform, COUNTS_LAYER_NAMES};
pub use column::{Column, DataFrame};
pub use content::{inspect_matrix, ContentReport, MatrixContent, DEFAULT_SAMPLE_ROWS};
pub use copy::write_store_with_obs_columns;
pub use expm1::Expm1Rows;
pub use matrix::{MatrixEncoding, MatrixReader};
pub use mudata::DEFAULT_MODALITY;
pub use obs_write::{add_obs_columns, check_obs_writable};
pub use options::{
    AddColumnsOptions, CopyOptions, MatrixSelection, ReadOptions, StoreFormat, WriteOptions,
};
pub use problem::StoreProblem;
pub use store::{open_matrix, AnnDataStore, StoreOptions};
pub use tenx::{TenxGeneNames, TenxMatrix, TenxOptions};
pub use writer::AnnDataWriter;
pub use zarr_read::ZarrVersion;
