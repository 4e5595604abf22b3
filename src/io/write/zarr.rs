//! Writing zarr v2/v3 groups and 1-D arrays: metadata documents written here, chunks encoded by
//! `zarrs`. Arrays are zstd-compressed with plain regular chunks, which every zarr reader
//! (zarr-python 2 and 3, anndata) understands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use zarrs::array::{Array, Element};
use zarrs::filesystem::FilesystemStore;

use super::atomic::write_file_atomic;
use super::problem::StoreCtx;
use super::sink::Sink;
use super::values::{Dtype, Values};
use super::zarr_read::ZarrVersion;
use crate::error::{Error, Result};

/// Provisional length of arrays whose final length is known only when streaming ends.
const OPEN_ENDED: u64 = 1 << 50;

pub(crate) struct ZarrOut {
    root: PathBuf,
    version: ZarrVersion,
    storage: Arc<FilesystemStore>,
    level: i32,
    chunk_len: u64,
    ctx: StoreCtx,
}

fn type_names(d: Dtype) -> (&'static str, &'static str) {
    match d {
        Dtype::Bool => ("bool", "|b1"),
        Dtype::Int(8) => ("int8", "|i1"),
        Dtype::Int(16) => ("int16", "<i2"),
        Dtype::Int(32) => ("int32", "<i4"),
        Dtype::Int(_) => ("int64", "<i8"),
        Dtype::UInt(8) => ("uint8", "|u1"),
        Dtype::UInt(16) => ("uint16", "<u2"),
        Dtype::UInt(32) => ("uint32", "<u4"),
        Dtype::UInt(_) => ("uint64", "<u8"),
        Dtype::Float(32) => ("float32", "<f4"),
        Dtype::Float(_) => ("float64", "<f8"),
        Dtype::Str => ("string", "|O"),
    }
}

fn fill_value(d: Dtype) -> Value {
    match d {
        Dtype::Bool => json!(false),
        Dtype::Int(_) | Dtype::UInt(_) => json!(0),
        Dtype::Float(_) => json!(0.0),
        Dtype::Str => json!(""),
    }
}

fn one_byte(d: Dtype) -> bool {
    matches!(d, Dtype::Bool | Dtype::Int(8) | Dtype::UInt(8))
}

impl ZarrOut {
    /// Writes into the existing directory `root` (which becomes the zarr root).
    pub(crate) fn new(
        root: &Path,
        version: ZarrVersion,
        level: i32,
        chunk_len: usize,
        ctx: StoreCtx,
    ) -> Result<Self> {
        let storage = FilesystemStore::new(root).map_err(|e| ctx.backend("", e))?;
        Ok(ZarrOut {
            root: root.to_path_buf(),
            version,
            storage: Arc::new(storage),
            level,
            chunk_len: chunk_len.max(1) as u64,
            ctx,
        })
    }

    fn dir(&self, el: &str) -> Result<PathBuf> {
        let dir = if el.is_empty() {
            self.root.clone()
        } else {
            self.root.join(el)
        };
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(dir)
    }

    fn put_json(&self, file: &Path, v: &Value) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(v).expect("JSON values always serialise");
        write_file_atomic(file, &bytes)
    }

    /// Writes a group with attributes.
    pub(crate) fn group(&self, el: &str, attrs: Map<String, Value>) -> Result<()> {
        let dir = self.dir(el)?;
        match self.version {
            ZarrVersion::V3 => self.put_json(
                &dir.join("zarr.json"),
                &json!({"zarr_format": 3, "node_type": "group", "attributes": attrs}),
            ),
            ZarrVersion::V2 => {
                self.put_json(&dir.join(".zgroup"), &json!({"zarr_format": 2}))?;
                self.put_json(&dir.join(".zattrs"), &Value::Object(attrs))
            }
        }
    }

    fn array_meta(&self, el: &str, d: Dtype, len: u64, attrs: &Map<String, Value>) -> Result<()> {
        let dir = self.dir(el)?;
        let chunk = self.chunk_len.min(len).max(1);
        let (v3_name, v2_name) = type_names(d);
        match self.version {
            ZarrVersion::V3 => {
                let first = if d == Dtype::Str {
                    json!({"name": "vlen-utf8", "configuration": {}})
                } else if one_byte(d) {
                    json!({"name": "bytes"})
                } else {
                    json!({"name": "bytes", "configuration": {"endian": "little"}})
                };
                let meta = json!({
                    "zarr_format": 3,
                    "node_type": "array",
                    "shape": [len],
                    "data_type": v3_name,
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [chunk]}},
                    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                    "fill_value": fill_value(d),
                    "codecs": [first, {"name": "zstd", "configuration": {"level": self.level, "checksum": false}}],
                    "attributes": attrs,
                });
                self.put_json(&dir.join("zarr.json"), &meta)
            }
            ZarrVersion::V2 => {
                let filters = if d == Dtype::Str {
                    json!([{"id": "vlen-utf8"}])
                } else {
                    Value::Null
                };
                let meta = json!({
                    "zarr_format": 2,
                    "shape": [len],
                    "chunks": [chunk],
                    "dtype": v2_name,
                    "fill_value": fill_value(d),
                    "order": "C",
                    "filters": filters,
                    "compressor": {"id": "zstd", "level": self.level, "checksum": false},
                    "dimension_separator": ".",
                });
                self.put_json(&dir.join(".zarray"), &meta)?;
                self.put_json(&dir.join(".zattrs"), &Value::Object(attrs.clone()))
            }
        }
    }

    fn open(&self, el: &str) -> Result<Array<FilesystemStore>> {
        Array::open(self.storage.clone(), &format!("/{el}")).map_err(|e| self.ctx.backend(el, e))
    }

    fn store_chunks<T: Element + Clone + Default>(
        &self,
        array: &Array<FilesystemStore>,
        el: &str,
        chunk: usize,
        first_chunk: u64,
        values: &[T],
    ) -> Result<()> {
        for (k, part) in values.chunks(chunk).enumerate() {
            let res = if part.len() == chunk {
                array.store_chunk(&[first_chunk + k as u64], part)
            } else {
                // The edge chunk is stored full size; the padding lies beyond the shape.
                let mut padded = part.to_vec();
                padded.resize(chunk, T::default());
                array.store_chunk(&[first_chunk + k as u64], padded)
            };
            res.map_err(|e| self.ctx.backend(el, e))?;
        }
        Ok(())
    }

    /// Writes a complete 1-D array.
    pub(crate) fn array(&self, el: &str, values: &Values, attrs: Map<String, Value>) -> Result<()> {
        let d = values.dtype();
        self.array_meta(el, d, values.len() as u64, &attrs)?;
        if values.len() == 0 {
            return Ok(());
        }
        let array = self.open(el)?;
        let c = self.chunk_len.min(values.len() as u64) as usize;
        match values {
            Values::Bool(v) => self.store_chunks(&array, el, c, 0, v),
            Values::I8(v) => self.store_chunks(&array, el, c, 0, v),
            Values::I16(v) => self.store_chunks(&array, el, c, 0, v),
            Values::I32(v) => self.store_chunks(&array, el, c, 0, v),
            Values::I64(v) => self.store_chunks(&array, el, c, 0, v),
            Values::U8(v) => self.store_chunks(&array, el, c, 0, v),
            Values::U16(v) => self.store_chunks(&array, el, c, 0, v),
            Values::U32(v) => self.store_chunks(&array, el, c, 0, v),
            Values::U64(v) => self.store_chunks(&array, el, c, 0, v),
            Values::F32(v) => self.store_chunks(&array, el, c, 0, v),
            Values::F64(v) => self.store_chunks(&array, el, c, 0, v),
            Values::Str(v) => self.store_chunks(&array, el, c, 0, v),
        }
    }

    /// Starts a 1-D array written in pieces; its length is fixed by [`Appender::finish`].
    pub(crate) fn appender<T: Element + Clone + Default>(
        &self,
        el: &str,
        d: Dtype,
    ) -> Result<Appender<T>> {
        // Chunks are stored before the length is known: declare a length no stream reaches,
        // which also keeps the chunk length from being clamped, and fix it in `finish`.
        self.array_meta(el, d, OPEN_ENDED.max(self.chunk_len), &Map::new())?;
        Ok(Appender {
            array: self.open(el)?,
            el: el.to_string(),
            buf: Vec::with_capacity(self.chunk_len as usize),
            next_chunk: 0,
            len: 0,
        })
    }
}

/// A 1-D array filled by appending, one full chunk stored at a time.
pub(crate) struct Appender<T> {
    array: Array<FilesystemStore>,
    el: String,
    buf: Vec<T>,
    next_chunk: u64,
    len: u64,
}

impl<T: Element + Clone + Default> Appender<T> {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn extend(&mut self, out: &ZarrOut, values: &[T]) -> Result<()> {
        let chunk = out.chunk_len as usize;
        let mut rest = values;
        while !rest.is_empty() {
            let take = (chunk - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            self.len += take as u64;
            if self.buf.len() == chunk {
                out.store_chunks(&self.array, &self.el, chunk, self.next_chunk, &self.buf)?;
                self.next_chunk += 1;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// Stores the last partial chunk and writes the true length into the metadata.
    pub(crate) fn finish(self, out: &ZarrOut) -> Result<()> {
        let chunk = out.chunk_len as usize;
        if !self.buf.is_empty() {
            out.store_chunks(&self.array, &self.el, chunk, self.next_chunk, &self.buf)?;
        }
        out.set_length(&self.el, self.len)
    }
}

impl ZarrOut {
    /// Rewrites the shape of a 1-D array's metadata, keeping everything else (chunk length).
    fn set_length(&self, el: &str, len: u64) -> Result<()> {
        let dir = self.dir(el)?;
        let file = match self.version {
            ZarrVersion::V3 => dir.join("zarr.json"),
            ZarrVersion::V2 => dir.join(".zarray"),
        };
        let text = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
        let mut meta: Value = serde_json::from_slice(&text).map_err(|e| self.ctx.backend(el, e))?;
        meta["shape"] = json!([len]);
        self.put_json(&file, &meta)
    }
}

impl Sink for ZarrOut {
    fn group(&self, el: &str, attrs: Map<String, Value>) -> Result<()> {
        ZarrOut::group(self, el, attrs)
    }

    fn array(&self, el: &str, values: &Values, attrs: Map<String, Value>) -> Result<()> {
        ZarrOut::array(self, el, values, attrs)
    }
}
