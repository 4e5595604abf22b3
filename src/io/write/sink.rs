//! The write side's counterpart of [`Backend`](super::backend::Backend): where AnnData
//! elements go. A sink creates groups and 1-D arrays at element paths (relative to its root,
//! `/`-separated, parents created first), each with its attributes given as JSON values; the
//! element encoder ([`super::encode`]) is written once over this trait for zarr and HDF5.

use serde_json::{Map, Value};

use super::values::Values;
use crate::error::Result;

/// A store being written, element by element.
pub(crate) trait Sink {
    /// Creates the group `el` with `attrs`.
    fn group(&self, el: &str, attrs: Map<String, Value>) -> Result<()>;

    /// Writes the whole 1-D array `el` with `attrs`.
    fn array(&self, el: &str, values: &Values, attrs: Map<String, Value>) -> Result<()>;
}
