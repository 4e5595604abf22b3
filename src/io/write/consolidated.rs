//! Consolidated metadata (v2 `.zmetadata`, v3 inline `consolidated_metadata` in the root
//! `zarr.json`). zarr-python and anndata trust it instead of listing the store, so after any
//! change to a store's metadata it must be rebuilt, or new elements stay invisible.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::atomic::write_file_atomic;
use super::problem::StoreCtx;
use super::zarr_read::ZarrVersion;
use crate::error::{Error, Result};

fn read_json(ctx: &StoreCtx, file: &Path) -> Result<Option<Value>> {
    match std::fs::read(file) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| ctx.backend("", format!("{}: {e}", file.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(file, e)),
    }
}

/// Member directories of `dir`, sorted, skipping dot-names (metadata files, unfinished writes).
fn subdirs(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.path().is_dir() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

fn prefixed(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

fn walk_v2(ctx: &StoreCtx, dir: &Path, prefix: &str, out: &mut Map<String, Value>) -> Result<()> {
    let mut is_node = false;
    for file in [".zgroup", ".zarray", ".zattrs"] {
        if let Some(v) = read_json(ctx, &dir.join(file))? {
            out.insert(prefixed(prefix, file), v);
            is_node = true;
        }
    }
    // Arrays hold chunks, not members; plain directories are not part of the hierarchy.
    if !is_node || dir.join(".zarray").is_file() {
        return Ok(());
    }
    for name in subdirs(dir)? {
        walk_v2(ctx, &dir.join(&name), &prefixed(prefix, &name), out)?;
    }
    Ok(())
}

fn walk_v3(ctx: &StoreCtx, dir: &Path, prefix: &str, out: &mut Map<String, Value>) -> Result<()> {
    for name in subdirs(dir)? {
        let sub = dir.join(&name);
        let key = prefixed(prefix, &name);
        let Some(mut meta) = read_json(ctx, &sub.join("zarr.json"))? else {
            continue;
        };
        let is_group = meta.get("node_type").and_then(Value::as_str) == Some("group");
        if is_group {
            // zarr-python keeps the flat map at the root and an empty one in each group.
            meta["consolidated_metadata"] = empty_inline();
        }
        out.insert(key.clone(), meta);
        if is_group {
            walk_v3(ctx, &sub, &key, out)?;
        }
    }
    Ok(())
}

fn empty_inline() -> Value {
    json!({"kind": "inline", "must_understand": false, "metadata": {}})
}

/// Rebuilds the store's consolidated metadata if it has any; stores without it are left alone.
pub(crate) fn refresh(root: &Path, version: ZarrVersion, ctx: &StoreCtx) -> Result<()> {
    match version {
        ZarrVersion::V2 => {
            let file = root.join(".zmetadata");
            if !file.is_file() {
                return Ok(());
            }
            let mut meta = Map::new();
            walk_v2(ctx, root, "", &mut meta)?;
            let doc = json!({"metadata": meta, "zarr_consolidated_format": 1});
            write_file_atomic(&file, &serde_json::to_vec(&doc).expect("JSON serialises"))
        }
        ZarrVersion::V3 => {
            let file = root.join("zarr.json");
            let Some(mut doc) = read_json(ctx, &file)? else {
                return Ok(());
            };
            if doc.get("consolidated_metadata").is_none_or(Value::is_null) {
                return Ok(());
            }
            let mut meta = Map::new();
            walk_v3(ctx, root, "", &mut meta)?;
            doc["consolidated_metadata"] =
                json!({"kind": "inline", "must_understand": false, "metadata": meta});
            write_file_atomic(
                &file,
                &serde_json::to_vec_pretty(&doc).expect("JSON serialises"),
            )
        }
    }
}
