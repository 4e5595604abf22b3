//! An opened AnnData store of any supported format.

use std::path::Path;
use std::sync::Arc;

use super::backend::{attr_str, detect, join, Backend, Detected, NodeKind};
use super::column::{self, Column, DataFrame};
use super::matrix::MatrixReader;
use super::options::{ReadOptions, StoreFormat};
use super::problem::{StoreCtx, StoreProblem};
use super::zarr::{ZarrBackend, ZarrVersion};
use crate::error::Result;

/// How to open a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// For a MuData store (`.h5mu`, MuData zarr), the modality to read (`mod/<name>`); `None`
    /// reads `rna` when there is one, else the only modality. Refused for an AnnData store.
    pub modality: Option<String>,
}

impl StoreOptions {
    /// Reads the modality `name` of a MuData store.
    pub fn with_modality(mut self, name: impl Into<String>) -> Self {
        self.modality = Some(name.into());
        self
    }
}

/// An AnnData store opened for reading: `.h5ad` file or zarr (v2/v3) directory, or one
/// modality of a MuData store (`.h5mu` or zarr).
///
/// Opening reads only the root metadata; dataframes and matrices are read when asked for.
/// Stores written by anndata before 0.7 (obs and var as record arrays, categories in `uns`,
/// `raw.X`) read as anndata 0.12 reads them.
pub struct AnnDataStore {
    backend: Arc<dyn Backend>,
    format: StoreFormat,
    modality: Option<String>,
    legacy: bool,
}

impl std::fmt::Debug for AnnDataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnDataStore")
            .field("path", &self.path())
            .field("format", &self.format)
            .finish()
    }
}

impl AnnDataStore {
    /// Opens the store at `path`, recognising its format from its contents (for MuData, the
    /// modality of [`StoreOptions::default`]).
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when `path` cannot be read; [`Error::Store`](crate::Error::Store) when it is not an AnnData
    /// or MuData store this crate reads (the problem says which element is wrong).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens the store at `path` as `opts` say.
    ///
    /// # Errors
    /// [`StoreProblem::UnknownFormat`](crate::io::StoreProblem::UnknownFormat) for a path that is no store,
    /// [`StoreProblem::WrongEncoding`](crate::io::StoreProblem::WrongEncoding) for a root of another encoding,
    /// [`StoreProblem::NoSuchModality`](crate::io::StoreProblem::NoSuchModality) for a MuData store without the modality (or with
    /// several and none named), [`Error::InvalidArgument`](crate::Error::InvalidArgument) for
    /// a modality named for an AnnData store, and the storage library's errors.
    pub fn open_with(path: impl AsRef<Path>, opts: &StoreOptions) -> Result<Self> {
        let path = path.as_ref();
        let ctx = StoreCtx::new(path);
        let detected = detect(path).map_err(|why| ctx.err("", StoreProblem::UnknownFormat(why)))?;
        let (backend, format): (Arc<dyn Backend>, StoreFormat) = match detected {
            Detected::ZarrV2 => (
                Arc::new(ZarrBackend::open(path, ZarrVersion::V2)?),
                StoreFormat::Zarr(ZarrVersion::V2),
            ),
            Detected::ZarrV3 => (
                Arc::new(ZarrBackend::open(path, ZarrVersion::V3)?),
                StoreFormat::Zarr(ZarrVersion::V3),
            ),
            Detected::H5ad => (open_h5ad(path)?, StoreFormat::H5ad),
        };
        if backend.node("")? != Some(NodeKind::Group) {
            return Err(ctx.err(
                "",
                StoreProblem::UnknownFormat("root is not a group".into()),
            ));
        }
        let (backend, modality) = if super::mudata::is_mudata(backend.as_ref())? {
            let name = super::mudata::pick_modality(backend.as_ref(), opts.modality.as_deref())?;
            let view: Arc<dyn Backend> = Arc::new(super::mudata::ModalityView::new(backend, &name));
            if view.node("")? != Some(NodeKind::Group) {
                return Err(ctx.err(&format!("mod/{name}"), StoreProblem::Missing));
            }
            (view, Some(name))
        } else if let Some(name) = &opts.modality {
            return Err(crate::Error::InvalidArgument(format!(
                "{} is an AnnData store, not MuData: it has no modality '{name}' to choose",
                path.display()
            )));
        } else {
            (backend, None)
        };
        let attrs = backend.attrs("")?;
        // Old writers left the root without attributes; accept that, but not a foreign encoding.
        if let Some(enc) = attr_str(&attrs, "encoding-type") {
            if enc != "anndata" {
                return Err(ctx.err(
                    "",
                    StoreProblem::WrongEncoding {
                        expected: "'anndata'".into(),
                        found: enc.into(),
                    },
                ));
            }
        }
        let legacy = super::legacy::is_legacy(backend.as_ref())?;
        let backend: Arc<dyn Backend> = if legacy {
            Arc::new(super::legacy::LegacyView::new(backend)?)
        } else {
            backend
        };
        Ok(AnnDataStore {
            backend,
            format,
            modality,
            legacy,
        })
    }

    /// The MuData modality read, for a MuData store.
    pub fn modality(&self) -> Option<&str> {
        self.modality.as_deref()
    }

    /// Whether the store has the layout anndata wrote before 0.7 (read through a view of
    /// the modern layout; new obs columns cannot be added to it).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        self.backend.ctx().path()
    }

    /// The store's format.
    pub fn format(&self) -> StoreFormat {
        self.format
    }

    fn index_len(&self, df: &str) -> Result<usize> {
        let (index, _) = column::dataframe_layout(self.backend.as_ref(), df)?;
        let arr = self.backend.open_array(&join(df, &index));
        match arr {
            Ok(a) => Ok(a.shape().first().copied().unwrap_or(0) as usize),
            // An index stored as a categorical group: fall back to decoding it.
            Err(_) => Ok(column::read_index(self.backend.as_ref(), df)?.len()),
        }
    }

    /// Number of cells (rows of obs).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn n_obs(&self) -> Result<usize> {
        self.index_len("obs")
    }

    /// Number of genes (rows of var).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn n_vars(&self) -> Result<usize> {
        self.index_len("var")
    }

    /// The whole obs dataframe.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn obs(&self) -> Result<DataFrame> {
        column::read_dataframe(self.backend.as_ref(), "obs")
    }

    /// The whole var dataframe.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn var(&self) -> Result<DataFrame> {
        column::read_dataframe(self.backend.as_ref(), "var")
    }

    /// The `raw/var` dataframe (genes of `raw/X`).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn raw_var(&self) -> Result<DataFrame> {
        column::read_dataframe(self.backend.as_ref(), "raw/var")
    }

    /// Cell names (the obs index).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn obs_names(&self) -> Result<Vec<String>> {
        column::read_index(self.backend.as_ref(), "obs")
    }

    /// Gene names (the var index).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn var_names(&self) -> Result<Vec<String>> {
        column::read_index(self.backend.as_ref(), "var")
    }

    /// Names of the obs columns, in stored order.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn obs_column_names(&self) -> Result<Vec<String>> {
        Ok(column::dataframe_layout(self.backend.as_ref(), "obs")?.1)
    }

    /// One obs column.
    ///
    /// # Errors
    /// [`StoreProblem::Missing`](crate::io::StoreProblem::Missing) when obs has no column `name`; otherwise as for
    /// [`Self::obs`].
    pub fn obs_column(&self, name: &str) -> Result<Column> {
        self.df_column("obs", name)
    }

    /// One var column.
    ///
    /// # Errors
    /// [`StoreProblem::Missing`](crate::io::StoreProblem::Missing) when var has no column `name`; otherwise as for
    /// [`Self::var`].
    pub fn var_column(&self, name: &str) -> Result<Column> {
        self.df_column("var", name)
    }

    fn df_column(&self, df: &str, name: &str) -> Result<Column> {
        let (_, order) = column::dataframe_layout(self.backend.as_ref(), df)?;
        if !order.iter().any(|c| c == name) {
            return Err(self
                .backend
                .ctx()
                .err(&join(df, name), StoreProblem::Missing));
        }
        column::read_column(self.backend.as_ref(), &join(df, name))
    }

    /// Names under `layers/` (empty when the store has none).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn layers(&self) -> Result<Vec<String>> {
        match self.backend.node("layers")? {
            Some(NodeKind::Group) => self.backend.children("layers"),
            _ => Ok(Vec::new()),
        }
    }

    /// Whether the store has a `raw` group with an `X`.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`](crate::Error::Io) when a file cannot be read.
    pub fn has_raw(&self) -> Result<bool> {
        Ok(self.backend.node("raw")? == Some(NodeKind::Group)
            && self.backend.node("raw/X")?.is_some())
    }

    /// Opens the matrix chosen in `opts` for streaming.
    ///
    /// # Errors
    /// [`StoreProblem::Missing`](crate::io::StoreProblem::Missing) when the chosen matrix (X, a layer, `raw/X`) is absent;
    /// [`Error::Store`](crate::Error::Store) for an encoding this crate does not read or a malformed matrix.
    pub fn matrix(&self, opts: &ReadOptions) -> Result<MatrixReader> {
        let n_obs = self.n_obs()? as u64;
        MatrixReader::open(self.backend.as_ref(), opts, n_obs)
    }
}

/// Opens the matrix chosen in `opts` of the store at `path` (a shortcut for
/// [`AnnDataStore::open`] then [`AnnDataStore::matrix`]).
///
/// # Errors
/// As for [`AnnDataStore::open`] and [`AnnDataStore::matrix`].
pub fn open_matrix(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<MatrixReader> {
    AnnDataStore::open(path)?.matrix(opts)
}

#[cfg(feature = "h5ad")]
pub(crate) fn open_h5ad(path: &Path) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(super::h5::H5Backend::open(path)?))
}

#[cfg(not(feature = "h5ad"))]
pub(crate) fn open_h5ad(path: &Path) -> Result<Arc<dyn Backend>> {
    Err(StoreCtx::new(path).err("", StoreProblem::FeatureDisabled("h5ad")))
}
