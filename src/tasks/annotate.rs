//! Cell type annotation: its built-in templates and the task over a whole row source.

use super::classify;
use super::{Control, LabelPrediction, TaskOptions};
use crate::error::Result;
use crate::genes::GeneAlignment;
use crate::matrix::RowSource;
use crate::model::Model;

/// Built-in annotation template (own wording).
pub const ANNOTATE_TEMPLATE: &str =
    "Which cell type is this cell? {input} Choose one of {choices}.";
/// Built-in annotation template used when `species` and `tissue` are given.
pub const ANNOTATE_TEMPLATE_WITH_ORIGIN: &str =
    "This {species} cell comes from {tissue}: {input}. Which cell type is it? Choose one of {choices}.";

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
