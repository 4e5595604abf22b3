//! The manifest (`manifest.json`) of a model package, as written by the exporter in `onnx/`.
//! Field meanings are documented in `onnx/README.md`.

use serde::Deserialize;

/// The `format` value every package carries.
pub const FORMAT_NAME: &str = "instructcell-model-package";
/// The manifest format version this crate reads.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest format version this crate reads (version 2 lacks the unsigned int8 graphs).
pub const MIN_FORMAT_VERSION: u32 = 2;

/// The whole manifest.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Manifest format version.
    pub format_version: u32,
    /// `chat` (answers in sentences) or `instruct` (bare answers).
    pub variant: String,
    /// Architecture sizes.
    pub model: ModelDims,
    /// Special token ids.
    pub special_tokens: SpecialTokens,
    /// Preprocessing constants of the cell encoder's input.
    pub preprocess: PreprocessSpec,
    /// Prompt construction.
    pub prompt: PromptSpec,
    /// Cell generator facts.
    pub generator: GeneratorSpec,
    /// Auxiliary files.
    pub files: Files,
    /// The cell encoder's input layer, per precision (see [`CellInputEntry`]).
    pub cell_input: Vec<CellInputEntry>,
    /// Every graph file, in every precision.
    pub graphs: Vec<GraphEntry>,
    /// Label sets the model was trained to answer with, by task (e.g. `cell_type`,
    /// `drug_response`); empty for packages that carry none.
    #[serde(default)]
    pub label_sets: std::collections::BTreeMap<String, Vec<String>>,
    /// Calibration of scored probabilities, by task (`cell_type`, `drug_response`); tasks
    /// without an entry keep the raw softmax of the label log-likelihoods.
    #[serde(default)]
    pub calibration: std::collections::BTreeMap<String, Calibration>,
}

/// Temperature scaling of scored answers: probabilities are the softmax of the labels'
/// log-likelihoods divided by `temperature` (above 1 softens over-confident models).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Calibration {
    /// The temperature (finite, positive).
    pub temperature: f32,
    /// The cells it was fitted on (a description, e.g. the split and their number).
    #[serde(default)]
    pub fitted_on: String,
    /// Expected calibration error of the top label on the evaluation cells, before and after.
    #[serde(default)]
    pub ece_before: Option<f32>,
    /// See `ece_before`.
    #[serde(default)]
    pub ece_after: Option<f32>,
}

/// The cell encoder's first linear layer of one precision, stored as arrays so that a runtime
/// computes it over the expressed genes only: `projection = bias + Σ_g x[g] · weight[g, :]`
/// (times `scale` per column when the weight is int8). The `cell_encoder` graph takes that
/// projection as its `input_projection`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CellInputEntry {
    /// `fp32`, `int8` or `fp16`.
    pub precision: String,
    /// Rows of the weight (the model's genes).
    pub genes: usize,
    /// Columns of the weight (the graph's `input_projection` width).
    pub width: usize,
    /// `[genes, width]`: float32, int8 or float16.
    pub weight: ArrayEntry,
    /// `[1, width]` float32 per-column scale of an int8 weight; absent otherwise.
    pub scale: Option<ArrayEntry>,
    /// `[1, width]` float32.
    pub bias: ArrayEntry,
}

/// A `.npy` file of the package with its integrity data, element type and shape.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ArrayEntry {
    /// The file and its integrity data.
    #[serde(flatten)]
    pub file: FileEntry,
    /// `float32`, `int8` or `float16`.
    pub dtype: String,
    /// Dimensions.
    pub shape: Vec<usize>,
}

/// Architecture sizes.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ModelDims {
    /// Hidden size.
    pub d_model: usize,
    /// Per-head size.
    pub d_kv: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Encoder layers.
    pub num_encoder_layers: usize,
    /// Decoder layers.
    pub num_decoder_layers: usize,
    /// Rows of the embedding matrix and width of the logits (may exceed the tokenizer).
    pub vocab_size: usize,
    /// Number of tokens the tokenizer knows.
    pub tokenizer_size: usize,
    /// Cell vectors spliced in place of the placeholder.
    pub num_query_tokens: usize,
    /// Genes of the cell encoder's input and the generator's output.
    pub num_genes: usize,
    /// Size of the generator's latent input.
    pub n_latent: usize,
}

/// Special token ids.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct SpecialTokens {
    /// Padding.
    pub pad: u32,
    /// End of sequence.
    pub eos: u32,
    /// First token fed to the decoder.
    pub decoder_start: u32,
    /// Cell start tag.
    pub cell_start: u32,
    /// Cell end tag.
    pub cell_end: u32,
    /// The placeholder replaced by the cell vectors.
    pub placeholder: u32,
    /// Signal tokens (the first one requests cell generation).
    pub signal: Vec<u32>,
    /// Tokens that end generation.
    pub stop: Vec<u32>,
    /// The token strings of the cell tags and signal tokens.
    pub texts: SpecialTexts,
}

/// Token strings of the special tokens the prompt and the generator rely on.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct SpecialTexts {
    /// Cell start tag (e.g. `<CELL>`).
    pub cell_start: String,
    /// Cell end tag.
    pub cell_end: String,
    /// Placeholder.
    pub placeholder: String,
    /// Signal tokens.
    pub signal: Vec<String>,
}

/// Preprocessing constants.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct PreprocessSpec {
    /// Whether counts are scaled to `target_sum` per cell.
    pub normalize_total: bool,
    /// Library size after scaling.
    pub target_sum: f32,
    /// Whether `log1p` follows.
    pub log1p: bool,
}

/// Prompt construction.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct PromptSpec {
    /// Wrapper around the instruction, with a `{prompt}` field.
    pub wrapper: String,
    /// The template field that receives the cell (`{input}`).
    pub input_field: String,
    /// Text inserted for one cell (start tag, placeholder, end tag).
    pub cell_text: String,
    /// How a label list is written.
    pub choices: ChoicesFormat,
    /// Whether the tokenizer appends end-of-sequence.
    pub add_eos: bool,
}

/// How a list of choices is rendered: `open + join(separator) + close`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ChoicesFormat {
    /// Opening text.
    pub open: String,
    /// Separator between labels.
    pub separator: String,
    /// Closing text.
    pub close: String,
}

/// Cell generator facts.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GeneratorSpec {
    /// Count likelihood (`zinb`).
    pub likelihood: String,
    /// Dispersion kind (`gene`: one per gene).
    pub dispersion: String,
    /// Latent size.
    pub n_latent: usize,
    /// Log-library prior means, one per training batch.
    pub library_log_means: Vec<f32>,
    /// Log-library prior variances, one per training batch.
    pub library_log_vars: Vec<f32>,
}

/// Auxiliary files.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Files {
    /// `tokenizer.json`.
    pub tokenizer: FileEntry,
    /// The gene list.
    pub genes: FileEntry,
    /// The token embedding matrix (`.npy`, float32 `[vocab_size, d_model]`).
    pub token_embeddings: FileEntry,
}

/// A file of the package with its integrity data.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct FileEntry {
    /// Path relative to the package directory.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// One graph file.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GraphEntry {
    /// `cell_encoder`, `text_encoder`, `decoder` or `generator`.
    pub name: String,
    /// `fp32`, `int8` or `fp16`.
    pub precision: String,
    /// Path relative to the package directory.
    pub file: String,
    /// int8 graphs only: `signed` or `unsigned` weights (see [`super::Int8Weights`]); absent
    /// (format 2) means signed.
    #[serde(default)]
    pub int8_weights: Option<String>,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Inputs, in order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in order.
    pub outputs: Vec<TensorSpec>,
}

impl GraphEntry {
    /// The graph's file entry (for integrity checks).
    pub fn file_entry(&self) -> FileEntry {
        FileEntry {
            file: self.file.clone(),
            bytes: self.bytes,
            sha256: self.sha256.clone(),
        }
    }
}

/// Name, element type and symbolic shape of a graph input or output.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct TensorSpec {
    /// Tensor name.
    pub name: String,
    /// Element type (`float32`, `int64`, ...).
    pub dtype: String,
    /// Dimensions: numbers, or names for dynamic axes.
    pub shape: Vec<serde_json::Value>,
}
