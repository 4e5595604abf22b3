//! Where results go: a new store (the input with every element kept, plus the new columns) or
//! the input itself, in place.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::io::{
    add_obs_columns, write_store_with_obs_columns, AddColumnsOptions, Column, CopyOptions,
};

/// Where obs columns are written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteTarget {
    /// A new store at `path`: the input with every element as it was plus the new columns;
    /// an existing `path` is replaced only when `overwrite`.
    NewStore {
        /// The new store.
        path: PathBuf,
        /// Replace an existing store there.
        overwrite: bool,
    },
    /// The input itself, atomically (a crash leaves it as it was).
    InPlace,
}

/// Writes `columns` for the dataset at `input` to `target`: for a MuData store, into the obs of
/// modality `modality` (`None`: `rna`, else the only one; [`Dataset::modality`](super::Dataset::modality)
/// is the one read). Columns that already exist are replaced only when `overwrite_columns`.
///
/// # Errors
/// Store errors (an existing column or output without overwrite, a format that cannot be
/// written, IO failures); nothing is left half-written.
pub fn write_columns(
    input: &Path,
    modality: Option<&str>,
    target: &WriteTarget,
    columns: &[(String, Column)],
    overwrite_columns: bool,
) -> Result<()> {
    let modality = modality.map(str::to_string);
    match target {
        WriteTarget::InPlace => add_obs_columns(
            input,
            columns,
            &AddColumnsOptions::default()
                .with_overwrite(overwrite_columns)
                .with_modality(modality),
        ),
        WriteTarget::NewStore { path, overwrite } => write_store_with_obs_columns(
            input,
            path,
            columns,
            &CopyOptions::default()
                .with_overwrite_output(*overwrite)
                .with_overwrite_columns(overwrite_columns)
                .with_modality(modality),
        ),
    }
}
