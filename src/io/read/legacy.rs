//! AnnData as written before 0.7, seen through the modern layout.
//!
//! Those writers stored obs, var and `raw.var` as record arrays (HDF5 compound datasets, numpy
//! structured zarr arrays) whose first field is the index, kept the categories of categorical
//! columns in `uns/<column>_categories` with the integer codes in the record, and wrote `raw`
//! as the top-level elements `raw.X`, `raw.var`, `raw.varm`. Sparse matrices carried
//! `h5sparse_format` attributes (read directly by the matrix reader).
//!
//! [`LegacyView`] presents such a store as the modern layout — dataframe groups with
//! `column-order`, categorical groups with `codes` and `categories`, a `raw` group — so every
//! reader above works unchanged and gives the values anndata 0.12 gives for the same file.
//! anndata's rule for the categories is followed: `uns/<name>_categories` applies to an obs or
//! var column `name` holding integers all below the number of categories (never to `raw.var`).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::backend::{ArrayHandle, Backend, NodeKind};
use super::problem::{StoreCtx, StoreProblem};
use crate::error::Result;

/// A record array seen as a dataframe.
struct Frame {
    /// The record array's element in the underlying store.
    source: String,
    /// Field names; the first is the index.
    fields: Vec<String>,
    /// Column name → element of its categories in the underlying store.
    categories: HashMap<String, String>,
}

/// What a path of the modern layout is in the underlying store.
enum Target<'a> {
    /// The same node under another name.
    Inner(String),
    /// The dataframe view of a record array.
    Frame(&'a Frame),
    /// A plain column: one field.
    Field(&'a Frame, String),
    /// A categorical column: its codes are a field, its categories an `uns` array.
    Categorical,
    /// The `raw` group made of the `raw.*` elements.
    RawGroup,
}

/// A pre-0.7 store seen as the modern layout (see the module documentation).
pub(crate) struct LegacyView {
    inner: Arc<dyn Backend>,
    /// Keyed by the modern name: `obs`, `var`, `raw/var`.
    frames: HashMap<String, Frame>,
    /// `raw` is stored as `raw.X`, `raw.var`, ...
    dotted_raw: bool,
}

/// Whether `b` holds a pre-0.7 layout: obs as a record array, or `raw.X` without `raw`.
pub(crate) fn is_legacy(b: &dyn Backend) -> Result<bool> {
    Ok(b.record_fields("obs")?.is_some()
        || b.record_fields("var")?.is_some()
        || (b.node("raw")?.is_none() && b.node("raw.X")?.is_some()))
}

impl LegacyView {
    /// Builds the view over `inner` (reads the record arrays' field lists and, for categorical
    /// candidates, their codes).
    pub(crate) fn new(inner: Arc<dyn Backend>) -> Result<Self> {
        let dotted_raw = inner.node("raw")?.is_none() && inner.node("raw.X")?.is_some();
        let uns_categories = categories_in_uns(inner.as_ref())?;
        let mut frames = HashMap::new();
        for (name, source) in [("obs", "obs"), ("var", "var"), ("raw/var", "raw.var")] {
            let source = if name == "raw/var" && !dotted_raw {
                "raw/var"
            } else {
                source
            };
            let Some(fields) = inner.record_fields(source)? else {
                continue;
            };
            let mut categories = HashMap::new();
            if name != "raw/var" {
                for (column, cats) in &uns_categories {
                    if fields.iter().skip(1).any(|f| f == column)
                        && codes_fit(inner.as_ref(), source, column, cats)?
                    {
                        categories.insert(column.clone(), cats.clone());
                    }
                }
            }
            frames.insert(
                name.to_string(),
                Frame {
                    source: source.to_string(),
                    fields,
                    categories,
                },
            );
        }
        Ok(LegacyView {
            inner,
            frames,
            dotted_raw,
        })
    }

    /// The underlying name of `element` when `raw` is dotted (`raw/X/data` → `raw.X/data`).
    fn undot(&self, element: &str) -> String {
        if self.dotted_raw {
            if let Some(rest) = element.strip_prefix("raw/") {
                return format!("raw.{rest}");
            }
        }
        element.to_string()
    }

    fn target(&self, element: &str) -> Target<'_> {
        if self.dotted_raw && element == "raw" {
            return Target::RawGroup;
        }
        for (name, frame) in &self.frames {
            if element == name {
                return Target::Frame(frame);
            }
            let Some(rest) = element
                .strip_prefix(name.as_str())
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            let (column, part) = match rest.split_once('/') {
                Some((c, p)) => (c, Some(p)),
                None => (rest, None),
            };
            if !frame.fields.iter().any(|f| f == column) {
                break;
            }
            let column = column.to_string();
            return match (frame.categories.get(&column), part) {
                (None, None) => Target::Field(frame, column),
                (Some(_), None) => Target::Categorical,
                (Some(_), Some("codes")) => Target::Field(frame, column),
                (Some(cats), Some("categories")) => Target::Inner(cats.clone()),
                // Nothing else exists below a column.
                _ => Target::Inner(format!("{}/{rest}", frame.source)),
            };
        }
        Target::Inner(self.undot(element))
    }
}

/// `uns/<name>_categories` arrays as (column name, element), anndata's way: every occurrence
/// of `_categories` removed from the key gives the column name.
fn categories_in_uns(b: &dyn Backend) -> Result<Vec<(String, String)>> {
    if b.node("uns")? != Some(NodeKind::Group) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for key in b.children("uns")? {
        if !key.ends_with("_categories") {
            continue;
        }
        let element = format!("uns/{key}");
        if b.node(&element)? != Some(NodeKind::Array) {
            continue;
        }
        out.push((key.replace("_categories", ""), element));
    }
    Ok(out)
}

/// Whether field `column` of `source` holds integer codes below the number of categories.
fn codes_fit(b: &dyn Backend, source: &str, column: &str, cats: &str) -> Result<bool> {
    let categories = b.open_array(cats)?;
    if categories.shape().len() != 1 {
        return Ok(false);
    }
    let n = categories.shape()[0] as i128;
    let Some(codes) = b.open_field(source, column)?.read_all()?.ints() else {
        return Ok(false);
    };
    Ok(codes.iter().all(|&c| c < n))
}

impl Backend for LegacyView {
    fn ctx(&self) -> &StoreCtx {
        self.inner.ctx()
    }

    fn node(&self, element: &str) -> Result<Option<NodeKind>> {
        Ok(match self.target(element) {
            Target::Inner(e) => self.inner.node(&e)?,
            Target::Frame(_) | Target::Categorical | Target::RawGroup => Some(NodeKind::Group),
            Target::Field(..) => Some(NodeKind::Array),
        })
    }

    fn attrs(&self, element: &str) -> Result<Map<String, Value>> {
        let attrs = match self.target(element) {
            Target::Inner(e) => return self.inner.attrs(&e),
            Target::Frame(f) => json!({
                "encoding-type": "dataframe",
                "encoding-version": "0.2.0",
                "_index": f.fields[0],
                "column-order": f.fields[1..],
            }),
            Target::Categorical => json!({
                "encoding-type": "categorical",
                "encoding-version": "0.2.0",
                "ordered": false,
            }),
            Target::Field(..) | Target::RawGroup => json!({}),
        };
        Ok(match attrs {
            Value::Object(m) => m,
            _ => Map::new(),
        })
    }

    fn children(&self, element: &str) -> Result<Vec<String>> {
        let mut names = match self.target(element) {
            Target::Inner(e) => return self.inner.children(&e),
            Target::Frame(f) => f.fields.clone(),
            Target::Categorical => vec!["categories".into(), "codes".into()],
            Target::Field(..) => Vec::new(),
            Target::RawGroup => self
                .inner
                .children("")?
                .into_iter()
                .filter_map(|n| n.strip_prefix("raw.").map(str::to_string))
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    fn open_array(&self, element: &str) -> Result<Box<dyn ArrayHandle>> {
        match self.target(element) {
            Target::Inner(e) => self.inner.open_array(&e),
            Target::Field(f, column) => self.inner.open_field(&f.source, &column),
            // Groups, not arrays, as the readers see them.
            Target::Frame(_) | Target::Categorical | Target::RawGroup => {
                Err(self.ctx().err(element, StoreProblem::Missing))
            }
        }
    }
}
