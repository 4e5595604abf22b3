//! Drug sensitivity prediction: its built-in template and labels, and the task over a whole
//! row source.

use super::classify;
use super::{Control, LabelPrediction, TaskOptions};
use crate::error::Result;
use crate::genes::GeneAlignment;
use crate::matrix::RowSource;
use crate::model::Model;

/// Built-in drug-response template (own wording); needs `drug`.
pub const DRUG_TEMPLATE: &str =
    "Is this cell {input} sensitive or resistant to {drug}? Answer with one of {choices}.";

/// Predicts the response of every cell to `drug`. The label set defaults to
/// `Sensitive` / `Resistant`.
///
/// # Errors
/// As [`annotate`](super::annotate).
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
