//! Options for reading and writing stores.

use super::zarr_read::ZarrVersion;

/// Which matrix of the store to stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MatrixSelection {
    /// `X`, with genes from `var`.
    #[default]
    X,
    /// `layers/<name>`, with genes from `var`.
    Layer(String),
    /// `raw/X`, with genes from `raw/var`.
    RawX,
}

impl MatrixSelection {
    pub(crate) fn element(&self) -> String {
        match self {
            MatrixSelection::X => "X".into(),
            MatrixSelection::Layer(name) => format!("layers/{name}"),
            MatrixSelection::RawX => "raw/X".into(),
        }
    }

    pub(crate) fn var_element(&self) -> &'static str {
        match self {
            MatrixSelection::RawX => "raw/var",
            _ => "var",
        }
    }
}

/// How to read a matrix out of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Which matrix to stream (default `X`).
    pub matrix: MatrixSelection,
    /// The var column holding the gene identifiers (e.g. `gene_ids`); `None` uses the var index.
    pub gene_column: Option<String>,
    /// Reject NaN, infinite and negative values while streaming (default `true`): the models
    /// expect raw counts, and such values mean the matrix was already transformed.
    pub check_values: bool,
    /// For CSC matrices, how many stored entries are decoded at a time while scanning for the
    /// requested rows (default 1 Mi entries); this bounds the memory of the scan.
    pub csc_scan_window: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            matrix: MatrixSelection::X,
            gene_column: None,
            check_values: true,
            csc_scan_window: 1 << 20,
        }
    }
}

impl ReadOptions {
    /// Reads the given matrix.
    pub fn with_matrix(mut self, matrix: MatrixSelection) -> Self {
        self.matrix = matrix;
        self
    }

    /// Reads `layers/<name>`.
    pub fn with_layer(mut self, name: impl Into<String>) -> Self {
        self.matrix = MatrixSelection::Layer(name.into());
        self
    }

    /// Reads `raw/X` (genes from `raw/var`).
    pub fn with_raw(mut self) -> Self {
        self.matrix = MatrixSelection::RawX;
        self
    }

    /// Takes gene identifiers from the var column `name` instead of the var index.
    pub fn with_gene_column(mut self, name: impl Into<String>) -> Self {
        self.gene_column = Some(name.into());
        self
    }

    /// Turns the NaN/infinite/negative check on or off.
    pub fn with_check_values(mut self, check: bool) -> Self {
        self.check_values = check;
        self
    }

    /// Sets the CSC scan window (entries decoded at a time; at least 1).
    pub fn with_csc_scan_window(mut self, entries: usize) -> Self {
        self.csc_scan_window = entries.max(1);
        self
    }
}

/// The on-disk format of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreFormat {
    /// A zarr directory of the given version.
    Zarr(ZarrVersion),
    /// An HDF5 `.h5ad` file.
    H5ad,
}

/// How to write a new store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Output format (default zarr v3). [`StoreFormat::H5ad`] needs the `h5ad` feature.
    pub format: StoreFormat,
    /// Replace an existing store at the destination (default `false`: refuse).
    pub overwrite: bool,
    /// Elements per chunk of every written array (default 65 536).
    pub chunk_len: usize,
    /// zstd level for zarr, gzip level for h5ad (default 3).
    pub compression_level: i32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            format: StoreFormat::Zarr(ZarrVersion::V3),
            overwrite: false,
            chunk_len: 1 << 16,
            compression_level: 3,
        }
    }
}

impl WriteOptions {
    /// Sets the output format.
    pub fn with_format(mut self, format: StoreFormat) -> Self {
        self.format = format;
        self
    }

    /// Allows replacing an existing destination.
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Sets the number of elements per chunk (at least 1).
    pub fn with_chunk_len(mut self, chunk_len: usize) -> Self {
        self.chunk_len = chunk_len.max(1);
        self
    }

    /// Sets the compression level.
    pub fn with_compression_level(mut self, level: i32) -> Self {
        self.compression_level = level;
        self
    }
}

/// How to add obs columns to an existing store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AddColumnsOptions {
    /// Replace columns that already exist (default `false`: refuse).
    pub overwrite: bool,
    /// For a MuData store, the modality whose obs gains the columns (`None`: `rna`, else the
    /// only modality; see [`StoreOptions`](super::StoreOptions)).
    pub modality: Option<String>,
}

impl AddColumnsOptions {
    /// Writes into the obs of MuData modality `name`.
    pub fn with_modality(mut self, name: Option<String>) -> Self {
        self.modality = name;
        self
    }

    /// Allows replacing existing columns of the same names.
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }
}

/// How [`write_store_with_obs_columns`](super::write_store_with_obs_columns) writes its copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOptions {
    /// Replace an existing store at the output path (default `false`: refuse).
    pub overwrite_output: bool,
    /// Replace obs columns of the same names in the copy (default `false`: refuse).
    pub overwrite_columns: bool,
    /// For a MuData store, the modality whose obs gains the columns (`None`: `rna`, else the
    /// only modality); the other modalities and the global elements are copied as they are.
    pub modality: Option<String>,
}

impl CopyOptions {
    /// Writes into the obs of MuData modality `name`.
    pub fn with_modality(mut self, name: Option<String>) -> Self {
        self.modality = name;
        self
    }

    /// Allows replacing an existing store at the output path.
    pub fn with_overwrite_output(mut self, overwrite: bool) -> Self {
        self.overwrite_output = overwrite;
        self
    }

    /// Allows replacing existing obs columns of the same names.
    pub fn with_overwrite_columns(mut self, overwrite: bool) -> Self {
        self.overwrite_columns = overwrite;
        self
    }
}
