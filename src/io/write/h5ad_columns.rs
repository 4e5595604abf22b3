//! Adding obs columns to an `.h5ad` file: the columns are written into a private copy, which
//! is flushed to disk and renamed over the target, so the target is never seen half-written.

use std::path::Path;
use std::sync::Arc;

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{File, Group};

use super::atomic::{sync_parent, temp_sibling, TempFile};
use super::backend::Backend;
use super::checks::check_new_columns;
use super::column::Column;
use super::encode::write_column;
use super::files::{copy_file, sync_file};
use super::h5::{vlen, H5Sink};
use super::h5_read::H5Backend;
use super::mudata::ObsTarget;
use super::problem::StoreCtx;
use crate::error::{Error, Result};

/// gzip level of the written columns (the writer's default).
const LEVEL: u8 = 3;

/// Whether obs of `backend` has a member `name` (any HDF5 object counts).
fn member_exists(backend: &dyn Backend, name: &str) -> bool {
    !matches!(backend.node(&format!("obs/{name}")), Ok(None))
}

/// Checks `columns` against the `.h5ad` (or `.h5mu` modality) at `path` without changing it.
pub(crate) fn check(
    path: &Path,
    columns: &[(String, Column)],
    overwrite: bool,
    modality: Option<&str>,
) -> Result<()> {
    let target = ObsTarget::resolve(Arc::new(H5Backend::open(path)?), modality)?;
    let view = target.view.as_ref();
    check_new_columns(view, columns, overwrite, &|n| member_exists(view, n)).map(|_| ())
}

/// Adds `columns` to the obs of the `.h5ad` at `path`: copy, write, flush, rename over.
pub(crate) fn add_in_place(
    path: &Path,
    columns: &[(String, Column)],
    overwrite: bool,
    modality: Option<&str>,
) -> Result<()> {
    check(path, columns, overwrite, modality)?;
    if columns.is_empty() {
        return Ok(());
    }
    let ctx = StoreCtx::new(path);
    // Through a symbolic link, edit the file it names (not replace the link by a file).
    let target = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    let mut tmp = TempFile::claim(temp_sibling(&target, "new"));
    let mode = copy_file(&target, tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
    write_into(tmp.path(), &ctx, columns, overwrite, modality)?;
    finish_copy(tmp.path(), mode)?;
    std::fs::rename(tmp.path(), &target).map_err(|e| Error::io(&target, e))?;
    tmp.disarm();
    sync_parent(&target);
    Ok(())
}

/// Flushes the finished copy to disk and gives it the original's permissions (after the
/// writes: a read-only original must not make the copy unwritable while it is filled).
pub(crate) fn finish_copy(tmp: &Path, mode: std::fs::Permissions) -> Result<()> {
    sync_file(tmp).map_err(|e| Error::io(tmp, e))?;
    std::fs::set_permissions(tmp, mode).map_err(|e| Error::io(tmp, e))
}

/// Writes `columns` into obs of the `.h5ad` file at `path` (a private copy nobody else reads),
/// checking them again against it first. Errors name `ctx`'s store, the one the caller asked
/// about, not the copy.
pub(crate) fn write_into(
    path: &Path,
    ctx: &StoreCtx,
    columns: &[(String, Column)],
    overwrite: bool,
    modality: Option<&str>,
) -> Result<()> {
    let file = File::open_rw(path).map_err(|e| ctx.backend("", e))?;
    let backend = Arc::new(H5Backend::from_file(file.clone(), ctx.clone()));
    let target = ObsTarget::resolve(backend, modality)?;
    let view = target.view.as_ref();
    let mut order = check_new_columns(view, columns, overwrite, &|n| member_exists(view, n))?;
    let obs_el = target.element("obs");
    drop(target);
    let obs = file.group(&obs_el).map_err(|e| ctx.backend(&obs_el, e))?;
    let root = file.as_group().map_err(|e| ctx.backend("", e))?;
    let sink = H5Sink::new(&root, LEVEL, ctx.clone());
    for (name, col) in columns {
        let element = format!("{obs_el}/{name}");
        if obs.link_exists(name) {
            obs.unlink(name).map_err(|e| ctx.backend(&element, e))?;
        }
        write_column(&sink, &element, col)?;
    }
    drop(root);
    let before = order.len();
    for (name, _) in columns {
        if !order.contains(name) {
            order.push(name.clone());
        }
    }
    if order.len() != before {
        set_column_order(&obs, &order)
            .map_err(|e| ctx.backend(&obs_el, format!("column-order: {e}")))?;
    }
    drop(obs);
    file.flush().map_err(|e| ctx.backend("", e))?;
    file.close().map_err(|e| ctx.backend("", e))
}

/// Rewrites obs's `column-order` attribute, keeping its string type: anndata (h5py) writes a
/// variable-length UTF-8 array, older files may hold ASCII; an empty order may have been
/// written as an empty float array, which becomes UTF-8 strings.
fn set_column_order(obs: &Group, order: &[String]) -> hdf5::Result<()> {
    const NAME: &str = "column-order";
    let mut ascii = false;
    if obs.attr_names()?.iter().any(|n| n == NAME) {
        ascii = obs.attr(NAME)?.dtype()?.to_descriptor()? == TypeDescriptor::VarLenAscii;
        obs.delete_attr(NAME)?;
    }
    if ascii {
        let names: Option<Vec<VarLenAscii>> = order
            .iter()
            .map(|n| VarLenAscii::from_ascii(n).ok())
            .collect();
        if let Some(names) = names {
            return obs
                .new_attr::<VarLenAscii>()
                .shape(names.len())
                .create(NAME)?
                .write_raw(&names);
        }
    }
    let names: Vec<VarLenUnicode> = order.iter().map(|n| vlen(n)).collect();
    obs.new_attr::<VarLenUnicode>()
        .shape(names.len())
        .create(NAME)?
        .write_raw(&names)
}
