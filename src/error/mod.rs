//! The crate's single error type, and the problem kinds it carries (stores, cells, gene
//! lists) as data the caller can match on. This module depends on no other of the crate.

mod cell;
mod genes;
mod store;

pub(crate) use cell::cell_label;
pub use cell::CellProblem;
pub use genes::GeneSide;
pub use store::StoreProblem;

use std::path::PathBuf;

/// Convenience alias used by every fallible function of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, with enough context to act on it.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a catch-all arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O failure on a path.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Input data has the wrong shape (lengths that do not agree, indices out of range, ...).
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// A caller-supplied argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    // -- ONNX Runtime (src/runtime) --
    /// No ONNX Runtime shared library was found.
    #[error(
        "ONNX Runtime shared library not found; searched:\n{}\nFix: `pip install onnxruntime==1.32.0` \
         (or `onnxruntime-gpu` for CUDA) and/or set ORT_DYLIB_PATH to the libonnxruntime file",
        .searched.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
    )]
    OnnxRuntimeNotFound {
        /// Every place that was looked at, in order, with what was found there.
        searched: Vec<String>,
    },

    /// An ONNX Runtime library was found but could not be loaded or initialised.
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    OnnxRuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What went wrong (wrong version, missing symbols, ...).
        message: String,
    },

    /// A requested execution provider cannot run here, and fallback was not allowed.
    #[error("execution provider {provider} is unavailable: {reason}")]
    ProviderUnavailable {
        /// The provider's name (e.g. `CUDA`).
        provider: String,
        /// Why it cannot start.
        reason: String,
    },

    /// ONNX Runtime reported an error while creating a session or running a graph.
    #[error("ONNX Runtime error in {context}: {message}")]
    Onnx {
        /// What was being done (graph name, step).
        context: String,
        /// ONNX Runtime's message.
        message: String,
    },

    // -- model packages, prompts (src/package, src/prompt, src/model) --
    /// A model package is malformed, incomplete, or fails its integrity checks.
    #[error("model package problem in {path}: {problem}")]
    Package {
        /// The package file or directory concerned.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// A prompt cannot be built (missing fields, no cell placeholder where cells are given, ...).
    #[error("prompt error: {0}")]
    Prompt(String),

    /// The caller cancelled a running task.
    #[error("cancelled")]
    Cancelled,

    /// The tokenizer failed to load or to encode/decode.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),

    // -- store IO (src/io) --
    /// An AnnData store (zarr or `.h5ad`) lacks something, breaks the on-disk specification,
    /// uses an encoding this crate does not read, or holds values counts cannot have.
    #[error("AnnData store {path}, element '{element}': {problem}")]
    Store {
        /// The store (the `.zarr` directory or `.h5ad` file).
        path: PathBuf,
        /// The element inside the store, e.g. `X/indptr` or `obs/cell_type` (empty for the root).
        element: String,
        /// What is wrong.
        problem: StoreProblem,
    },
    // -- gene alignment and preprocessing (src/genes, src/preprocess) --
    /// Too few of the model's vocabulary genes were found among the dataset's genes: the
    /// identifiers probably do not match (Ensembl ids against symbols, another species, case).
    #[error(
        "only {matched} of the {n_vocab} vocabulary genes were found among the dataset's \
         {n_dataset} genes, at least {required} are required (first dataset genes: \
         {dataset_examples:?}; first vocabulary genes: {vocab_examples:?})"
    )]
    GeneOverlap {
        /// Vocabulary positions that received a dataset gene.
        matched: usize,
        /// Size of the vocabulary.
        n_vocab: usize,
        /// Number of dataset genes.
        n_dataset: usize,
        /// The threshold that was not met (never below 1).
        required: usize,
        /// The first few dataset identifiers, to show what was compared.
        dataset_examples: Vec<String>,
        /// The first few vocabulary symbols.
        vocab_examples: Vec<String>,
    },

    /// A gene identifier occurs twice where the duplicate rule says that is an error.
    #[error("gene {name:?} occurs twice in the {side} (positions {first} and {second})")]
    DuplicateGene {
        /// The identifier (after case folding when matching ignores case).
        name: String,
        /// Whether the duplicate is in the dataset or in the vocabulary.
        side: GeneSide,
        /// Position of the first occurrence.
        first: usize,
        /// Position of the second occurrence.
        second: usize,
    },

    /// A cell's counts cannot be preprocessed (empty, NaN/inf, negative, non-integer).
    #[error("cell {row}{}: {problem}", cell_label(.cell))]
    BadCell {
        /// Row index of the cell in the source (0-based).
        row: usize,
        /// The cell's name, when the caller supplied obs names.
        cell: Option<String>,
        /// What is wrong with it.
        problem: CellProblem,
    },
}

impl Error {
    /// Builds an [`Error::Io`] from a path and an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
