//! The AnnData encoding of obs/var columns and dataframes, written once over [`Sink`] for
//! zarr and HDF5 alike: strings, numbers and booleans as arrays, categoricals with the
//! narrowest signed code type pandas would choose, nullable columns as values + mask.

use serde_json::{json, Map, Value};

use super::column::{Column, DataFrame};
use super::sink::Sink;
use super::values::Values;
use crate::error::Result;

/// The `encoding-type` / `encoding-version` attributes of an element.
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
pub(crate) fn write_column(out: &dyn Sink, el: &str, col: &Column) -> Result<()> {
    let sub = |name: &str| {
        if el.is_empty() {
            name.to_string()
        } else {
            format!("{el}/{name}")
        }
    };
    let array = || enc("array", "0.2.0");
    let strings = || enc("string-array", "0.2.0");
    match col {
        Column::String(v) => out.array(el, &Values::Str(v.clone()), strings()),
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
                strings(),
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
            out.array(&sub("values"), &Values::Str(values), strings())?;
            out.array(&sub("mask"), &Values::Bool(mask), array())
        }
    }
}

/// Writes a whole dataframe group (`_index` plus the columns) at `el`.
pub(crate) fn write_dataframe(out: &dyn Sink, el: &str, df: &DataFrame) -> Result<()> {
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
