//! obs/var dataframe columns: the typed values and how each AnnData encoding is decoded.

use serde_json::Value;

use super::backend::{attr_str, join, Backend, NodeKind};
use super::problem::StoreProblem;
use super::values::Values;
use crate::error::Result;

/// One column of an obs or var dataframe, decoded from whichever AnnData encoding it used.
///
/// Numbers keep their kind (float, signed, unsigned) but are widened to 64 bits.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Column {
    /// `string-array`.
    String(Vec<String>),
    /// `categorical`: `codes[i]` indexes `categories`, `-1` marks a missing value.
    ///
    /// Non-string categories (numbers, booleans) are given as their decimal text.
    Categorical {
        /// Category of each row, `-1` when missing.
        codes: Vec<i32>,
        /// The category labels.
        categories: Vec<String>,
        /// Whether the categories have an order.
        ordered: bool,
    },
    /// Floating-point `array`.
    Float(Vec<f64>),
    /// Signed integer `array`.
    Int(Vec<i64>),
    /// Unsigned integer `array`.
    UInt(Vec<u64>),
    /// Boolean `array`.
    Bool(Vec<bool>),
    /// `nullable-integer`.
    NullableInt(Vec<Option<i64>>),
    /// `nullable-boolean`.
    NullableBool(Vec<Option<bool>>),
    /// `nullable-string-array`.
    NullableString(Vec<Option<String>>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::String(v) => v.len(),
            Column::Categorical { codes, .. } => codes.len(),
            Column::Float(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::UInt(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::NullableInt(v) => v.len(),
            Column::NullableBool(v) => v.len(),
            Column::NullableString(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A categorical column built from labels, categories in order of first appearance.
    pub fn categorical_from_labels<S: AsRef<str>>(labels: &[S]) -> Column {
        let mut categories: Vec<String> = Vec::new();
        let mut lookup = std::collections::HashMap::new();
        let codes = labels
            .iter()
            .map(|l| {
                let l = l.as_ref();
                *lookup.entry(l.to_string()).or_insert_with(|| {
                    categories.push(l.to_string());
                    (categories.len() - 1) as i32
                })
            })
            .collect();
        Column::Categorical {
            codes,
            categories,
            ordered: false,
        }
    }

    /// The values as text, one per row (`None` where missing); numbers in decimal.
    ///
    /// Useful for gene identifiers, which may be stored as strings or as categoricals.
    pub fn to_strings(&self) -> Vec<Option<String>> {
        match self {
            Column::String(v) => v.iter().cloned().map(Some).collect(),
            Column::Categorical {
                codes, categories, ..
            } => codes
                .iter()
                .map(|&c| {
                    usize::try_from(c)
                        .ok()
                        .and_then(|c| categories.get(c).cloned())
                })
                .collect(),
            Column::Float(v) => v.iter().map(|x| Some(x.to_string())).collect(),
            Column::Int(v) => v.iter().map(|x| Some(x.to_string())).collect(),
            Column::UInt(v) => v.iter().map(|x| Some(x.to_string())).collect(),
            Column::Bool(v) => v.iter().map(|x| Some(x.to_string())).collect(),
            Column::NullableInt(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Column::NullableBool(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Column::NullableString(v) => v.clone(),
        }
    }
}

/// An obs or var dataframe: the row index and the columns in their stored order.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct DataFrame {
    /// Row names (cell barcodes for obs, gene names for var).
    pub index: Vec<String>,
    /// `(name, values)` in `column-order`.
    pub columns: Vec<(String, Column)>,
}

impl DataFrame {
    /// A dataframe from its index and columns (checked when written).
    pub fn new(index: Vec<String>, columns: Vec<(String, Column)>) -> Self {
        DataFrame { index, columns }
    }

    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
}

/// Checks that `element` is a dataframe group and returns its index key and column order.
pub(crate) fn dataframe_layout(b: &dyn Backend, element: &str) -> Result<(String, Vec<String>)> {
    let ctx = b.ctx();
    match b.node(element)? {
        Some(NodeKind::Group) => {}
        Some(NodeKind::Array) => {
            return Err(ctx.err(
                element,
                StoreProblem::WrongEncoding {
                    expected: "'dataframe' (a group)".into(),
                    found: "an array".into(),
                },
            ))
        }
        None => return Err(ctx.err(element, StoreProblem::Missing)),
    }
    let attrs = b.attrs(element)?;
    let enc = attr_str(&attrs, "encoding-type").unwrap_or("");
    if enc != "dataframe" {
        return Err(ctx.err(
            element,
            StoreProblem::WrongEncoding {
                expected: "'dataframe'".into(),
                found: enc.into(),
            },
        ));
    }
    let index = attr_str(&attrs, "_index").unwrap_or("_index").to_string();
    let order = match attrs.get("column-order") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>(),
        // A dataframe with no columns is sometimes written with an empty non-list value.
        None => Some(Vec::new()),
        Some(_) => None,
    }
    .ok_or_else(|| ctx.backend(element, "column-order is not a list of strings"))?;
    Ok((index, order))
}

/// Reads the row index of the dataframe at `element`.
pub(crate) fn read_index(b: &dyn Backend, element: &str) -> Result<Vec<String>> {
    let (index, _) = dataframe_layout(b, element)?;
    let col = read_column(b, &join(element, &index))?;
    strings_of(b, &join(element, &index), col)
}

/// Reads the whole dataframe at `element`.
pub(crate) fn read_dataframe(b: &dyn Backend, element: &str) -> Result<DataFrame> {
    let (index_key, order) = dataframe_layout(b, element)?;
    let index_el = join(element, &index_key);
    let index = strings_of(b, &index_el, read_column(b, &index_el)?)?;
    let mut columns = Vec::with_capacity(order.len());
    for name in order {
        let el = join(element, &name);
        let col = read_column(b, &el)?;
        if col.len() != index.len() {
            return Err(b.ctx().shape(
                &el,
                format!("{} rows but the index has {}", col.len(), index.len()),
            ));
        }
        columns.push((name, col));
    }
    Ok(DataFrame { index, columns })
}

/// A column that must hold text (index, gene identifiers), with no missing values.
pub(crate) fn strings_of(b: &dyn Backend, element: &str, col: Column) -> Result<Vec<String>> {
    if let Column::String(v) = col {
        return Ok(v);
    }
    col.to_strings()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.ok_or_else(|| {
                b.ctx().unsupported(
                    element,
                    format!("missing value at row {i} in a name column"),
                )
            })
        })
        .collect()
}

/// Decodes the column stored at `element` (an array or an encoded group).
pub(crate) fn read_column(b: &dyn Backend, element: &str) -> Result<Column> {
    let ctx = b.ctx();
    let kind = b
        .node(element)?
        .ok_or_else(|| ctx.err(element, StoreProblem::Missing))?;
    let attrs = b.attrs(element)?;
    let enc = attr_str(&attrs, "encoding-type").unwrap_or("");
    let wrong = |expected: &str| {
        ctx.err(
            element,
            StoreProblem::WrongEncoding {
                expected: expected.into(),
                found: enc.into(),
            },
        )
    };
    match kind {
        NodeKind::Array => {
            if !matches!(enc, "" | "array" | "string-array") {
                return Err(wrong("'array' or 'string-array' for an array column"));
            }
            let arr = b.open_array(element)?;
            if arr.shape().len() != 1 {
                return Err(ctx.shape(element, format!("column has shape {:?}", arr.shape())));
            }
            plain_column(b, element, arr.read_all()?)
        }
        NodeKind::Group => match enc {
            "categorical" => {
                let codes_el = join(element, "codes");
                let codes = b.open_array(&codes_el)?.read_all()?;
                let codes: Vec<i32> = codes
                    .ints()
                    .ok_or_else(|| ctx.unsupported(&codes_el, "non-integer categorical codes"))?
                    .into_iter()
                    .map(|c| i32::try_from(c).unwrap_or(i32::MAX))
                    .collect();
                let cats_el = join(element, "categories");
                let categories = strings_of(b, &cats_el, read_column(b, &cats_el)?)?;
                if let Some(&bad) = codes
                    .iter()
                    .find(|&&c| c < -1 || c as i64 >= categories.len() as i64)
                {
                    return Err(ctx.err(
                        &codes_el,
                        StoreProblem::IndexOutOfRange {
                            major: 0,
                            index: bad as i128,
                            bound: categories.len() as u64,
                        },
                    ));
                }
                let ordered = match attrs.get("ordered") {
                    Some(Value::Bool(x)) => *x,
                    Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
                    _ => false,
                };
                Ok(Column::Categorical {
                    codes,
                    categories,
                    ordered,
                })
            }
            "nullable-integer" | "nullable-boolean" | "nullable-string-array" => {
                let values_el = join(element, "values");
                let mask_el = join(element, "mask");
                let values = b.open_array(&values_el)?.read_all()?;
                let mask = b
                    .open_array(&mask_el)?
                    .read_all()?
                    .into_bools()
                    .ok_or_else(|| ctx.unsupported(&mask_el, "mask is not boolean"))?;
                if mask.len() != values.len() {
                    return Err(ctx.shape(
                        element,
                        format!("{} values but {} mask entries", values.len(), mask.len()),
                    ));
                }
                let keep = |i: usize| !mask[i];
                match enc {
                    "nullable-integer" => {
                        let v = values.to_i64().ok_or_else(|| {
                            ctx.unsupported(&values_el, format!("{} values", values.dtype()))
                        })?;
                        Ok(Column::NullableInt(
                            v.into_iter()
                                .enumerate()
                                .map(|(i, x)| keep(i).then_some(x))
                                .collect(),
                        ))
                    }
                    "nullable-boolean" => {
                        let v = values
                            .into_bools()
                            .ok_or_else(|| ctx.unsupported(&values_el, "values are not boolean"))?;
                        Ok(Column::NullableBool(
                            v.into_iter()
                                .enumerate()
                                .map(|(i, x)| keep(i).then_some(x))
                                .collect(),
                        ))
                    }
                    _ => {
                        let v = values
                            .into_strings()
                            .ok_or_else(|| ctx.unsupported(&values_el, "values are not strings"))?;
                        Ok(Column::NullableString(
                            v.into_iter()
                                .enumerate()
                                .map(|(i, x)| keep(i).then_some(x))
                                .collect(),
                        ))
                    }
                }
            }
            _ => Err(wrong(
                "'categorical', 'nullable-integer', 'nullable-boolean' or \
                 'nullable-string-array' for a group column",
            )),
        },
    }
}

fn plain_column(b: &dyn Backend, element: &str, v: Values) -> Result<Column> {
    Ok(match v {
        Values::Str(s) => Column::String(s),
        Values::Bool(x) => Column::Bool(x),
        Values::F32(_) | Values::F64(_) => Column::Float(v.to_f64().unwrap_or_default()),
        Values::U8(_) | Values::U16(_) | Values::U32(_) | Values::U64(_) => Column::UInt(
            v.ints()
                .unwrap_or_default()
                .into_iter()
                .map(|x| x as u64)
                .collect(),
        ),
        other => Column::Int(other.to_i64().ok_or_else(|| {
            b.ctx()
                .unsupported(element, format!("{} column", other.dtype()))
        })?),
    })
}
