//! The typed tasks: cell type annotation, drug response, conditional cell generation and free
//! instructions, over any row source with batching, progress and cancellation (their
//! predictions go into stores through [`crate::pipeline::write_predictions`]).
//!
//! One file per task with its built-in templates: `annotate.rs`, `drug_response.rs`,
//! `generate.rs` (conditional cell generation) and `instruct.rs`; the label machinery the first
//! two share (prompts, constrained and scored answers, probabilities) is `classify.rs`.

mod annotate;
mod classify;
mod drug_response;
mod generate;
mod instruct;
mod options;
mod progress;
mod texts;

pub use annotate::{annotate, ANNOTATE_TEMPLATE, ANNOTATE_TEMPLATE_WITH_ORIGIN};
pub use classify::{match_label, LabelPrediction};
pub use drug_response::{predict_drug_response, DRUG_TEMPLATE};
pub use generate::{
    generate_cells, write_generated, CellGenerationOptions, CellRequest, GeneratedCells,
    GENERATE_TEMPLATE,
};
pub use instruct::instruct;
pub use options::{AnswerMode, CellMetadata, TaskOptions};
pub use progress::Control;
