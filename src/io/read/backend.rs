//! The storage-neutral view the readers work through: groups with JSON-like attributes and
//! arrays read by ranges of their first axis. Zarr and HDF5 each implement it once.

use std::ops::Range;
use std::path::Path;

use serde_json::{Map, Value};

use super::problem::StoreCtx;
use super::values::{Dtype, Values};
use crate::error::Result;

/// What sits at an element path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Group,
    Array,
}

/// One store, addressed by element paths such as `X/indptr` (no leading slash; `""` is the root).
pub(crate) trait Backend: Send + Sync {
    fn ctx(&self) -> &StoreCtx;
    /// The kind of node at `element`, or `None` when nothing is there.
    fn node(&self, element: &str) -> Result<Option<NodeKind>>;
    /// The node's attributes as JSON values.
    fn attrs(&self, element: &str) -> Result<Map<String, Value>>;
    /// Names of the children of a group, sorted.
    fn children(&self, element: &str) -> Result<Vec<String>>;
    /// Opens an array for repeated range reads.
    fn open_array(&self, element: &str) -> Result<Box<dyn ArrayHandle>>;
    /// The field names, in stored order, of the record (HDF5 compound, numpy structured) array
    /// at `element`; `None` for any other node. Pre-0.7 AnnData stored dataframes this way.
    fn record_fields(&self, _element: &str) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
    /// Opens one field of the record array at `element` as a 1-D array.
    fn open_field(&self, element: &str, field: &str) -> Result<Box<dyn ArrayHandle>> {
        Err(self.ctx().unsupported(
            element,
            format!("field '{field}' of a record array in this format"),
        ))
    }
}

/// An array held in memory (a record field or a small array read whole).
pub(crate) struct MemArray {
    values: Values,
    shape: Vec<u64>,
    element: String,
    ctx: StoreCtx,
}

impl MemArray {
    /// A 1-D array of `values`, reported as `element` of `ctx`'s store.
    pub(crate) fn new(values: Values, element: &str, ctx: &StoreCtx) -> Self {
        MemArray {
            shape: vec![values.len() as u64],
            values,
            element: element.to_string(),
            ctx: ctx.clone(),
        }
    }
}

impl ArrayHandle for MemArray {
    fn dtype(&self) -> Dtype {
        self.values.dtype()
    }

    fn shape(&self) -> &[u64] {
        &self.shape
    }

    fn read(&self, rows: Range<u64>) -> Result<Values> {
        let n = self.values.len() as u64;
        if rows.start > rows.end || rows.end > n {
            return Err(self.ctx.shape(
                &self.element,
                format!("asked for rows {rows:?} of an array of length {n}"),
            ));
        }
        Ok(self.values.slice(rows.start as usize..rows.end as usize))
    }
}

/// An opened array. Reads cost only the chunks that overlap the requested range.
pub(crate) trait ArrayHandle: Send {
    fn dtype(&self) -> Dtype;
    fn shape(&self) -> &[u64];
    /// Reads `rows` of the first axis, all of the other axes, in row-major order.
    fn read(&self, rows: Range<u64>) -> Result<Values>;
    /// Length of a storage chunk along the first axis, when the array is chunked.
    fn chunk_rows(&self) -> Option<u64> {
        None
    }
    /// Reads the whole array.
    fn read_all(&self) -> Result<Values> {
        let n = self.shape().first().copied().unwrap_or(1);
        self.read(0..n)
    }
}

/// Joins an element path and a child name.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}/{child}")
    }
}

/// The string value of attribute `key`, if it is a string.
pub(crate) fn attr_str<'a>(attrs: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

/// Which on-disk format a path holds, by looking at it (not at its name alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    ZarrV2,
    ZarrV3,
    H5ad,
}

pub(crate) fn detect(path: &Path) -> std::result::Result<Detected, String> {
    if path.is_dir() {
        if path.join("zarr.json").is_file() {
            return Ok(Detected::ZarrV3);
        }
        if path.join(".zgroup").is_file() {
            return Ok(Detected::ZarrV2);
        }
        return Err("a directory without zarr.json (v3) or .zgroup (v2) at its root".into());
    }
    if path.is_file() {
        if has_hdf5_signature(path) {
            return Ok(Detected::H5ad);
        }
        return Err("a file that is not HDF5 (.h5ad, .h5mu)".into());
    }
    Err("no such file or directory".into())
}

/// Whether the file at `path` holds the HDF5 signature where HDF5 looks for it: at offset 0,
/// or after a user block (512 bytes and each power of two above: `.h5mu` files have one).
fn has_hdf5_signature(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut offset = 0u64;
    while offset + 8 <= len {
        let mut magic = [0u8; 8];
        if f.seek(SeekFrom::Start(offset)).is_err() || f.read_exact(&mut magic).is_err() {
            return false;
        }
        if magic == *SIGNATURE {
            return true;
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
    false
}
