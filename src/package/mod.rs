//! Model packages: the directory the exporter writes (manifest, tokenizer, gene list, token
//! embeddings, ONNX graphs in one or more precisions) and its validation.
//!
//! Opening a package reads and checks the manifest; the files a model actually loads are checked
//! against their recorded size and SHA-256 before use, so a truncated or tampered file is refused.
//! Nothing here touches the network.

mod checksum;
mod int8;
pub(crate) mod interface;
pub mod manifest;
mod npy;

pub use checksum::{sha256_file, sha256_hex, verify_entry};
pub use int8::{parse_precision_spec, Int8Weights};
pub use manifest::{
    ArrayEntry, Calibration, CellInputEntry, GraphEntry, Manifest, FORMAT_NAME, FORMAT_VERSION,
    MIN_FORMAT_VERSION,
};
pub use npy::{read_f32_matrix, read_matrix, NpyValues};

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Numeric precision of a package's graphs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Precision {
    /// 32-bit floats: the reference.
    #[default]
    Fp32,
    /// Dynamically quantized 8-bit weights, in the encoding this CPU multiplies exactly (see
    /// [`Int8Weights`]; fastest on CPUs with VNNI). Activations are quantized
    /// at run time with one scale per tensor, and a batch is one tensor: an int8 answer can
    /// depend on which prompts share its batch (near-ties between tokens may resolve
    /// differently). fp32 and fp16 answers do not depend on batching.
    Int8,
    /// 16-bit floats (for GPUs).
    Fp16,
}

impl Precision {
    /// The name used in manifests (`fp32`, `int8`, `fp16`).
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
            Precision::Fp16 => "fp16",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "fp32" | "float32" => Ok(Precision::Fp32),
            "int8" | "q8" => Ok(Precision::Int8),
            "fp16" | "float16" => Ok(Precision::Fp16),
            other => Err(Error::InvalidArgument(format!(
                "unknown precision {other:?} (expected fp32, int8 or fp16)"
            ))),
        }
    }
}

/// The names of the graphs a package must provide.
pub const GRAPH_NAMES: [&str; 4] = ["cell_encoder", "text_encoder", "decoder", "generator"];

/// An opened, structurally validated model package.
#[derive(Debug, Clone)]
pub struct ModelPackage {
    root: PathBuf,
    manifest: Manifest,
}

impl ModelPackage {
    /// Reads and validates `dir/manifest.json`.
    ///
    /// # Errors
    /// [`Error::Package`] when the directory is not a package, the manifest is malformed, of
    /// another format or version, or internally inconsistent.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let root = dir.as_ref().to_path_buf();
        let mpath = root.join("manifest.json");
        let problem = |p: String| Error::Package {
            path: mpath.clone(),
            problem: p,
        };
        let text = std::fs::read_to_string(&mpath).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                problem("not a model package (no manifest.json)".into())
            } else {
                Error::io(&mpath, e)
            }
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| problem(format!("malformed manifest: {e}")))?;
        if manifest.format != FORMAT_NAME {
            return Err(problem(format!(
                "format is {:?}, expected {FORMAT_NAME:?}",
                manifest.format
            )));
        }
        if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&manifest.format_version) {
            return Err(problem(format!(
                "format version {} is not supported (this crate reads versions \
                 {MIN_FORMAT_VERSION} to {FORMAT_VERSION}; re-export the package with the \
                 exporter in onnx/ to upgrade it)",
                manifest.format_version
            )));
        }
        let pkg = ModelPackage { root, manifest };
        pkg.check_consistency().map_err(problem)?;
        Ok(pkg)
    }

    fn check_consistency(&self) -> std::result::Result<(), String> {
        let m = &self.manifest;
        let d = &m.model;
        if d.d_model == 0 || d.num_query_tokens == 0 || d.num_genes == 0 || d.vocab_size == 0 {
            return Err("model sizes must be positive".into());
        }
        if d.d_kv * d.num_heads == 0 {
            return Err("attention sizes must be positive".into());
        }
        let st = &m.special_tokens;
        for (name, id) in [
            ("pad", st.pad),
            ("eos", st.eos),
            ("decoder_start", st.decoder_start),
            ("cell_start", st.cell_start),
            ("cell_end", st.cell_end),
            ("placeholder", st.placeholder),
        ]
        .into_iter()
        .chain(st.signal.iter().map(|&s| ("signal", s)))
        .chain(st.stop.iter().map(|&s| ("stop", s)))
        {
            if id as usize >= d.vocab_size {
                return Err(format!(
                    "special token {name} = {id} is outside the vocabulary of {}",
                    d.vocab_size
                ));
            }
        }
        if st.stop.is_empty() {
            return Err("no stop tokens".into());
        }
        for (task, c) in &m.calibration {
            if !(c.temperature.is_finite() && c.temperature > 0.0) {
                return Err(format!(
                    "calibration of {task}: temperature {} is not a positive number",
                    c.temperature
                ));
            }
        }
        if !m.prompt.wrapper.contains("{prompt}") {
            return Err("prompt wrapper lacks the {prompt} field".into());
        }
        let g = &m.generator;
        if g.library_log_means.is_empty() || g.library_log_means.len() != g.library_log_vars.len() {
            return Err(
                "generator library prior needs equal, non-empty means and variances".into(),
            );
        }
        if g.n_latent != d.n_latent {
            return Err("generator n_latent disagrees with the model sizes".into());
        }
        for entry in &m.graphs {
            let precision = entry.precision.parse::<Precision>().map_err(|_| {
                format!(
                    "graph {} has unknown precision {:?}",
                    entry.name, entry.precision
                )
            })?;
            if let Some(w) = &entry.int8_weights {
                if precision != Precision::Int8 {
                    return Err(format!(
                        "{} graph {} names int8 weights {w:?}",
                        entry.precision, entry.name
                    ));
                }
                w.parse::<Int8Weights>()
                    .map_err(|_| format!("graph {} has unknown int8 weights {w:?}", entry.name))?;
            }
        }
        for entry in &m.cell_input {
            if entry.precision.parse::<Precision>().is_err() {
                return Err(format!(
                    "cell input layer has unknown precision {:?}",
                    entry.precision
                ));
            }
            if entry.genes != d.num_genes {
                return Err(format!(
                    "cell input layer ({}) has {} gene rows, the model takes {}",
                    entry.precision, entry.genes, d.num_genes
                ));
            }
        }
        if self.precisions().is_empty() {
            return Err("no precision provides all four graphs and the cell input layer".into());
        }
        Ok(())
    }

    /// The package directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Precisions for which all four graphs are present, in the order fp32, int8, fp16.
    pub fn precisions(&self) -> Vec<Precision> {
        [Precision::Fp32, Precision::Int8, Precision::Fp16]
            .into_iter()
            .filter(|&p| {
                let complete = match p {
                    Precision::Int8 => !self.int8_weight_sets().is_empty(),
                    _ => self.complete(p, None),
                };
                complete && self.find_cell_input(p).is_some()
            })
            .collect()
    }

    /// The int8 weight encodings for which all four int8 graphs are present (signed first).
    pub fn int8_weight_sets(&self) -> Vec<Int8Weights> {
        [Int8Weights::Signed, Int8Weights::Unsigned]
            .into_iter()
            .filter(|&w| self.complete(Precision::Int8, Some(w)))
            .collect()
    }

    fn complete(&self, precision: Precision, weights: Option<Int8Weights>) -> bool {
        GRAPH_NAMES
            .iter()
            .all(|n| self.find_graph(n, precision, weights).is_some())
    }

    /// The weights of an int8 entry (absent means signed); `None` for other precisions.
    fn weights_of(entry: &GraphEntry) -> Option<Int8Weights> {
        (entry.precision == Precision::Int8.as_str()).then(|| {
            entry
                .int8_weights
                .as_deref()
                .and_then(|w| w.parse().ok())
                .unwrap_or(Int8Weights::Signed)
        })
    }

    /// `weights` only matters for int8, where `None` means the signed set if it is complete,
    /// else the unsigned one.
    fn find_graph(
        &self,
        name: &str,
        precision: Precision,
        weights: Option<Int8Weights>,
    ) -> Option<&GraphEntry> {
        let weights = match precision {
            Precision::Int8 => Some(weights.unwrap_or_else(|| {
                self.int8_weight_sets()
                    .first()
                    .copied()
                    .unwrap_or(Int8Weights::Signed)
            })),
            _ => None,
        };
        self.manifest.graphs.iter().find(|g| {
            g.name == name && g.precision == precision.as_str() && Self::weights_of(g) == weights
        })
    }

    /// The entry of graph `name` in `precision` (for int8, of the signed set where complete,
    /// else the unsigned one; see [`ModelPackage::graph_in`]).
    ///
    /// # Errors
    /// [`Error::Package`] if the package lacks it (naming the precisions it has).
    pub fn graph(&self, name: &str, precision: Precision) -> Result<&GraphEntry> {
        self.graph_in(name, precision, None)
    }

    /// The entry of graph `name` in `precision`, for int8 with the given weight encoding
    /// (`None`: as [`ModelPackage::graph`]). `weights` is ignored for fp32 and fp16.
    ///
    /// # Errors
    /// [`Error::Package`] if the package lacks it (naming what it has).
    pub fn graph_in(
        &self,
        name: &str,
        precision: Precision,
        weights: Option<Int8Weights>,
    ) -> Result<&GraphEntry> {
        self.find_graph(name, precision, weights).ok_or_else(|| {
            let what = match (precision, weights) {
                (Precision::Int8, Some(w)) => format!("int8 ({w} weights)"),
                _ => precision.as_str().to_string(),
            };
            let sets = self
                .int8_weight_sets()
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            Error::Package {
                path: self.root.clone(),
                problem: format!(
                    "no {what} graph {name:?} (available precisions: {}; int8 weights: {})",
                    self.precisions()
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if sets.is_empty() { "none" } else { &sets }
                ),
            }
        })
    }

    /// Verifies size and SHA-256 of the auxiliary files and of the graphs of `precision`
    /// (for int8, of the set [`ModelPackage::graph`] picks).
    ///
    /// # Errors
    /// [`Error::Package`] naming the first missing, truncated or modified file.
    pub fn verify(&self, precision: Precision) -> Result<()> {
        self.verify_in(precision, None)
    }

    /// As [`ModelPackage::verify`], for the int8 graphs of the given weight encoding.
    ///
    /// # Errors
    /// [`Error::Package`] naming the first missing, truncated or modified file.
    pub fn verify_in(&self, precision: Precision, weights: Option<Int8Weights>) -> Result<()> {
        let f = &self.manifest.files;
        for entry in [&f.tokenizer, &f.genes, &f.token_embeddings] {
            verify_entry(&self.root, entry)?;
        }
        for name in GRAPH_NAMES {
            verify_entry(
                &self.root,
                &self.graph_in(name, precision, weights)?.file_entry(),
            )?;
        }
        let input = self.cell_input(precision)?;
        for array in [Some(&input.weight), input.scale.as_ref(), Some(&input.bias)]
            .into_iter()
            .flatten()
        {
            verify_entry(&self.root, &array.file)?;
        }
        Ok(())
    }

    fn find_cell_input(&self, precision: Precision) -> Option<&CellInputEntry> {
        self.manifest
            .cell_input
            .iter()
            .find(|e| e.precision.parse::<Precision>().ok() == Some(precision))
    }

    /// The cell encoder's input layer entry of `precision`.
    ///
    /// # Errors
    /// [`Error::Package`] if the package has none for that precision.
    pub fn cell_input(&self, precision: Precision) -> Result<&CellInputEntry> {
        self.find_cell_input(precision)
            .ok_or_else(|| Error::Package {
                path: self.root.clone(),
                problem: format!("no {} cell input layer", precision.as_str()),
            })
    }

    /// Absolute path of a file named in the manifest.
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The model's gene vocabulary, in input order.
    ///
    /// # Errors
    /// I/O errors, or [`Error::Package`] if the count differs from the model's gene count.
    pub fn genes(&self) -> Result<Vec<String>> {
        let path = self.path_of(&self.manifest.files.genes.file);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let genes: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        if genes.len() != self.manifest.model.num_genes {
            return Err(Error::Package {
                path,
                problem: format!(
                    "{} genes listed, the model takes {}",
                    genes.len(),
                    self.manifest.model.num_genes
                ),
            });
        }
        Ok(genes)
    }

    /// The token embedding matrix, row-major `[vocab_size × d_model]`.
    ///
    /// # Errors
    /// [`Error::Package`] if the file is not a float32 matrix of the manifest's shape.
    pub fn token_embeddings(&self) -> Result<Vec<f32>> {
        let path = self.path_of(&self.manifest.files.token_embeddings.file);
        let (rows, cols, values) = read_f32_matrix(&path)?;
        let d = &self.manifest.model;
        if rows != d.vocab_size || cols != d.d_model {
            return Err(Error::Package {
                path,
                problem: format!(
                    "embedding matrix is {rows} × {cols}, expected {} × {}",
                    d.vocab_size, d.d_model
                ),
            });
        }
        Ok(values)
    }
}
