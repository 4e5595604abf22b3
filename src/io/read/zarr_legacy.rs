//! Zarr v2 arrays that AnnData before 0.7 wrote and `zarrs` has no data type for: structured
//! (record) arrays holding obs, var and raw.var, and object arrays of JSON-encoded values
//! (the numcodecs `json2` filter) holding the categories in `uns/<column>_categories`.
//!
//! Both are dataframe-sized and read whole. A structured array's chunks are decoded by `zarrs`
//! as raw bytes of the record size (its compressor is an ordinary one), then the field is cut
//! out of each record; a `json2` array's chunks are decompressed here and parsed as JSON.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use zarrs::array::{Array, ArrayBytes, ArrayMetadata, ArrayMetadataV2, ArraySubset};
use zarrs::filesystem::FilesystemStore;

use super::values::Values;

/// The fields of a structured dtype: (name, numpy type string), in record order.
pub(crate) fn structured_fields(meta: &Value) -> Option<Vec<(String, String)>> {
    let fields = meta.get("dtype")?.as_array()?;
    fields
        .iter()
        .map(|f| match f.as_array().map(Vec::as_slice) {
            Some([Value::String(name), Value::String(ty)]) => Some((name.clone(), ty.clone())),
            _ => None,
        })
        .collect()
}

/// Whether the array's values are JSON documents (numcodecs `json2` / `json` filter).
pub(crate) fn is_json_object_array(meta: &Value) -> bool {
    meta.get("dtype").and_then(Value::as_str) == Some("|O")
        && meta
            .get("filters")
            .and_then(Value::as_array)
            .is_some_and(|f| {
                f.iter().any(|c| {
                    matches!(
                        c.get("id").and_then(Value::as_str),
                        Some("json2") | Some("json")
                    )
                })
            })
}

/// A numpy scalar type string (`<f8`, `|S6`, `<U10`, `|b1`, ...): kind, size in bytes, and
/// whether it is big-endian.
fn parse_type(ty: &str) -> Result<(char, usize, bool), String> {
    let bad = || format!("numpy type '{ty}' is not supported in a record array");
    let mut chars = ty.chars();
    let order = chars.next().ok_or_else(bad)?;
    let kind = chars.next().ok_or_else(bad)?;
    let n: usize = chars.as_str().parse().map_err(|_| bad())?;
    if !matches!(order, '<' | '>' | '|' | '=') {
        return Err(bad());
    }
    let size = match kind {
        'U' => n.checked_mul(4).ok_or_else(bad)?,
        'i' | 'u' | 'f' | 'b' | 'S' | 'V' => n,
        _ => return Err(bad()),
    };
    Ok((kind, size, order == '>'))
}

/// Reads field `field` of the structured v2 array at `element` (metadata `meta`).
pub(crate) fn read_structured_field(
    storage: &Arc<FilesystemStore>,
    element: &str,
    meta: &Value,
    field: &str,
) -> Result<Values, String> {
    let fields = structured_fields(meta).ok_or("not a structured array")?;
    let mut offset = 0usize;
    let mut found = None;
    for (name, ty) in &fields {
        let (kind, size, big) = parse_type(ty)?;
        if name == field {
            found = Some((kind, size, big, offset));
        }
        offset = offset.checked_add(size).ok_or("record too large")?;
    }
    let record = offset;
    let (kind, size, big, at) = found.ok_or_else(|| format!("no field '{field}'"))?;
    let shape = meta.get("shape").and_then(Value::as_array).map(Vec::len);
    if shape != Some(1) || record == 0 {
        return Err("only 1-dimensional record arrays are read".into());
    }
    let n = meta["shape"][0].as_u64().ok_or("bad shape")?;
    if n.checked_mul(record as u64)
        .is_none_or(|b| b > MAX_RECORDS_BYTES)
    {
        return Err(format!(
            "{n} records of {record} bytes are more than a dataframe holds"
        ));
    }
    // The same array seen as opaque records of `record` bytes: zarrs decodes the chunks.
    let mut raw = meta.clone();
    raw["dtype"] = Value::String(format!("|V{record}"));
    let raw: ArrayMetadataV2 = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    let array = Array::new_with_metadata(
        storage.clone(),
        &format!("/{element}"),
        ArrayMetadata::V2(raw),
    )
    .map_err(|e| e.to_string())?;
    let subset = ArraySubset::new_with_shape(array.shape().to_vec());
    // zarrs may panic on corrupt chunks (see `guard`): contained here like every zarr read.
    let bytes: ArrayBytes<'static> = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        array.retrieve_array_subset(&subset)
    }))
    .map_err(|_| "corrupt data: the zarr decoder failed decoding the records".to_string())?
    .map_err(|e| e.to_string())?;
    let bytes = bytes.into_fixed().map_err(|e| e.to_string())?;
    let items = bytes.chunks_exact(record).map(|r| &r[at..at + size]);
    decode(items, kind, size, big).map_err(|e| format!("field '{field}': {e}"))
}

/// Decodes one field of every record.
fn decode<'a>(
    items: impl Iterator<Item = &'a [u8]>,
    kind: char,
    size: usize,
    big: bool,
) -> Result<Values, String> {
    macro_rules! num {
        ($variant:ident, $t:ty) => {
            Values::$variant(
                items
                    .map(|b| {
                        let mut a = [0u8; std::mem::size_of::<$t>()];
                        a.copy_from_slice(b);
                        if big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }
                    })
                    .collect(),
            )
        };
    }
    Ok(match (kind, size) {
        ('i', 1) => num!(I8, i8),
        ('i', 2) => num!(I16, i16),
        ('i', 4) => num!(I32, i32),
        ('i', 8) => num!(I64, i64),
        ('u', 1) => num!(U8, u8),
        ('u', 2) => num!(U16, u16),
        ('u', 4) => num!(U32, u32),
        ('u', 8) => num!(U64, u64),
        ('f', 4) => num!(F32, f32),
        ('f', 8) => num!(F64, f64),
        ('b', 1) => Values::Bool(items.map(|b| b[0] != 0).collect()),
        ('S', _) => Values::Str(
            items
                .map(|b| {
                    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    String::from_utf8_lossy(&b[..end]).into_owned()
                })
                .collect(),
        ),
        ('U', _) => Values::Str(
            items
                .map(|b| {
                    b.chunks_exact(4)
                        .map(|c| {
                            let c = [c[0], c[1], c[2], c[3]];
                            if big {
                                u32::from_be_bytes(c)
                            } else {
                                u32::from_le_bytes(c)
                            }
                        })
                        .take_while(|&c| c != 0)
                        .map(|c| char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER))
                        .collect()
                })
                .collect(),
        ),
        _ => return Err(format!("{kind}{size} values are not supported")),
    })
}

/// Largest record array read (obs of tens of millions of cells).
const MAX_RECORDS_BYTES: u64 = 16 << 30;

/// Largest decompressed chunk accepted (the arrays read here are category lists).
const MAX_CHUNK: usize = 256 << 20;

/// Reads the whole 1-D `json2` object array in `dir` (metadata `meta`) as strings: the
/// categories of a pre-0.7 categorical column. Numbers become their decimal text.
pub(crate) fn read_json_strings(dir: &Path, meta: &Value) -> Result<Values, String> {
    let dims = |key: &str| -> Result<u64, String> {
        match meta.get(key).and_then(Value::as_array).map(Vec::as_slice) {
            Some([n]) => n.as_u64().ok_or_else(|| format!("bad {key}")),
            _ => Err("only 1-dimensional object arrays are read".into()),
        }
    };
    let (len, chunk) = (dims("shape")?, dims("chunks")?);
    if chunk == 0 {
        return Err("chunk length 0".into());
    }
    let mut out = Vec::new();
    for i in 0..len.div_ceil(chunk) {
        let want = chunk.min(len - i * chunk) as usize;
        let file = dir.join(i.to_string());
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            // A chunk never written holds the fill value: missing categories.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.extend(std::iter::repeat_n(String::new(), want));
                continue;
            }
            Err(e) => return Err(format!("chunk {i}: {e}")),
        };
        let text =
            decompress(meta.get("compressor"), &bytes).map_err(|e| format!("chunk {i}: {e}"))?;
        let doc: Value = serde_json::from_slice(&text).map_err(|e| format!("chunk {i}: {e}"))?;
        // numcodecs JSON: the items, then the dtype string, then the shape.
        let items = match doc.as_array().map(Vec::as_slice) {
            Some([items @ .., Value::String(_), Value::Array(_)]) => items,
            _ => return Err(format!("chunk {i} is not a numcodecs JSON array")),
        };
        if items.len() < want {
            return Err(format!(
                "chunk {i} holds {} values, not {want}",
                items.len()
            ));
        }
        for v in &items[..want] {
            out.push(match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            });
        }
    }
    Ok(Values::Str(out))
}

/// Undoes a v2 compressor: none, blosc, zlib or gzip.
fn decompress(compressor: Option<&Value>, bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let id = match compressor {
        None | Some(Value::Null) => return Ok(bytes.to_vec()),
        Some(c) => c.get("id").and_then(Value::as_str).unwrap_or_default(),
    };
    let mut out = Vec::new();
    let limited = |r: &mut dyn Read, out: &mut Vec<u8>| {
        r.take(MAX_CHUNK as u64 + 1)
            .read_to_end(out)
            .map_err(|e| e.to_string())
    };
    match id {
        "zlib" => limited(&mut flate2::read::ZlibDecoder::new(bytes), &mut out)?,
        "gzip" => limited(&mut flate2::read::GzDecoder::new(bytes), &mut out)?,
        "blosc" => {
            // Bytes 4..8 of a blosc header: the decompressed size, checked before decoding.
            let claimed = bytes
                .get(4..8)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or("truncated blosc frame")?;
            if claimed > MAX_CHUNK {
                return Err(format!("blosc frame claims {claimed} bytes"));
            }
            use zarrs::array::codec::{
                BloscCodec, BloscCompressionLevel, BloscCompressor, BloscShuffleMode,
            };
            use zarrs::array::{BytesRepresentation, BytesToBytesCodecTraits, CodecOptions};
            // The header of each blosc frame says how it was compressed: any settings decode.
            let level = BloscCompressionLevel::try_from(5u8).map_err(|e| e.to_string())?;
            let codec = BloscCodec::new(
                BloscCompressor::LZ4,
                level,
                None,
                BloscShuffleMode::NoShuffle,
                None,
            )
            .map_err(|e| e.to_string())?;
            out = codec
                .decode(
                    std::borrow::Cow::Borrowed(bytes),
                    &BytesRepresentation::UnboundedSize,
                    &CodecOptions::default(),
                )
                .map_err(|e| e.to_string())?
                .into_owned();
            0
        }
        other => {
            return Err(format!(
                "compressor '{other}' is not supported for object arrays"
            ))
        }
    };
    if out.len() > MAX_CHUNK {
        return Err("decompressed chunk too large".into());
    }
    Ok(out)
}
