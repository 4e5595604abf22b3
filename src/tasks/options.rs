//! Options of the typed tasks.

use std::ops::Range;
use std::sync::Arc;

use crate::generation::{Decoding, DecodingOptions};
use crate::prompt::Metadata;

/// Template fields whose value differs from cell to cell (e.g. `tissue` read from an obs
/// column): one value per source row, `None` where the cell has none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellMetadata {
    fields: Vec<(String, Arc<Vec<Option<String>>>)>,
}

impl CellMetadata {
    /// No per-cell fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the field `key` with one value per source row.
    pub fn with_field(mut self, key: impl Into<String>, values: Vec<Option<String>>) -> Self {
        let key = key.into();
        self.fields.retain(|(k, _)| *k != key);
        self.fields.push((key, Arc::new(values)));
        self
    }

    /// Whether there are no per-cell fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields and their per-row values, in the order they were added.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &[Option<String>])> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// How an answer is turned into a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AnswerMode {
    /// Free generation; the label is found in the answer text (exactly, or as the longest label
    /// the text contains). May find none.
    Free,
    /// Decoding restricted to the label set with a token trie: always a label of the set, and
    /// decoding ends as soon as the label is determined.
    #[default]
    Constrained,
    /// Every label scored by its log-likelihood; the result carries a probability per label.
    Scored,
}

impl AnswerMode {
    /// The mode's name: `free`, `constrained` or `scored`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerMode::Free => "free",
            AnswerMode::Constrained => "constrained",
            AnswerMode::Scored => "scored",
        }
    }
}

impl std::str::FromStr for AnswerMode {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "free" => Ok(AnswerMode::Free),
            "constrained" => Ok(AnswerMode::Constrained),
            "scored" => Ok(AnswerMode::Scored),
            other => Err(crate::Error::InvalidArgument(format!(
                "unknown answer mode '{other}' (expected free, constrained or scored)"
            ))),
        }
    }
}

/// Options shared by the cell-reading tasks (annotation, drug response).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskOptions {
    /// Metadata for the template fields (`species`, `tissue`, `sequencing_method`, `drug`, ...).
    pub metadata: Metadata,
    /// The label set. Required by constrained and scored modes; rendered into `{choices}`.
    pub labels: Vec<String>,
    /// The instruction template; `None` uses the task's built-in template.
    pub template: Option<String>,
    /// How answers become labels.
    pub mode: AnswerMode,
    /// Decoding (for free and constrained modes).
    pub generation: DecodingOptions,
    /// Cells per model call.
    pub batch_size: usize,
    /// Require whole-number counts (default `true`). Turn off for values that are counts only
    /// up to a per-cell factor, e.g. `expm1` of log-normalised values
    /// (see `io::Expm1Rows`): the model's own normalisation removes the factor.
    pub integer_counts: bool,
    /// Only these source rows (default: all). Rows keep their source numbering in results.
    pub rows: Option<Range<usize>>,
    /// Per-cell template fields; they override [`TaskOptions::metadata`] for the same key.
    pub cell_metadata: CellMetadata,
    /// Scored mode: probabilities are the softmax of the log-likelihoods divided by this
    /// (temperature scaling; `None` = 1, the raw softmax).
    pub temperature: Option<f32>,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            metadata: Metadata::new(),
            labels: Vec::new(),
            template: None,
            mode: AnswerMode::Constrained,
            generation: DecodingOptions::default()
                .with_decoding(Decoding::Greedy)
                .with_max_new_tokens(32),
            batch_size: 16,
            integer_counts: true,
            rows: None,
            cell_metadata: CellMetadata::new(),
            temperature: None,
        }
    }
}

impl TaskOptions {
    /// Sets a metadata field.
    pub fn with_metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.insert(key, value);
        self
    }
    /// Sets the label set.
    pub fn with_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }
    /// Uses the caller's template (it must contain `{input}`).
    pub fn with_template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }
    /// Sets the answer mode.
    pub fn with_mode(mut self, mode: AnswerMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets the decoding options.
    pub fn with_generation(mut self, generation: DecodingOptions) -> Self {
        self.generation = generation;
        self
    }
    /// Requires whole-number counts, or accepts any finite non-negative values.
    pub fn with_integer_counts(mut self, integer: bool) -> Self {
        self.integer_counts = integer;
        self
    }
    /// Processes only source rows `rows`.
    pub fn with_rows(mut self, rows: Range<usize>) -> Self {
        self.rows = Some(rows);
        self
    }
    /// Sets a per-cell template field (one value per source row).
    pub fn with_cell_field(mut self, key: impl Into<String>, values: Vec<Option<String>>) -> Self {
        self.cell_metadata = self.cell_metadata.with_field(key, values);
        self
    }
    /// Sets the scored-mode temperature.
    pub fn with_temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Sets the number of cells per model call (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
}
