//! An opened AnnData store of any supported format.

use std::path::Path;
use std::sync::Arc;

use super::backend::{attr_str, detect, join, Backend, Detected, NodeKind};
use super::column::{self, Column, DataFrame};
use super::matrix::MatrixReader;
use super::options::{ReadOptions, StoreFormat};
use super::problem::{StoreCtx, StoreProblem};
use super::zarr_read::{ZarrBackend, ZarrVersion};
use crate::error::Result;

/// An AnnData store opened for reading: `.h5ad` file or zarr (v2/v3) directory.
///
/// Opening reads only the root metadata; dataframes and matrices are read when asked for.
pub struct AnnDataStore {
    backend: Arc<dyn Backend>,
    format: StoreFormat,
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
    /// Opens the store at `path`, recognising its format from its contents.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
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
        Ok(AnnDataStore { backend, format })
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
    pub fn n_obs(&self) -> Result<usize> {
        self.index_len("obs")
    }

    /// Number of genes (rows of var).
    pub fn n_vars(&self) -> Result<usize> {
        self.index_len("var")
    }

    /// The whole obs dataframe.
    pub fn obs(&self) -> Result<DataFrame> {
        column::read_dataframe(self.backend.as_ref(), "obs")
    }

    /// The whole var dataframe.
    pub fn var(&self) -> Result<DataFrame> {
        column::read_dataframe(self.backend.as_ref(), "var")
    }

    /// The `raw/var` dataframe (genes of `raw/X`).
    pub fn raw_var(&self) -> Result<DataFrame> {
        column::read_dataframe(self.backend.as_ref(), "raw/var")
    }

    /// Cell names (the obs index).
    pub fn obs_names(&self) -> Result<Vec<String>> {
        column::read_index(self.backend.as_ref(), "obs")
    }

    /// Gene names (the var index).
    pub fn var_names(&self) -> Result<Vec<String>> {
        column::read_index(self.backend.as_ref(), "var")
    }

    /// Names of the obs columns, in stored order.
    pub fn obs_column_names(&self) -> Result<Vec<String>> {
        Ok(column::dataframe_layout(self.backend.as_ref(), "obs")?.1)
    }

    /// One obs column.
    pub fn obs_column(&self, name: &str) -> Result<Column> {
        self.df_column("obs", name)
    }

    /// One var column.
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
    pub fn layers(&self) -> Result<Vec<String>> {
        match self.backend.node("layers")? {
            Some(NodeKind::Group) => self.backend.children("layers"),
            _ => Ok(Vec::new()),
        }
    }

    /// Whether the store has a `raw` group with an `X`.
    pub fn has_raw(&self) -> Result<bool> {
        Ok(self.backend.node("raw")? == Some(NodeKind::Group)
            && self.backend.node("raw/X")?.is_some())
    }

    /// Opens the matrix chosen in `opts` for streaming.
    pub fn matrix(&self, opts: &ReadOptions) -> Result<MatrixReader> {
        let n_obs = self.n_obs()? as u64;
        MatrixReader::open(self.backend.as_ref(), opts, n_obs)
    }
}

/// Opens the matrix chosen in `opts` of the store at `path` (a shortcut for
/// [`AnnDataStore::open`] then [`AnnDataStore::matrix`]).
pub fn open_matrix(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<MatrixReader> {
    AnnDataStore::open(path)?.matrix(opts)
}

#[cfg(feature = "h5ad")]
fn open_h5ad(path: &Path) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(super::h5ad::H5Backend::open(path)?))
}

#[cfg(not(feature = "h5ad"))]
fn open_h5ad(path: &Path) -> Result<Arc<dyn Backend>> {
    Err(StoreCtx::new(path).err("", StoreProblem::FeatureDisabled("h5ad")))
}
