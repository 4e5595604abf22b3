//! The typed tasks: cell type annotation, drug response, conditional cell generation and free
//! instructions, over whole datasets with batching, progress and cancellation, and write-back of
//! results into stores.

mod cells;
mod classify;
mod options;
mod progress;
mod texts;
mod writeback;

pub use cells::{
    generate_cells, write_generated, CellGenerationOptions, CellRequest, GeneratedCells,
    GENERATE_TEMPLATE,
};
pub use classify::{match_label, LabelPrediction};
pub use options::{AnswerMode, CellMetadata, TaskOptions};
pub use progress::Control;
pub(crate) use writeback::categorical;
pub use writeback::{prediction_columns, write_predictions};

use crate::error::Result;
use crate::generation::DecodingOptions;
use crate::genes::GeneAlignment;
use crate::matrix::RowSource;
use crate::model::{Answer, CellOptions, Model, Prompt};
use crate::prompt::{Metadata, Template};

/// Built-in annotation template (own wording).
pub const ANNOTATE_TEMPLATE: &str =
    "Which cell type is this cell? {input} Choose one of {choices}.";
/// Built-in annotation template used when `species` and `tissue` are given.
pub const ANNOTATE_TEMPLATE_WITH_ORIGIN: &str =
    "This {species} cell comes from {tissue}: {input}. Which cell type is it? Choose one of {choices}.";
/// Built-in drug-response template (own wording); needs `drug`.
pub const DRUG_TEMPLATE: &str =
    "Is this cell {input} sensitive or resistant to {drug}? Answer with one of {choices}.";

/// Annotates every cell of `source` (genes aligned by `alignment`, preprocessed with the
/// package's constants). With no label set, only free mode is possible.
///
/// # Errors
/// Invalid options (constrained/scored without labels, bad template, missing fields), data
/// errors from the sparse core (per the bad-cell policy), [`crate::Error::Cancelled`], runtime
/// errors.
pub fn annotate<S: RowSource + Send>(
    model: &Model,
    source: S,
    alignment: &GeneAlignment,
    opts: &TaskOptions,
    control: &mut Control<'_>,
) -> Result<Vec<LabelPrediction>> {
    let has = |k: &str| {
        opts.metadata.get(k).is_some() || opts.cell_metadata.fields().any(|(f, _)| f == k)
    };
    let with_origin = has("species") && has("tissue");
    let default = if with_origin {
        ANNOTATE_TEMPLATE_WITH_ORIGIN
    } else {
        ANNOTATE_TEMPLATE
    };
    let opts = if opts.labels.is_empty() && opts.template.is_none() {
        // Without a label set the built-in template cannot list choices.
        opts.clone()
            .with_template("Which cell type is this cell? {input}")
    } else {
        opts.clone()
    };
    classify::classify(model, source, alignment, &opts, default, control)
}

/// Predicts the response of every cell to `drug`. The label set defaults to
/// `Sensitive` / `Resistant`.
///
/// # Errors
/// As [`annotate`].
pub fn predict_drug_response<S: RowSource + Send>(
    model: &Model,
    source: S,
    alignment: &GeneAlignment,
    drug: &str,
    opts: &TaskOptions,
    control: &mut Control<'_>,
) -> Result<Vec<LabelPrediction>> {
    let mut opts = opts.clone().with_metadata("drug", drug);
    if opts.labels.is_empty() {
        opts = opts.with_labels(["Sensitive", "Resistant"]);
    }
    classify::classify(model, source, alignment, &opts, DRUG_TEMPLATE, control)
}

/// Follows one free-form instruction. `template` may contain metadata fields; it must contain
/// `{input}` exactly when `cell` (a preprocessed expression vector) is given. When the model
/// asks for a cell, the answer carries the generated cell.
///
/// # Errors
/// Prompt errors, runtime errors.
pub fn instruct(
    model: &Model,
    template: &str,
    metadata: &Metadata,
    cell: Option<&[f32]>,
    generation: &DecodingOptions,
    cells: &CellOptions,
) -> Result<Answer> {
    let t = Template::parse(template)?;
    let text = model
        .formatter()
        .format(&t, metadata, None, cell.is_some())?;
    let prompt = Prompt {
        text: &text,
        expression: cell,
        id: 0,
    };
    let mut out = model.generate(&[prompt], generation, cells, None)?;
    Ok(out.remove(0))
}
