//! `.h5ad` (HDF5) stores through the system HDF5 library: the reader backend and the writer.
//!
//! HDF5 reads hyperslabs, so a row block touches only the HDF5 chunks that hold it. gzip is
//! built into HDF5; the lzf filter h5py uses is registered by `hdf5-metno`'s `lzf` feature.

use std::ops::Range;
use std::path::{Path, PathBuf};

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, File, Group, H5Type, LocationType};
use serde_json::{json, Map, Value};

use super::atomic::{publish, temp_sibling};
use super::backend::{ArrayHandle, Backend, NodeKind};
use super::column::{Column, DataFrame};
use super::options::WriteOptions;
use super::problem::{StoreCtx, StoreProblem};
use super::values::{Dtype, Values};
use super::writer::{checked_block, checked_obs};
use crate::error::{Error, Result};
use crate::matrix::CsrRows;

pub(crate) struct H5Backend {
    file: File,
    ctx: StoreCtx,
}

fn descriptor_dtype(d: &TypeDescriptor) -> Option<Dtype> {
    use hdf5::types::{FloatSize, IntSize};
    let bits = |s: &IntSize| (*s as u8) * 8;
    Some(match d {
        TypeDescriptor::Integer(s) => Dtype::Int(bits(s)),
        TypeDescriptor::Unsigned(s) => Dtype::UInt(bits(s)),
        TypeDescriptor::Float(FloatSize::U4) => Dtype::Float(32),
        TypeDescriptor::Float(FloatSize::U8) => Dtype::Float(64),
        TypeDescriptor::Boolean => Dtype::Bool,
        // h5py writes numpy booleans as an enum {FALSE, TRUE}; other enums are not booleans.
        TypeDescriptor::Enum(e) if e.members.len() == 2 => Dtype::Bool,
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii => Dtype::Str,
        TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => Dtype::Str,
        _ => return None,
    })
}

impl H5Backend {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let ctx = StoreCtx::new(path);
        let file = File::open(path).map_err(|e| ctx.backend("", e))?;
        Ok(H5Backend { file, ctx })
    }

    /// A reader over a file already opened (read-write too); errors are reported under `ctx`.
    pub(crate) fn from_file(file: File, ctx: StoreCtx) -> Self {
        H5Backend { file, ctx }
    }

    fn group(&self, element: &str) -> Result<Group> {
        if element.is_empty() {
            Ok(self
                .file
                .as_group()
                .map_err(|e| self.ctx.backend(element, e))?)
        } else {
            self.file
                .group(element)
                .map_err(|e| self.ctx.backend(element, e))
        }
    }

    fn location(&self, element: &str) -> Result<hdf5::Location> {
        match self.node(element)? {
            Some(NodeKind::Group) => Ok((*self.group(element)?).clone()),
            Some(NodeKind::Array) => {
                let ds = self
                    .file
                    .dataset(element)
                    .map_err(|e| self.ctx.backend(element, e))?;
                Ok((**ds).clone())
            }
            None => Err(self.ctx.err(element, StoreProblem::Missing)),
        }
    }
}

fn attr_to_json(a: &hdf5::Attribute) -> hdf5::Result<Value> {
    let desc = a.dtype()?.to_descriptor()?;
    let scalar = a.ndim() == 0;
    macro_rules! num {
        ($t:ty) => {
            if scalar {
                json!(a.read_scalar::<$t>()?)
            } else {
                json!(a.read_raw::<$t>()?)
            }
        };
    }
    Ok(match descriptor_dtype(&desc) {
        Some(Dtype::Int(_)) => num!(i64),
        Some(Dtype::UInt(_)) => num!(u64),
        Some(Dtype::Float(_)) => num!(f64),
        Some(Dtype::Bool) => {
            if scalar {
                json!(a.read_scalar::<bool>()?)
            } else {
                json!(a.read_raw::<bool>()?)
            }
        }
        Some(Dtype::Str) => match desc {
            TypeDescriptor::VarLenAscii => {
                if scalar {
                    json!(a.read_scalar::<VarLenAscii>()?.as_str())
                } else {
                    json!(a
                        .read_raw::<VarLenAscii>()?
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>())
                }
            }
            _ => {
                if scalar {
                    json!(a.read_scalar::<VarLenUnicode>()?.as_str())
                } else {
                    json!(a
                        .read_raw::<VarLenUnicode>()?
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>())
                }
            }
        },
        None => Value::Null,
    })
}

impl Backend for H5Backend {
    fn ctx(&self) -> &StoreCtx {
        &self.ctx
    }

    fn node(&self, element: &str) -> Result<Option<NodeKind>> {
        if element.is_empty() {
            return Ok(Some(NodeKind::Group));
        }
        // Check each level: HDF5 reports a missing intermediate group as an error.
        let mut path = String::new();
        let root = self.group("")?;
        for part in element.split('/') {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(part);
            if !root.link_exists(&path) {
                return Ok(None);
            }
        }
        match self.file.loc_type_by_name(element) {
            Ok(LocationType::Group) => Ok(Some(NodeKind::Group)),
            Ok(LocationType::Dataset) => Ok(Some(NodeKind::Array)),
            Ok(other) => Err(self
                .ctx
                .unsupported(element, format!("HDF5 object {other:?}"))),
            Err(e) => Err(self.ctx.backend(element, e)),
        }
    }

    fn attrs(&self, element: &str) -> Result<Map<String, Value>> {
        let loc = self.location(element)?;
        let mut out = Map::new();
        let names = loc.attr_names().map_err(|e| self.ctx.backend(element, e))?;
        for name in names {
            let a = loc.attr(&name).map_err(|e| self.ctx.backend(element, e))?;
            let v = attr_to_json(&a)
                .map_err(|e| self.ctx.backend(element, format!("attribute {name}: {e}")))?;
            out.insert(name, v);
        }
        Ok(out)
    }

    fn children(&self, element: &str) -> Result<Vec<String>> {
        let g = self.group(element)?;
        let mut names = g.member_names().map_err(|e| self.ctx.backend(element, e))?;
        names.sort();
        Ok(names)
    }

    fn open_array(&self, element: &str) -> Result<Box<dyn ArrayHandle>> {
        if self.node(element)? != Some(NodeKind::Array) {
            return Err(self.ctx.err(element, StoreProblem::Missing));
        }
        let ds = self
            .file
            .dataset(element)
            .map_err(|e| self.ctx.backend(element, e))?;
        let desc = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| self.ctx.backend(element, e))?;
        let dtype = descriptor_dtype(&desc)
            .ok_or_else(|| self.ctx.unsupported(element, format!("HDF5 type {desc}")))?;
        let shape = ds.shape().into_iter().map(|n| n as u64).collect();
        Ok(Box::new(H5Array {
            ds,
            desc,
            dtype,
            shape,
            element: element.to_string(),
            ctx: self.ctx.clone(),
        }))
    }

    fn record_fields(&self, element: &str) -> Result<Option<Vec<String>>> {
        if self.node(element)? != Some(NodeKind::Array) {
            return Ok(None);
        }
        let ds = self.dataset(element)?;
        super::h5_records::compound_fields(&ds).map_err(|e| self.ctx.backend(element, e))
    }

    fn open_field(&self, element: &str, field: &str) -> Result<Box<dyn ArrayHandle>> {
        let ds = self.dataset(element)?;
        if ds.ndim() != 1 {
            return Err(self
                .ctx
                .unsupported(element, format!("{}-dimensional record array", ds.ndim())));
        }
        let values =
            super::h5_records::read_field(&ds, field).map_err(|e| self.ctx.backend(element, e))?;
        Ok(Box::new(super::backend::MemArray::new(
            values,
            &format!("{element}/{field}"),
            &self.ctx,
        )))
    }
}

impl H5Backend {
    fn dataset(&self, element: &str) -> Result<Dataset> {
        if self.node(element)? != Some(NodeKind::Array) {
            return Err(self.ctx.err(element, StoreProblem::Missing));
        }
        self.file
            .dataset(element)
            .map_err(|e| self.ctx.backend(element, e))
    }
}

struct H5Array {
    ds: Dataset,
    desc: TypeDescriptor,
    dtype: Dtype,
    shape: Vec<u64>,
    element: String,
    ctx: StoreCtx,
}

impl H5Array {
    fn get<T: H5Type>(&self, rows: Range<u64>) -> Result<Vec<T>> {
        let r = rows.start as usize..rows.end as usize;
        let res = match self.shape.len() {
            0 => self.ds.read_raw::<T>(),
            1 => self
                .ds
                .read_slice_1d::<T, _>(r)
                .map(|a| a.into_raw_vec_and_offset().0),
            2 => self
                .ds
                .read_slice_2d::<T, _>((r, ..))
                // HDF5 fills the output in C order, so the raw vector is row-major.
                .map(|a| a.into_raw_vec_and_offset().0),
            n => {
                return Err(self
                    .ctx
                    .unsupported(&self.element, format!("{n}-dimensional dataset")))
            }
        };
        res.map_err(|e| self.ctx.backend(&self.element, e))
    }
}

impl ArrayHandle for H5Array {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[u64] {
        &self.shape
    }

    fn chunk_rows(&self) -> Option<u64> {
        self.ds.chunk()?.first().map(|&n| n as u64)
    }

    fn read(&self, rows: Range<u64>) -> Result<Values> {
        let first = self.shape.first().copied().unwrap_or(1);
        if rows.start > rows.end || rows.end > first {
            return Err(self.ctx.shape(
                &self.element,
                format!("asked for rows {rows:?} of an array of length {first}"),
            ));
        }
        Ok(match self.dtype {
            Dtype::Bool => Values::Bool(self.get::<bool>(rows)?),
            Dtype::Int(8) => Values::I8(self.get(rows)?),
            Dtype::Int(16) => Values::I16(self.get(rows)?),
            Dtype::Int(32) => Values::I32(self.get(rows)?),
            Dtype::Int(_) => Values::I64(self.get(rows)?),
            Dtype::UInt(8) => Values::U8(self.get(rows)?),
            Dtype::UInt(16) => Values::U16(self.get(rows)?),
            Dtype::UInt(32) => Values::U32(self.get(rows)?),
            Dtype::UInt(_) => Values::U64(self.get(rows)?),
            Dtype::Float(32) => Values::F32(self.get(rows)?),
            Dtype::Float(_) => Values::F64(self.get(rows)?),
            Dtype::Str => Values::Str(match self.desc {
                TypeDescriptor::VarLenAscii => self
                    .get::<VarLenAscii>(rows)?
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
                TypeDescriptor::VarLenUnicode => self
                    .get::<VarLenUnicode>(rows)?
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
                _ => {
                    if self.shape.len() > 1 {
                        return Err(self
                            .ctx
                            .unsupported(&self.element, "multi-dimensional fixed-length strings"));
                    }
                    let all = super::h5_records::read_fixed_strings(&self.ds, &self.desc)
                        .map_err(|e| self.ctx.backend(&self.element, e))?;
                    let all = if self.shape.is_empty() {
                        all
                    } else {
                        all.slice(rows.start as usize..rows.end as usize)
                    };
                    return Ok(all);
                }
            }),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

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

/// Writes `encoding-type` and `encoding-version` attributes.
fn set_enc(loc: &hdf5::Location, kind: &str, version: &str) -> hdf5::Result<()> {
    set_str_attr(loc, "encoding-type", kind)?;
    set_str_attr(loc, "encoding-version", version)
}

fn set_str_attr(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&vlen(value))
}

pub(crate) struct H5Out {
    /// gzip level of the written datasets (0-9).
    pub(crate) level: u8,
}

impl H5Out {
    fn dataset<T: H5Type>(&self, g: &Group, name: &str, data: &[T]) -> hdf5::Result<Dataset> {
        let b = g.new_dataset::<T>();
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

    fn array(&self, g: &Group, name: &str, v: &Values, kind: &str) -> hdf5::Result<()> {
        let ds = match v {
            Values::Bool(x) => self.dataset(g, name, x)?,
            Values::I8(x) => self.dataset(g, name, x)?,
            Values::I16(x) => self.dataset(g, name, x)?,
            Values::I32(x) => self.dataset(g, name, x)?,
            Values::I64(x) => self.dataset(g, name, x)?,
            Values::U8(x) => self.dataset(g, name, x)?,
            Values::U16(x) => self.dataset(g, name, x)?,
            Values::U32(x) => self.dataset(g, name, x)?,
            Values::U64(x) => self.dataset(g, name, x)?,
            Values::F32(x) => self.dataset(g, name, x)?,
            Values::F64(x) => self.dataset(g, name, x)?,
            Values::Str(x) => {
                let s: Vec<VarLenUnicode> = x.iter().map(|s| vlen(s)).collect();
                self.dataset(g, name, &s)?
            }
        };
        set_enc(
            &ds,
            kind,
            if kind == "array" || kind == "string-array" {
                "0.2.0"
            } else {
                "0.1.0"
            },
        )
    }

    /// Writes `col` as member `name` of `g`, in the AnnData encoding for its kind.
    pub(crate) fn column(&self, g: &Group, name: &str, col: &Column) -> hdf5::Result<()> {
        fn nullable<T: Clone>(v: &[Option<T>], fill: T) -> (Vec<T>, Vec<bool>) {
            (
                v.iter()
                    .map(|x| x.clone().unwrap_or(fill.clone()))
                    .collect(),
                v.iter().map(Option::is_none).collect(),
            )
        }
        match col {
            Column::String(v) => self.array(g, name, &Values::Str(v.clone()), "string-array"),
            Column::Float(v) => self.array(g, name, &Values::F64(v.clone()), "array"),
            Column::Int(v) => self.array(g, name, &Values::I64(v.clone()), "array"),
            Column::UInt(v) => self.array(g, name, &Values::U64(v.clone()), "array"),
            Column::Bool(v) => self.array(g, name, &Values::Bool(v.clone()), "array"),
            Column::Categorical {
                codes,
                categories,
                ordered,
            } => {
                let sub = g.create_group(name)?;
                set_enc(&sub, "categorical", "0.2.0")?;
                sub.new_attr::<bool>()
                    .create("ordered")?
                    .write_scalar(ordered)?;
                let codes = if categories.len() < i8::MAX as usize {
                    Values::I8(codes.iter().map(|&c| c as i8).collect())
                } else if categories.len() < i16::MAX as usize {
                    Values::I16(codes.iter().map(|&c| c as i16).collect())
                } else {
                    Values::I32(codes.clone())
                };
                self.array(&sub, "codes", &codes, "array")?;
                self.array(
                    &sub,
                    "categories",
                    &Values::Str(categories.clone()),
                    "string-array",
                )
            }
            Column::NullableInt(v) => {
                let sub = g.create_group(name)?;
                set_enc(&sub, "nullable-integer", "0.1.0")?;
                let (values, mask) = nullable(v, 0);
                self.array(&sub, "values", &Values::I64(values), "array")?;
                self.array(&sub, "mask", &Values::Bool(mask), "array")
            }
            Column::NullableBool(v) => {
                let sub = g.create_group(name)?;
                set_enc(&sub, "nullable-boolean", "0.1.0")?;
                let (values, mask) = nullable(v, false);
                self.array(&sub, "values", &Values::Bool(values), "array")?;
                self.array(&sub, "mask", &Values::Bool(mask), "array")
            }
            Column::NullableString(v) => {
                let sub = g.create_group(name)?;
                set_enc(&sub, "nullable-string-array", "0.1.0")?;
                let (values, mask) = nullable(v, String::new());
                self.array(&sub, "values", &Values::Str(values), "string-array")?;
                self.array(&sub, "mask", &Values::Bool(mask), "array")
            }
        }
    }

    fn dataframe(&self, parent: &Group, name: &str, df: &DataFrame) -> hdf5::Result<()> {
        let g = parent.create_group(name)?;
        set_enc(&g, "dataframe", "0.2.0")?;
        set_str_attr(&g, "_index", "_index")?;
        let order: Vec<VarLenUnicode> = df.columns.iter().map(|(n, _)| vlen(n)).collect();
        g.new_attr::<VarLenUnicode>()
            .shape(order.len())
            .create("column-order")?
            .write_raw(&order)?;
        self.array(&g, "_index", &Values::Str(df.index.clone()), "string-array")?;
        for (n, c) in &df.columns {
            self.column(&g, n, c)?;
        }
        Ok(())
    }
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
    out: H5Out,
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
            set_enc(&file, "anndata", "0.1.0")?;
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
            out: H5Out { level },
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
        let res = (|| -> hdf5::Result<()> {
            let x = file.group("X")?;
            set_enc(&x, "csr_matrix", "0.1.0")?;
            x.new_attr::<i64>()
                .shape(2)
                .create("shape")?
                .write_raw(&[self.n_rows as i64, self.var_names.len() as i64])?;
            let root = file.as_group()?;
            self.out
                .dataframe(&root, "obs", &DataFrame::new(index, obs.columns.clone()))?;
            self.out.dataframe(
                &root,
                "var",
                &DataFrame::new(self.var_names.clone(), Vec::new()),
            )?;
            for empty in ["layers", "obsm", "obsp", "varm", "varp", "uns"] {
                let g = file.create_group(empty)?;
                set_enc(&g, "dict", "0.1.0")?;
            }
            file.flush()?;
            Ok(())
        })();
        drop(file);
        h5(res, &self.dest)?;
        publish(
            &self.tmp,
            &self.dest,
            self.overwrite,
            &StoreCtx::new(&self.dest),
            "",
        )?;
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
