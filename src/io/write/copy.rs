//! A copy of a store with extra obs columns, the input left as it is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::atomic::{publish, sync_parent, temp_sibling, TempDir};
use super::backend::{detect, Detected};
use super::checks::check_new_columns;
use super::column::Column;
use super::files::{copy_tree, sync_tree};
use super::mudata::ObsTarget;
use super::obs::add_obs_columns;
use super::options::{AddColumnsOptions, CopyOptions};
use super::problem::{StoreCtx, StoreProblem};
use super::zarr_read::{ZarrBackend, ZarrVersion};
use crate::error::{Error, Result};

/// Writes `output`: the store at `input` with `columns` added to its obs dataframe.
///
/// Every element of the input (X, layers, obsm, obsp, varm, varp, uns, raw, var and the obs
/// columns already there) is copied byte for byte; only obs gains the new columns (and, for
/// zarr, obs's attributes and any consolidated metadata are updated to list them). The input
/// is only read.
///
/// The output has the input's format: a zarr v2 or v3 directory (sharded or not, with or
/// without consolidated metadata) or an `.h5ad` file (with the `h5ad` feature). It is built
/// under a temporary name beside `output` and renamed into place when complete, so `output`
/// is never seen half-written and nothing is left behind on error. Files are copied with the
/// platform's file copy (on Linux `copy_file_range`, which shares blocks on filesystems that
/// can), never hard-linked, so later in-place edits of the input cannot reach the output. The
/// copy needs free space for the whole store.
///
/// Errors, all before anything is written:
/// * [`Error::InvalidArgument`] when `output` is the input (same canonical path: use
///   [`add_obs_columns`](crate::io::add_obs_columns) to add columns in place), lies inside it or
///   contains it, or when its extension names the other format (`.h5ad` for a zarr input,
///   `.zarr` for an `.h5ad` input): conversion is not supported;
/// * [`Error::Io`] naming `output`'s parent directory when it does not exist;
/// * [`StoreProblem::AlreadyExists`] for an existing `output` unless
///   [`CopyOptions::overwrite_output`], and for an existing obs column unless
///   [`CopyOptions::overwrite_columns`];
/// * the column checks of [`add_obs_columns`](crate::io::add_obs_columns) (names, lengths,
///   categorical codes);
/// * [`StoreProblem::FeatureDisabled`] for an `.h5ad` input without the `h5ad` feature.
///
/// # Errors
/// As listed above; I/O failures while copying or writing are [`Error::Io`] naming the
/// file, and leave no output behind.
pub fn write_store_with_obs_columns(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    columns: &[(String, Column)],
    opts: &CopyOptions,
) -> Result<()> {
    let (input, output) = (input.as_ref(), output.as_ref());
    let in_ctx = StoreCtx::new(input);
    let detected = detect(input).map_err(|w| in_ctx.err("", StoreProblem::UnknownFormat(w)))?;
    check_extension(input, detected == Detected::H5ad, output)?;
    check_paths(input, output)?;
    let out_ctx = StoreCtx::new(output);
    if !opts.overwrite_output && output.symlink_metadata().is_ok() {
        return Err(out_ctx.err("", StoreProblem::AlreadyExists));
    }
    match detected {
        Detected::ZarrV2 => copy_zarr(input, output, ZarrVersion::V2, columns, opts),
        Detected::ZarrV3 => copy_zarr(input, output, ZarrVersion::V3, columns, opts),
        Detected::H5ad => copy_h5ad(input, output, columns, opts),
    }
}

fn check_extension(input: &Path, input_is_h5ad: bool, output: &Path) -> Result<()> {
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (from, to) = match (input_is_h5ad, ext.as_deref()) {
        (false, Some("h5ad" | "h5mu")) => ("a zarr store", "an HDF5 file"),
        (true, Some("zarr")) => ("an HDF5 file (.h5ad, .h5mu)", "a zarr store"),
        _ => return Ok(()),
    };
    Err(Error::InvalidArgument(format!(
        "{} is {from} but the output name {} is that of {to}: converting between formats is \
         not supported, the output keeps the input's format",
        input.display(),
        output.display()
    )))
}

/// Refuses an output that is, holds or lies inside the input, or whose parent is missing.
fn check_paths(input: &Path, output: &Path) -> Result<()> {
    let name = output.file_name().ok_or_else(|| {
        Error::InvalidArgument(format!("output {} has no file name", output.display()))
    })?;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let parent_real = fs::canonicalize(parent).map_err(|e| Error::io(parent, e))?;
    if !parent_real.is_dir() {
        return Err(Error::io(
            parent,
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let out_real = fs::canonicalize(output).unwrap_or_else(|_| parent_real.join(name));
    let in_real = fs::canonicalize(input).map_err(|e| Error::io(input, e))?;
    let problem = if out_real == in_real {
        "is the input store; use add_obs_columns to add columns in place"
    } else if out_real.starts_with(&in_real) {
        "lies inside the input store"
    } else if in_real.starts_with(&out_real) {
        "contains the input store, which replacing it would delete"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument(format!(
        "output {} {problem}",
        output.display()
    )))
}

fn copy_zarr(
    input: &Path,
    output: &Path,
    version: ZarrVersion,
    columns: &[(String, Column)],
    opts: &CopyOptions,
) -> Result<()> {
    // Check the columns on the input first: a refusal must not cost a copy of the store.
    let backend = std::sync::Arc::new(ZarrBackend::open(input, version)?);
    let target = ObsTarget::resolve(backend, opts.modality.as_deref())?;
    let obs_el = target.element("obs");
    let obs_dir = input.join(&obs_el);
    let exists = |name: &str| obs_dir.join(name).symlink_metadata().is_ok();
    check_new_columns(
        target.view.as_ref(),
        columns,
        opts.overwrite_columns,
        &exists,
    )?;
    drop(target);
    let mut tmp = TempDir::create(temp_sibling(output, "new"))?;
    copy_tree(input, tmp.path())?;
    if !columns.is_empty() {
        let add = AddColumnsOptions::default()
            .with_overwrite(opts.overwrite_columns)
            .with_modality(opts.modality.clone());
        add_obs_columns(tmp.path(), columns, &add).map_err(|e| renamed(e, tmp.path(), output))?;
        // The copied files are on disk already; so must the new columns be before publishing.
        for (name, _) in columns {
            sync_tree(&tmp.path().join(&obs_el).join(name))?;
        }
    }
    let out_ctx = StoreCtx::new(output);
    publish(tmp.path(), output, opts.overwrite_output, &out_ctx, "")?;
    tmp.disarm();
    sync_parent(output);
    Ok(())
}

#[cfg(feature = "h5ad")]
fn copy_h5ad(
    input: &Path,
    output: &Path,
    columns: &[(String, Column)],
    opts: &CopyOptions,
) -> Result<()> {
    use super::atomic::TempFile;
    use super::files::copy_file;
    use super::h5ad_columns::{check, finish_copy, write_into};
    let modality = opts.modality.as_deref();
    check(input, columns, opts.overwrite_columns, modality)?;
    let out_ctx = StoreCtx::new(output);
    let mut tmp = TempFile::claim(temp_sibling(output, "new"));
    let mode = copy_file(input, tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
    if !columns.is_empty() {
        write_into(
            tmp.path(),
            &out_ctx,
            columns,
            opts.overwrite_columns,
            modality,
        )?;
    }
    finish_copy(tmp.path(), mode)?;
    publish(tmp.path(), output, opts.overwrite_output, &out_ctx, "")?;
    tmp.disarm();
    sync_parent(output);
    Ok(())
}

#[cfg(not(feature = "h5ad"))]
fn copy_h5ad(input: &Path, _: &Path, _: &[(String, Column)], _: &CopyOptions) -> Result<()> {
    Err(StoreCtx::new(input).err("", StoreProblem::FeatureDisabled("h5ad")))
}

/// Reports an error met inside the temporary copy `tmp` under the name `output` it was for.
fn renamed(e: Error, tmp: &Path, output: &Path) -> Error {
    let rebase = |p: PathBuf| match p.strip_prefix(tmp) {
        Ok(rest) if rest.as_os_str().is_empty() => output.to_path_buf(),
        Ok(rest) => output.join(rest),
        Err(_) => p,
    };
    match e {
        Error::Store {
            path,
            element,
            problem,
        } => Error::Store {
            path: rebase(path),
            element,
            problem,
        },
        Error::Io { path, source } => Error::Io {
            path: rebase(path),
            source,
        },
        other => other,
    }
}
