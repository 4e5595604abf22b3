//! Adding obs columns to an existing store (zarr here, `.h5ad` in `h5ad_columns`): checks
//! first, then each column under a temporary name renamed into place, then the column order.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use super::atomic::{publish, temp_sibling, TempDir};
use super::backend::{detect, Backend, Detected};
use super::checks::check_new_columns;
use super::column::Column;
use super::encode::write_column;
use super::mudata::ObsTarget;
use super::options::AddColumnsOptions;
use super::problem::{StoreCtx, StoreProblem};
use super::zarr::ZarrOut;
use super::zarr_read::{ZarrBackend, ZarrVersion};
use crate::error::{Error, Result};

/// Checks, without writing anything, that obs columns can be added to the store at `path`
/// (in MuData, to modality `modality`; see [`AddColumnsOptions::modality`]): run it before
/// long work whose results go there.
///
/// # Errors
/// [`StoreProblem::UnknownFormat`] for a path that is no store,
/// [`StoreProblem::NoSuchModality`] for a MuData store without the modality,
/// [`Error::InvalidArgument`] for a modality named for an AnnData store,
/// [`StoreProblem::NotWritable`] for a pre-0.7 layout (obs a record array), and
/// [`StoreProblem::FeatureDisabled`] for `.h5ad` without the `h5ad` feature.
pub fn check_obs_writable(path: impl AsRef<Path>, modality: Option<&str>) -> Result<()> {
    let path = path.as_ref();
    let ctx = StoreCtx::new(path);
    let backend: Arc<dyn Backend> =
        match detect(path).map_err(|w| ctx.err("", StoreProblem::UnknownFormat(w)))? {
            Detected::ZarrV2 => Arc::new(ZarrBackend::open(path, ZarrVersion::V2)?),
            Detected::ZarrV3 => Arc::new(ZarrBackend::open(path, ZarrVersion::V3)?),
            Detected::H5ad => super::store::open_h5ad(path)?,
        };
    ObsTarget::resolve(backend, modality).map(|_| ())
}
/// Adds `columns` to the obs dataframe of the store at `path` (zarr v2/v3 directory or, with
/// the `h5ad` feature, `.h5ad` file), leaving everything else as it was.
///
/// Every check (names, lengths, categorical codes, existing columns) runs before anything is
/// written, so an invalid request changes nothing.
///
/// * zarr: each column is written under a temporary name inside `obs/` and renamed into place;
///   then `column-order` is updated through a temporary file and a rename, and consolidated
///   metadata (if the store has any) is rebuilt the same way, so Python anndata sees the new
///   columns. A crash before the `column-order` update leaves the store reading as before.
/// * `.h5ad`: HDF5 cannot be changed by renames, so the file is copied to a temporary sibling,
///   the columns are written into the copy, and the copy (flushed to disk) is renamed over the
///   original. On any error the copy is removed and the original is untouched. This needs free
///   space for a second copy of the file, and other hard links to the file keep the old
///   contents. Replaced columns leave their old bytes unreclaimed inside the file (HDF5 does
///   not shrink files; `h5repack` does).
///
/// Without the `h5ad` feature, `.h5ad` stores give [`StoreProblem::FeatureDisabled`]. To write
/// the result to a new store and keep the input as it is, see
/// [`write_store_with_obs_columns`](crate::io::write_store_with_obs_columns).
///
/// # Errors
/// [`StoreProblem::AlreadyExists`] for an existing column unless overwriting;
/// [`Error::Shape`] for a column whose length is not the number of cells;
/// [`Error::InvalidArgument`] for categorical codes outside their categories, invalid or
/// repeated names and the obs index's name; [`StoreProblem::NotWritable`] for stores
/// that cannot take columns (pre-0.7 layouts); [`Error::Io`] / [`Error::Store`] when
/// writing fails (the store then reads as before).
pub fn add_obs_columns(
    path: impl AsRef<Path>,
    columns: &[(String, Column)],
    opts: &AddColumnsOptions,
) -> Result<()> {
    let path = path.as_ref();
    let ctx = StoreCtx::new(path);
    let version = match detect(path).map_err(|w| ctx.err("", StoreProblem::UnknownFormat(w)))? {
        Detected::ZarrV2 => ZarrVersion::V2,
        Detected::ZarrV3 => ZarrVersion::V3,
        Detected::H5ad => return add_h5ad_columns(path, columns, opts),
    };
    let backend = Arc::new(ZarrBackend::open(path, version)?);
    let target = ObsTarget::resolve(backend, opts.modality.as_deref())?;
    let obs_el = target.element("obs");
    let obs_dir = path.join(&obs_el);
    let exists = |name: &str| obs_dir.join(name).symlink_metadata().is_ok();
    let mut order = check_new_columns(target.view.as_ref(), columns, opts.overwrite, &exists)?;
    for (name, col) in columns {
        let dest = obs_dir.join(name);
        let mut tmp = TempDir::create(temp_sibling(&dest, "new"))?;
        let out = ZarrOut::new(tmp.path(), version, 3, 1 << 16, ctx.clone())?;
        write_column(&out, "", col)?;
        publish(
            tmp.path(),
            &dest,
            opts.overwrite,
            &ctx,
            &format!("{obs_el}/{name}"),
        )?;
        tmp.disarm();
    }
    for (name, _) in columns {
        if !order.contains(name) {
            order.push(name.clone());
        }
    }
    set_column_order(&obs_dir, &obs_el, version, &ctx, &order)?;
    super::consolidated::refresh(path, version, &ctx)
}

#[cfg(feature = "h5ad")]
fn add_h5ad_columns(
    path: &Path,
    columns: &[(String, Column)],
    opts: &AddColumnsOptions,
) -> Result<()> {
    super::h5ad_columns::add_in_place(path, columns, opts.overwrite, opts.modality.as_deref())
}

#[cfg(not(feature = "h5ad"))]
fn add_h5ad_columns(path: &Path, _: &[(String, Column)], _: &AddColumnsOptions) -> Result<()> {
    Err(StoreCtx::new(path).err("", StoreProblem::FeatureDisabled("h5ad")))
}

/// Rewrites the `column-order` of the obs group at `obs_dir` (element `obs_el`).
fn set_column_order(
    obs_dir: &Path,
    obs_el: &str,
    version: ZarrVersion,
    ctx: &StoreCtx,
    order: &[String],
) -> Result<()> {
    let file = match version {
        ZarrVersion::V2 => obs_dir.join(".zattrs"),
        ZarrVersion::V3 => obs_dir.join("zarr.json"),
    };
    let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
    let mut doc: Value = serde_json::from_slice(&bytes).map_err(|e| ctx.backend(obs_el, e))?;
    let attrs = match version {
        ZarrVersion::V2 => &mut doc,
        ZarrVersion::V3 => &mut doc["attributes"],
    };
    if !attrs.is_object() {
        return Err(ctx.backend(obs_el, "attributes are not a JSON object"));
    }
    attrs["column-order"] = json!(order);
    super::atomic::write_file_atomic(
        &file,
        &serde_json::to_vec_pretty(&doc).expect("JSON serialises"),
    )
}
