//! What can be wrong with a store, as data the caller can match on.

/// The specific problem behind an [`Error::Store`](crate::Error::Store).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreProblem {
    /// The element (group or array) does not exist.
    #[error("missing")]
    Missing,
    /// The path is neither an `.h5ad` file nor a zarr (v2 or v3) directory.
    #[error("not an AnnData store: {0}")]
    UnknownFormat(String),
    /// The element's `encoding-type` attribute is not one the reader accepts here.
    #[error("encoding-type is '{found}', expected {expected}")]
    WrongEncoding {
        /// What the reader accepts at this place.
        expected: String,
        /// What the store says (empty when the attribute is absent).
        found: String,
    },
    /// A valid encoding, data type or option this crate does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Lengths or shapes that must agree do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A compressed-sparse pointer array decreases.
    #[error("pointer array decreases at position {position} ({before} then {after})")]
    IndptrNotMonotone {
        /// Position in the pointer array of the smaller value.
        position: u64,
        /// The value before it.
        before: i128,
        /// The decreasing value.
        after: i128,
    },
    /// A stored row or column index is negative or not below the matrix dimension.
    #[error("index {index} out of range 0..{bound} (major position {major})")]
    IndexOutOfRange {
        /// Row (for CSR) or column (for CSC) holding the bad index.
        major: u64,
        /// The stored index.
        index: i128,
        /// The dimension it must stay below.
        bound: u64,
    },
    /// A stored value that counts cannot have (NaN, infinite or negative).
    #[error("value {value} at cell {row}, gene {column} is not a finite non-negative count")]
    InvalidValue {
        /// Cell (row) of the value.
        row: u64,
        /// Gene (column) of the value.
        column: u64,
        /// The value as stored.
        value: f64,
    },
    /// A write would replace something that exists and replacing was not asked for.
    #[error("already exists (ask for overwrite to replace it)")]
    AlreadyExists,
    /// The store needs a cargo feature this build was compiled without.
    #[error("needs the '{0}' cargo feature of instructcell")]
    FeatureDisabled(&'static str),
    /// The storage library failed: unreadable metadata, a codec error, an I/O error.
    #[error("{0}")]
    Backend(String),
    /// A MuData store without the modality asked for, or with several and none asked for
    /// (and none called `rna`).
    #[error("{}", no_such_modality(.requested.as_deref(), .available))]
    NoSuchModality {
        /// The modality asked for, if any.
        requested: Option<String>,
        /// The modalities the store has, comma-separated.
        available: String,
    },
    /// The store cannot take new obs columns in its layout (obs stored as a pre-0.7 record
    /// array); the message says what to do instead.
    #[error("cannot add columns: {0}")]
    NotWritable(String),
    /// No matrix of the store holds values a model can read (counts, normalised or
    /// log-normalised counts), or the one named does not (see `io::choose_matrix`).
    #[error("{}", no_usable_matrix(.found, *.chosen))]
    NoUsableMatrix {
        /// What each inspected matrix holds, one phrase each ("X holds ... (...)").
        found: Vec<String>,
        /// Whether the matrix was named by the caller (`found` then describes only it).
        chosen: bool,
    },
}

/// The one-line message of [`StoreProblem::NoSuchModality`], naming the fix.
fn no_such_modality(requested: Option<&str>, available: &str) -> String {
    match requested {
        Some(name) => format!(
            "the MuData store has no modality '{name}' (it has: {available}); choose one with --modality NAME"
        ),
        None => format!(
            "a MuData store with modalities {available} and none called 'rna': choose one with --modality NAME"
        ),
    }
}

/// The one-line message of [`StoreProblem::NoUsableMatrix`], naming the fix.
fn no_usable_matrix(found: &[String], chosen: bool) -> String {
    let found = found.join("; ");
    if chosen {
        format!(
            "{found}; it holds neither counts nor log-normalised values: choose another matrix \
             with --layer NAME or --use-raw"
        )
    } else {
        format!(
            "{found}; no element holds counts or log-normalised values: choose one with \
             --layer NAME or --use-raw"
        )
    }
}
