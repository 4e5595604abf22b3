//! MuData stores (`.h5mu`, MuData zarr): one AnnData per modality under `mod/<name>`, next to
//! the global obs, var, obsm and the obs/var maps of the whole container.
//!
//! A modality is read as an AnnData of its own through [`ModalityView`], which prefixes every
//! element path with `mod/<name>`; errors still name the full element in the file.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::backend::{attr_str, ArrayHandle, Backend, NodeKind};
use super::problem::{StoreCtx, StoreProblem};
use crate::error::Result;

/// The modality read when none is named and the store has one of this name.
pub const DEFAULT_MODALITY: &str = "rna";

/// Whether the root of `b` is a MuData container.
pub(crate) fn is_mudata(b: &dyn Backend) -> Result<bool> {
    let attrs = b.attrs("")?;
    Ok(match attr_str(&attrs, "encoding-type") {
        Some(enc) => enc.eq_ignore_ascii_case("mudata"),
        None => b.node("mod")? == Some(NodeKind::Group) && b.node("X")?.is_none(),
    })
}

/// The modalities of the MuData container `b`, in its `mod-order` when it has one.
pub(crate) fn modalities(b: &dyn Backend) -> Result<Vec<String>> {
    if b.node("mod")? != Some(NodeKind::Group) {
        return Ok(Vec::new());
    }
    let mut names = b.children("mod")?;
    if let Some(Value::Array(order)) = b.attrs("mod")?.get("mod-order") {
        let order: Vec<String> = order
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .filter(|n| names.contains(n))
            .collect();
        names.retain(|n| !order.contains(n));
        names.splice(0..0, order);
    }
    Ok(names)
}

/// The modality to read: `requested`, else [`DEFAULT_MODALITY`] when present, else the only
/// one. Errors name the modalities there are.
pub(crate) fn pick_modality(b: &dyn Backend, requested: Option<&str>) -> Result<String> {
    let names = modalities(b)?;
    let listed = || {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    match requested {
        Some(name) if names.iter().any(|n| n == name) => Ok(name.to_string()),
        Some(name) => Err(b.ctx().err(
            &format!("mod/{name}"),
            StoreProblem::NoSuchModality {
                requested: Some(name.to_string()),
                available: listed(),
            },
        )),
        None if names.iter().any(|n| n == DEFAULT_MODALITY) => Ok(DEFAULT_MODALITY.to_string()),
        None if names.len() == 1 => Ok(names[0].clone()),
        None => Err(b.ctx().err(
            "mod",
            StoreProblem::NoSuchModality {
                requested: None,
                available: listed(),
            },
        )),
    }
}

/// One modality of a MuData container, seen as an AnnData store.
pub(crate) struct ModalityView {
    inner: Arc<dyn Backend>,
    prefix: String,
}

impl ModalityView {
    /// The modality `name` of `inner` (which must exist: see [`pick_modality`]).
    pub(crate) fn new(inner: Arc<dyn Backend>, name: &str) -> Self {
        ModalityView {
            inner,
            prefix: format!("mod/{name}"),
        }
    }

    fn full(&self, element: &str) -> String {
        super::backend::join(&self.prefix, element)
    }
}

impl Backend for ModalityView {
    fn ctx(&self) -> &StoreCtx {
        self.inner.ctx()
    }

    fn node(&self, element: &str) -> Result<Option<NodeKind>> {
        self.inner.node(&self.full(element))
    }

    fn attrs(&self, element: &str) -> Result<Map<String, Value>> {
        self.inner.attrs(&self.full(element))
    }

    fn children(&self, element: &str) -> Result<Vec<String>> {
        self.inner.children(&self.full(element))
    }

    fn open_array(&self, element: &str) -> Result<Box<dyn ArrayHandle>> {
        self.inner.open_array(&self.full(element))
    }

    fn record_fields(&self, element: &str) -> Result<Option<Vec<String>>> {
        self.inner.record_fields(&self.full(element))
    }

    fn open_field(&self, element: &str, field: &str) -> Result<Box<dyn ArrayHandle>> {
        self.inner.open_field(&self.full(element), field)
    }
}

/// Where new obs columns go in a store: the AnnData seen (the modality, for MuData) and the
/// path prefix of its elements (`""` or `mod/<name>`).
pub(crate) struct ObsTarget {
    pub(crate) view: Arc<dyn Backend>,
    pub(crate) prefix: String,
}

impl ObsTarget {
    /// Resolves the AnnData of `backend` that gains obs columns: the modality `modality`
    /// (see [`pick_modality`]) of a MuData store, else the store itself. Refuses a modality
    /// named for an AnnData store, and a pre-0.7 layout (obs a record array), whose obs
    /// cannot take new members.
    pub(crate) fn resolve(backend: Arc<dyn Backend>, modality: Option<&str>) -> Result<Self> {
        let (view, prefix): (Arc<dyn Backend>, String) = if is_mudata(backend.as_ref())? {
            let name = pick_modality(backend.as_ref(), modality)?;
            (
                Arc::new(ModalityView::new(backend, &name)),
                format!("mod/{name}"),
            )
        } else if let Some(name) = modality {
            return Err(crate::Error::InvalidArgument(format!(
                "{} is an AnnData store, not MuData: it has no modality '{name}'",
                backend.ctx().path().display()
            )));
        } else {
            (backend, String::new())
        };
        if view.record_fields("obs")?.is_some() {
            return Err(view.ctx().err(
                &super::backend::join(&prefix, "obs"),
                StoreProblem::NotWritable(
                    "obs is a record array of the layout anndata wrote before 0.7; write the \
                     results to a table (--table), or read the store with a current anndata, \
                     write it again (write_h5ad / write_zarr) and annotate that"
                        .into(),
                ),
            ));
        }
        Ok(ObsTarget { view, prefix })
    }

    /// The element path of `element` of the AnnData (e.g. `obs` → `mod/rna/obs`).
    pub(crate) fn element(&self, element: &str) -> String {
        super::backend::join(&self.prefix, element)
    }
}
