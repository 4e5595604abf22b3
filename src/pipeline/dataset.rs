//! A dataset opened for a pipeline step: the store (or 10x directory), the matrix chosen from
//! it, its genes and cell names.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::shard::{shard_unit, Shard};
use crate::error::{Error, Result};
use crate::genes::{AlignOptions, GeneAlignment};
use crate::io::{
    choose_matrix, AnnDataStore, ChosenMatrix, Column, Expm1Rows, MatrixChoice, ReadOptions,
    StoreOptions, TenxGeneNames, TenxMatrix, TenxOptions, ValueTransform,
};
use crate::matrix::RowSource;
use crate::model::Model;

/// How to open a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputOptions {
    /// Which matrix to read: [`MatrixChoice::Auto`] (the default) picks counts where the store
    /// has them (X, a counts layer, `raw/X`), else log-normalised values, else fails naming
    /// what each element holds.
    pub matrix: MatrixChoice,
    /// The var column holding the gene symbols (scanpy's `gene_symbols`); `None` uses the var
    /// index. For 10x directories any value picks the first `features.tsv` column (ids).
    pub gene_symbols: Option<String>,
    /// For a MuData store (`.h5mu`, MuData zarr), the modality read (`None`: `rna`, else the
    /// only one); see [`StoreOptions`].
    pub modality: Option<String>,
}

impl InputOptions {
    /// Reads the given matrix.
    pub fn with_matrix(mut self, matrix: MatrixChoice) -> Self {
        self.matrix = matrix;
        self
    }

    /// Reads MuData modality `name` (`None`: `rna`, else the only one).
    pub fn with_modality(mut self, name: Option<String>) -> Self {
        self.modality = name;
        self
    }

    /// Takes gene symbols from the var column `column`.
    pub fn with_gene_symbols(mut self, column: impl Into<String>) -> Self {
        self.gene_symbols = Some(column.into());
        self
    }
}

enum Inner {
    Store {
        store: AnnDataStore,
        chosen: Box<ChosenMatrix>,
    },
    Tenx,
}

/// A dataset ready for a task: an AnnData store (zarr v2/v3, `.h5ad`) or a 10x Matrix Market
/// directory, with the matrix to stream, its genes (from `var`, `raw/var` or the chosen gene
/// column — always those of the matrix read) and the cell names.
pub struct Dataset {
    path: PathBuf,
    inner: Inner,
    source: Box<dyn RowSource + Send>,
    obs_names: Vec<String>,
    chunk_rows: Option<usize>,
    integer_counts: bool,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path)
            .field("matrix", &self.matrix_element())
            .field("n_cells", &self.n_cells())
            .field("n_genes", &self.source.n_cols())
            .finish()
    }
}

/// Whether `path` is a 10x Genomics Matrix Market directory.
fn is_tenx(path: &Path) -> bool {
    path.is_dir() && (path.join("matrix.mtx").is_file() || path.join("matrix.mtx.gz").is_file())
}

impl Dataset {
    /// Opens the dataset at `path`.
    ///
    /// # Errors
    /// Store errors (nothing at `path`, unknown format, malformed elements, no usable matrix — the message names what each element holds and how to
    /// choose one).
    pub fn open(path: impl AsRef<Path>, opts: &InputOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if is_tenx(&path) {
            if let Some(m) = &opts.modality {
                return Err(Error::InvalidArgument(format!(
                    "{} is a 10x directory, not MuData: it has no modality '{m}'",
                    path.display()
                )));
            }
            let names = match opts.gene_symbols {
                Some(_) => TenxGeneNames::Id,
                None => TenxGeneNames::Symbol,
            };
            let m = TenxMatrix::open(&path, &TenxOptions::default().with_gene_names(names))?;
            let obs_names = m.barcodes().to_vec();
            return Ok(Dataset {
                path,
                inner: Inner::Tenx,
                source: Box::new(m),
                obs_names,
                chunk_rows: None,
                integer_counts: true,
            });
        }
        let mut store_opts = StoreOptions::default();
        if let Some(m) = &opts.modality {
            store_opts = store_opts.with_modality(m.clone());
        }
        let store = AnnDataStore::open_with(&path, &store_opts)?;
        let chosen = choose_matrix(&store, &opts.matrix)?;
        let mut read = ReadOptions::default()
            .with_matrix(chosen.selection.clone())
            // The choice above already sampled the values; the model's preprocessing checks
            // every value it uses.
            .with_check_values(chosen.transform == ValueTransform::None);
        if let Some(col) = &opts.gene_symbols {
            read = read.with_gene_column(col.clone());
        }
        let reader = store.matrix(&read)?;
        let chunk_rows = reader.chunk_rows();
        let source: Box<dyn RowSource + Send> = match chosen.transform {
            ValueTransform::Expm1 => Box::new(Expm1Rows::new(reader)),
            _ => Box::new(reader),
        };
        let obs_names = store.obs_names()?;
        if obs_names.len() != source.n_rows() {
            return Err(Error::Shape(format!(
                "{}: obs has {} cells but {} has {} rows",
                path.display(),
                obs_names.len(),
                chosen.report.element.clone(),
                source.n_rows()
            )));
        }
        let integer_counts = chosen.integer_counts();
        Ok(Dataset {
            path,
            inner: Inner::Store {
                store,
                chosen: Box::new(chosen),
            },
            source,
            obs_names,
            chunk_rows,
            integer_counts,
        })
    }

    /// The MuData modality read (`None` for AnnData stores and 10x directories).
    pub fn modality(&self) -> Option<&str> {
        self.store().and_then(AnnDataStore::modality)
    }

    /// Where the dataset is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The AnnData store, unless the dataset is a 10x directory.
    pub fn store(&self) -> Option<&AnnDataStore> {
        match &self.inner {
            Inner::Store { store, .. } => Some(store),
            Inner::Tenx => None,
        }
    }

    /// The matrix chosen (and what it holds), unless the dataset is a 10x directory.
    pub fn chosen(&self) -> Option<&ChosenMatrix> {
        match &self.inner {
            Inner::Store { chosen, .. } => Some(chosen),
            Inner::Tenx => None,
        }
    }

    /// The element read, e.g. `X`, `layers/counts`, `raw/X` (`matrix.mtx` for 10x).
    pub fn matrix_element(&self) -> String {
        match &self.inner {
            Inner::Store { chosen, .. } => chosen.report.element.clone(),
            Inner::Tenx => "matrix.mtx".into(),
        }
    }

    /// Whether the values read are whole-number counts (log-normalised values turned back by
    /// `expm1` are counts only up to a per-cell factor).
    pub fn integer_counts(&self) -> bool {
        self.integer_counts
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.source.n_rows()
    }

    /// The genes of the matrix read, one per column.
    pub fn gene_names(&self) -> &[String] {
        self.source.gene_names()
    }

    /// The cell names (obs index, or 10x barcodes).
    pub fn obs_names(&self) -> &[String] {
        &self.obs_names
    }

    /// Rows per storage chunk of the matrix read, when it is row-chunked.
    pub fn chunk_rows(&self) -> Option<usize> {
        self.chunk_rows
    }

    /// Rows per shard unit for batches of `batch_size` (see [`shard_unit`]).
    pub fn shard_unit(&self, batch_size: usize) -> usize {
        shard_unit(batch_size, self.chunk_rows, self.n_cells())
    }

    /// The rows of `shard` for batches of `batch_size`.
    pub fn shard_rows(&self, shard: Shard, batch_size: usize) -> Range<usize> {
        shard.rows(self.n_cells(), self.shard_unit(batch_size))
    }

    /// Aligns the genes of the matrix read to `model`'s vocabulary.
    ///
    /// # Errors
    /// [`Error::GeneOverlap`] when too few genes match, duplicate-gene errors.
    pub fn align(&self, model: &Model, opts: &AlignOptions) -> Result<GeneAlignment> {
        GeneAlignment::new(self.gene_names(), model.genes(), opts)
    }

    /// The obs column `name` as text, one value per cell (`None` where missing).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a 10x directory (it has no obs columns); store errors
    /// (a missing column names the columns there are).
    pub fn obs_strings(&self, name: &str) -> Result<Vec<Option<String>>> {
        let store = self.store().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{} is a 10x directory: it has no obs column '{name}'",
                self.path.display()
            ))
        })?;
        let names = store.obs_column_names()?;
        if !names.iter().any(|n| n == name) {
            return Err(Error::InvalidArgument(format!(
                "obs has no column '{name}' (columns: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        let col: Column = store.obs_column(name)?;
        Ok(col.to_strings())
    }

    /// The row source, for tasks.
    pub fn source_mut(&mut self) -> &mut (dyn RowSource + Send) {
        self.source.as_mut()
    }
}
