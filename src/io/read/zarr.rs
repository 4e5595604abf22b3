//! Zarr v2 and v3 stores on the local filesystem: metadata read directly from the JSON
//! documents, array chunks decoded by `zarrs` (which reads only the chunks, and for sharded
//! arrays only the inner chunks, that overlap a requested range).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use zarrs::array::data_type as dt;
use zarrs::array::{Array, ArraySubset};
use zarrs::filesystem::FilesystemStore;

use super::backend::{ArrayHandle, Backend, MemArray, NodeKind};
use super::guard::{claimed_bytes, no_panic, MAX_READ_BYTES};
use super::problem::{StoreCtx, StoreProblem};
use super::values::{Dtype, Values};
use super::zarr_legacy;
use crate::error::Result;

/// Zarr format version of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZarrVersion {
    /// Zarr format 2 (`.zgroup`, `.zarray`, `.zattrs`).
    V2,
    /// Zarr format 3 (`zarr.json`), sharded or not.
    V3,
}

pub(crate) struct ZarrBackend {
    root: PathBuf,
    ctx: StoreCtx,
    version: ZarrVersion,
    storage: Arc<FilesystemStore>,
}

impl ZarrBackend {
    pub(crate) fn open(root: &Path, version: ZarrVersion) -> Result<Self> {
        let ctx = StoreCtx::new(root);
        let storage = FilesystemStore::new(root).map_err(|e| ctx.backend("", e))?;
        Ok(ZarrBackend {
            root: root.to_path_buf(),
            ctx,
            version,
            storage: Arc::new(storage),
        })
    }

    fn dir(&self, element: &str) -> PathBuf {
        if element.is_empty() {
            self.root.clone()
        } else {
            self.root.join(element)
        }
    }

    /// Refuses an array whose chunks (for sharded arrays, inner chunks) claim more than
    /// [`MAX_READ_BYTES`] decoded: decoding one would allocate that much.
    fn check_chunk_size(&self, element: &str, array: &Array<FilesystemStore>) -> Result<()> {
        use zarrs::array::ArrayShardedExt;
        let shape: Vec<u64> = array
            .effective_subchunk_shape()
            .map(|s| s.iter().map(|n| n.get()).collect())
            .or_else(|| {
                array
                    .chunk_shape(&vec![0; array.dimensionality()])
                    .ok()
                    .map(|s| s.iter().map(|n| n.get()).collect())
            })
            .unwrap_or_default();
        // Variable-length values: count a few bytes each.
        let size = array.data_type().fixed_size().unwrap_or(8) as u64;
        if claimed_bytes(&shape, size).is_none() {
            return Err(self.ctx.backend(
                element,
                format!("chunk shape {shape:?} claims more than {MAX_READ_BYTES} bytes per chunk"),
            ));
        }
        Ok(())
    }

    /// The `.zarray` of a v2 array (`None` for v3 stores and for groups): what tells the
    /// layouts of AnnData before 0.7 (see [`zarr_legacy`]) from the modern ones.
    fn legacy_meta(&self, element: &str) -> Result<Option<Value>> {
        if self.version != ZarrVersion::V2 {
            return Ok(None);
        }
        self.read_json(element, &self.dir(element).join(".zarray"))
    }

    fn read_json(&self, element: &str, file: &Path) -> Result<Option<Value>> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                self.ctx
                    .backend(element, format!("invalid JSON in {}: {e}", file.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self
                .ctx
                .backend(element, format!("{}: {e}", file.display()))),
        }
    }
}

impl Backend for ZarrBackend {
    fn ctx(&self) -> &StoreCtx {
        &self.ctx
    }

    fn node(&self, element: &str) -> Result<Option<NodeKind>> {
        let dir = self.dir(element);
        match self.version {
            ZarrVersion::V3 => {
                let Some(meta) = self.read_json(element, &dir.join("zarr.json"))? else {
                    return Ok(None);
                };
                match meta.get("node_type").and_then(Value::as_str) {
                    Some("group") => Ok(Some(NodeKind::Group)),
                    Some("array") => Ok(Some(NodeKind::Array)),
                    other => Err(self
                        .ctx
                        .backend(element, format!("zarr.json has node_type {other:?}"))),
                }
            }
            ZarrVersion::V2 => {
                if dir.join(".zarray").is_file() {
                    Ok(Some(NodeKind::Array))
                } else if dir.join(".zgroup").is_file() {
                    Ok(Some(NodeKind::Group))
                } else {
                    Ok(None)
                }
            }
        }
    }

    fn attrs(&self, element: &str) -> Result<Map<String, Value>> {
        let dir = self.dir(element);
        let doc = match self.version {
            ZarrVersion::V3 => self
                .read_json(element, &dir.join("zarr.json"))?
                .and_then(|mut m| m.get_mut("attributes").map(Value::take)),
            ZarrVersion::V2 => self.read_json(element, &dir.join(".zattrs"))?,
        };
        match doc {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(self
                .ctx
                .backend(element, "attributes are not a JSON object")),
        }
    }

    fn children(&self, element: &str) -> Result<Vec<String>> {
        let dir = self.dir(element);
        let entries = std::fs::read_dir(&dir).map_err(|e| self.ctx.backend(element, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.ctx.backend(element, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // Dot-names are zarr metadata files or unfinished writes, never members.
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            if self.node(&super::backend::join(element, &name))?.is_some() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn record_fields(&self, element: &str) -> Result<Option<Vec<String>>> {
        Ok(self
            .legacy_meta(element)?
            .and_then(|m| zarr_legacy::structured_fields(&m))
            .map(|f| f.into_iter().map(|(name, _)| name).collect()))
    }

    fn open_field(&self, element: &str, field: &str) -> Result<Box<dyn ArrayHandle>> {
        let meta = self
            .legacy_meta(element)?
            .ok_or_else(|| self.ctx.err(element, StoreProblem::Missing))?;
        let values = zarr_legacy::read_structured_field(&self.storage, element, &meta, field)
            .map_err(|e| self.ctx.backend(element, e))?;
        Ok(Box::new(MemArray::new(
            values,
            &format!("{element}/{field}"),
            &self.ctx,
        )))
    }

    fn open_array(&self, element: &str) -> Result<Box<dyn ArrayHandle>> {
        if self.node(element)? != Some(NodeKind::Array) {
            return Err(self.ctx.err(element, StoreProblem::Missing));
        }
        let opened = no_panic(
            &self.ctx,
            element,
            || "reading the metadata".into(),
            || Array::open(self.storage.clone(), &format!("/{element}")),
        )?;
        let array = match opened {
            Ok(a) => a,
            // zarrs has no data type for the JSON-encoded category arrays of pre-0.7 stores:
            // only then is the metadata read again, here.
            Err(e) => match self.legacy_meta(element)? {
                Some(meta) if zarr_legacy::is_json_object_array(&meta) => {
                    let values = zarr_legacy::read_json_strings(&self.dir(element), &meta)
                        .map_err(|e| self.ctx.backend(element, e))?;
                    return Ok(Box::new(MemArray::new(values, element, &self.ctx)));
                }
                _ => return Err(self.ctx.backend(element, e)),
            },
        };
        self.check_chunk_size(element, &array)?;
        let d = array.data_type();
        let dtype = if d.is::<dt::BoolDataType>() {
            Dtype::Bool
        } else if d.is::<dt::Int8DataType>() {
            Dtype::Int(8)
        } else if d.is::<dt::Int16DataType>() {
            Dtype::Int(16)
        } else if d.is::<dt::Int32DataType>() {
            Dtype::Int(32)
        } else if d.is::<dt::Int64DataType>() {
            Dtype::Int(64)
        } else if d.is::<dt::UInt8DataType>() {
            Dtype::UInt(8)
        } else if d.is::<dt::UInt16DataType>() {
            Dtype::UInt(16)
        } else if d.is::<dt::UInt32DataType>() {
            Dtype::UInt(32)
        } else if d.is::<dt::UInt64DataType>() {
            Dtype::UInt(64)
        } else if d.is::<dt::Float32DataType>() {
            Dtype::Float(32)
        } else if d.is::<dt::Float64DataType>() {
            Dtype::Float(64)
        } else if d.is::<dt::StringDataType>() {
            Dtype::Str
        } else {
            return Err(self.ctx.unsupported(element, format!("zarr data type {d}")));
        };
        Ok(Box::new(ZarrArray {
            shape: array.shape().to_vec(),
            array,
            dtype,
            element: element.to_string(),
            ctx: self.ctx.clone(),
        }))
    }
}

struct ZarrArray {
    array: Array<FilesystemStore>,
    shape: Vec<u64>,
    dtype: Dtype,
    element: String,
    ctx: StoreCtx,
}

impl ZarrArray {
    fn get<T: zarrs::array::ElementOwned>(&self, subset: &ArraySubset) -> Result<Vec<T>> {
        let chunks = || match self.array.chunks_in_array_subset(subset) {
            Ok(Some(c)) => format!("decoding chunks {:?}", c.to_ranges()),
            _ => format!("decoding {subset:?}"),
        };
        no_panic(&self.ctx, &self.element, chunks, || {
            self.array.retrieve_array_subset::<Vec<T>>(subset)
        })?
        .map_err(|e| self.ctx.backend(&self.element, e))
    }
}

impl ArrayHandle for ZarrArray {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[u64] {
        &self.shape
    }

    fn chunk_rows(&self) -> Option<u64> {
        let origin = vec![0; self.shape.len()];
        let shape = self.array.chunk_shape(&origin).ok()?;
        shape.first().map(|n| n.get())
    }

    fn read(&self, rows: Range<u64>) -> Result<Values> {
        let first = self.shape.first().copied().unwrap_or(0);
        if rows.start > rows.end || rows.end > first {
            return Err(self.ctx.shape(
                &self.element,
                format!("asked for rows {rows:?} of an array of length {first}"),
            ));
        }
        let mut counts = vec![rows.end - rows.start];
        counts.extend(self.shape.iter().skip(1));
        let size = match self.dtype {
            Dtype::Bool | Dtype::Int(8) | Dtype::UInt(8) => 1,
            Dtype::Int(16) | Dtype::UInt(16) => 2,
            Dtype::Int(32) | Dtype::UInt(32) | Dtype::Float(32) => 4,
            _ => 8,
        };
        if claimed_bytes(&counts, size).is_none() {
            return Err(self.ctx.backend(
                &self.element,
                format!("reading rows {rows:?} of shape {:?} would take more than {MAX_READ_BYTES} bytes", self.shape),
            ));
        }
        let mut ranges = vec![rows];
        ranges.extend(self.shape.iter().skip(1).map(|&n| 0..n));
        let subset = ArraySubset::new_with_ranges(&ranges);
        Ok(match self.dtype {
            Dtype::Bool => Values::Bool(self.get(&subset)?),
            Dtype::Int(8) => Values::I8(self.get(&subset)?),
            Dtype::Int(16) => Values::I16(self.get(&subset)?),
            Dtype::Int(32) => Values::I32(self.get(&subset)?),
            Dtype::Int(_) => Values::I64(self.get(&subset)?),
            Dtype::UInt(8) => Values::U8(self.get(&subset)?),
            Dtype::UInt(16) => Values::U16(self.get(&subset)?),
            Dtype::UInt(32) => Values::U32(self.get(&subset)?),
            Dtype::UInt(_) => Values::U64(self.get(&subset)?),
            Dtype::Float(32) => Values::F32(self.get(&subset)?),
            Dtype::Float(_) => Values::F64(self.get(&subset)?),
            Dtype::Str => Values::Str(self.get(&subset)?),
        })
    }
}
