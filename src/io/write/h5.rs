//! Writing `.h5ad` (HDF5): the [`Sink`] of the element encoder, and the writer of new stores
//! (CSR `X` grown block by block, obs and var at the end, then renamed into place).

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type};
use serde_json::{json, Map, Value};

use super::atomic::{publish, temp_sibling};
use super::checks::{checked_block, checked_obs};
use super::column::DataFrame;
use super::encode::{enc, write_dataframe};
use super::options::WriteOptions;
use super::problem::{StoreCtx, StoreProblem};
use super::sink::Sink;
use super::values::Values;
use crate::error::{Error, Result};
use crate::matrix::CsrRows;

/// A string as HDF5 variable-length UTF-8.
pub(crate) fn vlen(s: &str) -> VarLenUnicode {
    // Strings with interior NUL bytes cannot be HDF5 strings; they are cut at the NUL.
    let clean = s.split('\0').next().unwrap_or("");
    clean.parse().unwrap_or_default()
}

fn h5<T>(r: hdf5::Result<T>, what: &Path) -> Result<T> {
    r.map_err(|e| Error::Store {
        path: what.to_path_buf(),
        element: String::new(),
        problem: StoreProblem::Backend(e.to_string()),
    })
}

fn set_str_attr(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&vlen(value))
}

/// An HDF5 file (or group) being written, as a [`Sink`]: elements are paths below `root`.
pub(crate) struct H5Sink<'a> {
    root: &'a Group,
    /// gzip level of the written datasets (0-9).
    level: u8,
    ctx: StoreCtx,
}

impl<'a> H5Sink<'a> {
    pub(crate) fn new(root: &'a Group, level: u8, ctx: StoreCtx) -> Self {
        H5Sink { root, level, ctx }
    }

    fn dataset<T: H5Type>(&self, name: &str, data: &[T]) -> hdf5::Result<Dataset> {
        let b = self.root.new_dataset::<T>();
        // Chunked (and so compressible) only when non-empty: HDF5 rejects zero-size chunks.
        let ds = if data.is_empty() {
            b.shape(0).create(name)?
        } else {
            b.chunk(data.len().min(1 << 16))
                .deflate(self.level)
                .shape(data.len())
                .create(name)?
        };
        ds.write_raw(data)?;
        Ok(ds)
    }
}

impl Sink for H5Sink<'_> {
    fn group(&self, el: &str, attrs: Map<String, Value>) -> Result<()> {
        let g = self
            .root
            .create_group(el)
            .map_err(|e| self.ctx.backend(el, e))?;
        set_attrs(&g, &attrs).map_err(|e| self.ctx.backend(el, e))
    }

    fn array(&self, el: &str, v: &Values, attrs: Map<String, Value>) -> Result<()> {
        let ds = match v {
            Values::Bool(x) => self.dataset(el, x),
            Values::I8(x) => self.dataset(el, x),
            Values::I16(x) => self.dataset(el, x),
            Values::I32(x) => self.dataset(el, x),
            Values::I64(x) => self.dataset(el, x),
            Values::U8(x) => self.dataset(el, x),
            Values::U16(x) => self.dataset(el, x),
            Values::U32(x) => self.dataset(el, x),
            Values::U64(x) => self.dataset(el, x),
            Values::F32(x) => self.dataset(el, x),
            Values::F64(x) => self.dataset(el, x),
            Values::Str(x) => {
                let s: Vec<VarLenUnicode> = x.iter().map(|s| vlen(s)).collect();
                self.dataset(el, &s)
            }
        }
        .map_err(|e| self.ctx.backend(el, e))?;
        set_attrs(&ds, &attrs).map_err(|e| self.ctx.backend(el, e))
    }
}

/// Writes JSON attributes as HDF5 attributes the way h5py writes them: strings as
/// variable-length UTF-8, booleans, integers and floats as scalars, lists of strings or of
/// integers as 1-D arrays (an empty list as an empty string array).
pub(crate) fn set_attrs(loc: &hdf5::Location, attrs: &Map<String, Value>) -> hdf5::Result<()> {
    for (name, value) in attrs {
        match value {
            Value::String(s) => set_str_attr(loc, name, s)?,
            Value::Bool(b) => loc
                .new_attr::<bool>()
                .create(name.as_str())?
                .write_scalar(b)?,
            Value::Number(n) => match n.as_i64() {
                Some(i) => loc
                    .new_attr::<i64>()
                    .create(name.as_str())?
                    .write_scalar(&i)?,
                None => {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    loc.new_attr::<f64>()
                        .create(name.as_str())?
                        .write_scalar(&f)?
                }
            },
            Value::Array(items) if items.iter().all(Value::is_i64) && !items.is_empty() => {
                let v: Vec<i64> = items.iter().filter_map(Value::as_i64).collect();
                loc.new_attr::<i64>()
                    .shape(v.len())
                    .create(name.as_str())?
                    .write_raw(&v)?
            }
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let v: Vec<VarLenUnicode> =
                    items.iter().filter_map(Value::as_str).map(vlen).collect();
                loc.new_attr::<VarLenUnicode>()
                    .shape(v.len())
                    .create(name.as_str())?
                    .write_raw(&v)?
            }
            other => {
                return Err(hdf5::Error::from(format!(
                    "attribute {name}: {other} has no HDF5 form here"
                )))
            }
        }
    }
    Ok(())
}

/// An HDF5 dataset grown by appending.
struct Growing {
    ds: Dataset,
    len: usize,
}

impl Growing {
    fn new<T: H5Type>(g: &Group, name: &str, chunk: usize, level: u8) -> hdf5::Result<Self> {
        let ds = g
            .new_dataset::<T>()
            .chunk(chunk)
            .deflate(level)
            .shape(0..)
            .create(name)?;
        Ok(Growing { ds, len: 0 })
    }

    fn extend<T: H5Type>(&mut self, v: &[T]) -> hdf5::Result<()> {
        if v.is_empty() {
            return Ok(());
        }
        let end = self.len + v.len();
        self.ds.resize(end)?;
        self.ds.write_slice(v, self.len..end)?;
        self.len = end;
        Ok(())
    }
}

pub(crate) struct H5Writer {
    dest: PathBuf,
    tmp: PathBuf,
    overwrite: bool,
    file: Option<File>,
    level: u8,
    var_names: Vec<String>,
    indptr: Growing,
    indices: Growing,
    data: Growing,
    n_rows: usize,
    published: bool,
}

impl H5Writer {
    pub(crate) fn create(dest: &Path, var_names: &[String], opts: &WriteOptions) -> Result<Self> {
        let tmp = temp_sibling(dest, "new");
        let file = h5(File::create(&tmp), &tmp)?;
        let level = opts.compression_level.clamp(0, 9) as u8;
        let chunk = opts.chunk_len.max(1);
        let made = (|| -> hdf5::Result<_> {
            set_attrs(&file, &enc("anndata", "0.1.0"))?;
            let x = file.create_group("X")?;
            let mut indptr = Growing::new::<i64>(&x, "indptr", chunk, level)?;
            indptr.extend(&[0i64])?;
            let indices = Growing::new::<i32>(&x, "indices", chunk, level)?;
            let data = Growing::new::<f32>(&x, "data", chunk, level)?;
            Ok((indptr, indices, data))
        })();
        let (indptr, indices, data) = match made {
            Ok(v) => v,
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&tmp);
                return h5(Err(e), &tmp);
            }
        };
        Ok(H5Writer {
            dest: dest.to_path_buf(),
            tmp,
            overwrite: opts.overwrite,
            file: Some(file),
            level,
            var_names: var_names.to_vec(),
            indptr,
            indices,
            data,
            n_rows: 0,
            published: false,
        })
    }

    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub(crate) fn append(&mut self, rows: &CsrRows) -> Result<()> {
        checked_block(rows, self.var_names.len())?;
        let base = self.data.len as i64;
        let ptr: Vec<i64> = rows.indptr[1..].iter().map(|&p| base + p as i64).collect();
        let idx: Vec<i32> = rows.indices.iter().map(|&c| c as i32).collect();
        let res = (|| -> hdf5::Result<()> {
            self.indptr.extend(&ptr)?;
            self.indices.extend(&idx)?;
            self.data.extend(&rows.data)
        })();
        h5(res, &self.dest)?;
        self.n_rows += rows.n_rows();
        Ok(())
    }

    pub(crate) fn finish(mut self, obs: &DataFrame) -> Result<()> {
        let index = checked_obs(obs, self.n_rows)?;
        let file = self.file.take().expect("file is open until finish");
        let ctx = StoreCtx::new(&self.dest);
        let res = (|| -> Result<()> {
            let x = file.group("X").map_err(|e| ctx.backend("X", e))?;
            let mut attrs = enc("csr_matrix", "0.1.0");
            attrs.insert(
                "shape".into(),
                json!([self.n_rows as i64, self.var_names.len() as i64]),
            );
            set_attrs(&x, &attrs).map_err(|e| ctx.backend("X", e))?;
            let root = file.as_group().map_err(|e| ctx.backend("", e))?;
            let sink = H5Sink::new(&root, self.level, ctx.clone());
            write_dataframe(&sink, "obs", &DataFrame::new(index, obs.columns.clone()))?;
            write_dataframe(
                &sink,
                "var",
                &DataFrame::new(self.var_names.clone(), Vec::new()),
            )?;
            for empty in ["layers", "obsm", "obsp", "varm", "varp", "uns"] {
                sink.group(empty, enc("dict", "0.1.0"))?;
            }
            file.flush().map_err(|e| ctx.backend("", e))
        })();
        drop(file);
        res?;
        publish(&self.tmp, &self.dest, self.overwrite, &ctx, "")?;
        self.published = true;
        Ok(())
    }
}

impl Drop for H5Writer {
    fn drop(&mut self) {
        if !self.published {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
