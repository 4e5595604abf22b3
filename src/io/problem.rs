//! Building store errors for one store ([`StoreProblem`] itself lives with the error type).

use std::path::Path;

use crate::error::Error;

pub use crate::error::StoreProblem;

/// Builds [`Error::Store`] values for one store.
#[derive(Debug, Clone)]
pub(crate) struct StoreCtx {
    path: std::sync::Arc<Path>,
}

impl StoreCtx {
    pub(crate) fn new(path: &Path) -> Self {
        StoreCtx { path: path.into() }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, element: &str, problem: StoreProblem) -> Error {
        Error::Store {
            path: self.path.to_path_buf(),
            element: element.to_string(),
            problem,
        }
    }

    pub(crate) fn backend(&self, element: &str, what: impl std::fmt::Display) -> Error {
        self.err(element, StoreProblem::Backend(what.to_string()))
    }

    pub(crate) fn shape(&self, element: &str, what: impl Into<String>) -> Error {
        self.err(element, StoreProblem::ShapeMismatch(what.into()))
    }

    pub(crate) fn unsupported(&self, element: &str, what: impl Into<String>) -> Error {
        self.err(element, StoreProblem::Unsupported(what.into()))
    }
}
