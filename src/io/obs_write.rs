//! Adding obs columns to an existing store (zarr here, `.h5ad` in `h5ad_columns`), and the
//! column encodings shared with the new-store writer.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::atomic::{publish, temp_sibling, TempDir};
use super::backend::{detect, Backend, Detected};
use super::column::{dataframe_layout, Column, DataFrame};
use super::mudata::ObsTarget;
use super::options::AddColumnsOptions;
use super::problem::{StoreCtx, StoreProblem};
use super::values::Values;
use super::zarr_read::{ZarrBackend, ZarrVersion};
use super::zarr_write::ZarrOut;
use crate::error::{Error, Result};

pub(crate) fn enc(kind: &str, version: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("encoding-type".into(), json!(kind));
    m.insert("encoding-version".into(), json!(version));
    m
}

/// The `(values, mask)` pair of a nullable column; missing values get `fill`.
fn split_nullable<T: Clone>(v: &[Option<T>], fill: T) -> (Vec<T>, Vec<bool>) {
    let values = v
        .iter()
        .map(|x| x.clone().unwrap_or(fill.clone()))
        .collect();
    let mask = v.iter().map(Option::is_none).collect();
    (values, mask)
}

/// Writes `col` at element `el` of `out`, in the AnnData encoding for its kind.
pub(crate) fn write_column(out: &ZarrOut, el: &str, col: &Column) -> Result<()> {
    let sub = |name: &str| {
        if el.is_empty() {
            name.to_string()
        } else {
            format!("{el}/{name}")
        }
    };
    let array = || enc("array", "0.2.0");
    match col {
        Column::String(v) => out.array(el, &Values::Str(v.clone()), enc("string-array", "0.2.0")),
        Column::Float(v) => out.array(el, &Values::F64(v.clone()), array()),
        Column::Int(v) => out.array(el, &Values::I64(v.clone()), array()),
        Column::UInt(v) => out.array(el, &Values::U64(v.clone()), array()),
        Column::Bool(v) => out.array(el, &Values::Bool(v.clone()), array()),
        Column::Categorical {
            codes,
            categories,
            ordered,
        } => {
            let mut attrs = enc("categorical", "0.2.0");
            attrs.insert("ordered".into(), json!(ordered));
            out.group(el, attrs)?;
            // The narrowest signed type, as pandas itself chooses.
            let n = categories.len();
            let codes = if n < i8::MAX as usize {
                Values::I8(codes.iter().map(|&c| c as i8).collect())
            } else if n < i16::MAX as usize {
                Values::I16(codes.iter().map(|&c| c as i16).collect())
            } else {
                Values::I32(codes.clone())
            };
            out.array(&sub("codes"), &codes, array())?;
            out.array(
                &sub("categories"),
                &Values::Str(categories.clone()),
                enc("string-array", "0.2.0"),
            )
        }
        Column::NullableInt(v) => {
            out.group(el, enc("nullable-integer", "0.1.0"))?;
            let (values, mask) = split_nullable(v, 0);
            out.array(&sub("values"), &Values::I64(values), array())?;
            out.array(&sub("mask"), &Values::Bool(mask), array())
        }
        Column::NullableBool(v) => {
            out.group(el, enc("nullable-boolean", "0.1.0"))?;
            let (values, mask) = split_nullable(v, false);
            out.array(&sub("values"), &Values::Bool(values), array())?;
            out.array(&sub("mask"), &Values::Bool(mask), array())
        }
        Column::NullableString(v) => {
            out.group(el, enc("nullable-string-array", "0.1.0"))?;
            let (values, mask) = split_nullable(v, String::new());
            out.array(
                &sub("values"),
                &Values::Str(values),
                enc("string-array", "0.2.0"),
            )?;
            out.array(&sub("mask"), &Values::Bool(mask), array())
        }
    }
}

/// Checks a column's codes against its categories.
pub(crate) fn check_column(name: &str, col: &Column, n_rows: usize) -> Result<()> {
    if col.len() != n_rows {
        return Err(Error::Shape(format!(
            "column '{name}' has {} values for {n_rows} rows",
            col.len()
        )));
    }
    if let Column::Categorical {
        codes, categories, ..
    } = col
    {
        if let Some(c) = codes
            .iter()
            .find(|&&c| c < -1 || c as i64 >= categories.len() as i64)
        {
            return Err(Error::InvalidArgument(format!(
                "column '{name}': code {c} for {} categories",
                categories.len()
            )));
        }
    }
    Ok(())
}

/// Checks that `name` can be a dataframe member: not empty, no path separator, no dot start.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') || name.starts_with("__") {
        return Err(Error::InvalidArgument(format!(
            "'{name}' cannot be a column name (empty, contains '/', or starts with '.' or '__')"
        )));
    }
    Ok(())
}

/// Writes a whole dataframe group (`_index` plus the columns) at `el`.
pub(crate) fn write_dataframe(out: &ZarrOut, el: &str, df: &DataFrame) -> Result<()> {
    let mut attrs = enc("dataframe", "0.2.0");
    attrs.insert("_index".into(), json!("_index"));
    let order: Vec<&str> = df.columns.iter().map(|(n, _)| n.as_str()).collect();
    attrs.insert("column-order".into(), json!(order));
    out.group(el, attrs)?;
    out.array(
        &format!("{el}/_index"),
        &Values::Str(df.index.clone()),
        enc("string-array", "0.2.0"),
    )?;
    for (name, col) in &df.columns {
        write_column(out, &format!("{el}/{name}"), col)?;
    }
    Ok(())
}

/// Checks `columns` against the obs dataframe of `backend` before anything is written: valid
/// distinct names, none the index, right lengths and codes, and no existing member of the same
/// name (`exists`) unless `overwrite`. Returns the obs column order.
pub(crate) fn check_new_columns(
    backend: &dyn Backend,
    columns: &[(String, Column)],
    overwrite: bool,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let (index_key, order) = dataframe_layout(backend, "obs")?;
    let n_obs = backend
        .open_array(&format!("obs/{index_key}"))?
        .shape()
        .first()
        .copied()
        .unwrap_or(0) as usize;
    for (i, (name, col)) in columns.iter().enumerate() {
        check_name(name)?;
        if name == &index_key {
            return Err(Error::InvalidArgument(format!(
                "'{name}' is the obs index, not a column"
            )));
        }
        if columns[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidArgument(format!(
                "column '{name}' given twice"
            )));
        }
        check_column(name, col, n_obs)?;
        if !overwrite && (order.contains(name) || exists(name)) {
            return Err(backend
                .ctx()
                .err(&format!("obs/{name}"), StoreProblem::AlreadyExists));
        }
    }
    Ok(order)
}

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
/// [`write_store_with_obs_columns`](super::write_store_with_obs_columns).
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
