//! `.h5ad` (HDF5) stores through the system HDF5 library: the reader backend (the writer is
//! `write/h5.rs`).
//!
//! HDF5 reads hyperslabs, so a row block touches only the HDF5 chunks that hold it. gzip is
//! built into HDF5; the lzf filter h5py uses is registered by `hdf5-metno`'s `lzf` feature.

use std::ops::Range;
use std::path::Path;

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, File, Group, H5Type, LocationType};
use serde_json::{json, Map, Value};

use super::backend::{ArrayHandle, Backend, NodeKind};
use super::problem::{StoreCtx, StoreProblem};
use super::values::{Dtype, Values};
use crate::error::Result;

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
