//! Options of the typed tasks.

use crate::generation::{Decoding, GenerationOptions};
use crate::prompt::Metadata;

/// How an answer is turned into a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    pub generation: GenerationOptions,
    /// Cells per model call.
    pub batch_size: usize,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            metadata: Metadata::new(),
            labels: Vec::new(),
            template: None,
            mode: AnswerMode::Constrained,
            generation: GenerationOptions::default()
                .with_decoding(Decoding::Greedy)
                .with_max_new_tokens(32),
            batch_size: 16,
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
    pub fn with_generation(mut self, generation: GenerationOptions) -> Self {
        self.generation = generation;
        self
    }
    /// Sets the number of cells per model call (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
}
