//! Label tasks over a whole dataset: cell type annotation and drug response, with genes
//! aligned from the matrix read, per-cell template fields from obs columns, and shards.

use super::dataset::Dataset;
use super::predictions::Predictions;
use super::shard::Shard;
use crate::error::Result;
use crate::genes::AlignOptions;
use crate::model::Model;
use crate::tasks::{self, AnswerMode, Control, TaskOptions};

/// The default answers of the drug-response task.
pub const DRUG_LABELS: [&str; 2] = ["Sensitive", "Resistant"];

/// What to ask of each cell of a dataset.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LabelRequest {
    /// Labels, answer mode, template, fixed metadata, decoding, batch size.
    pub task: TaskOptions,
    /// Template fields read per cell from obs columns, as `(field, column)`: e.g.
    /// `("tissue", "tissue_ontology_term")`.
    pub obs_fields: Vec<(String, String)>,
    /// Only this part of the dataset (default: all of it).
    pub shard: Option<Shard>,
    /// How genes are matched to the model's vocabulary.
    pub align: AlignOptions,
}

impl LabelRequest {
    /// A request with these task options.
    pub fn new(task: TaskOptions) -> Self {
        LabelRequest {
            task,
            ..Self::default()
        }
    }
    /// Reads the template field `field` of each cell from the obs column `column`.
    pub fn with_obs_field(mut self, field: impl Into<String>, column: impl Into<String>) -> Self {
        self.obs_fields.push((field.into(), column.into()));
        self
    }
    /// Processes only `shard`.
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }
    /// Sets how genes are matched.
    pub fn with_align(mut self, align: AlignOptions) -> Self {
        self.align = align;
        self
    }
}

/// Annotates the cell type of every cell of `dataset` (or of the request's shard). In scored
/// mode the package's calibration of `cell_type` (a temperature) applies unless the request
/// sets its own ([`TaskOptions::temperature`]).
///
/// ```no_run
/// use instructcell::pipeline::{annotate, Dataset, InputOptions, LabelOutput, LabelRequest};
/// use instructcell::tasks::{Control, TaskOptions};
/// use instructcell::model::{Model, ModelOptions};
///
/// # fn main() -> instructcell::Result<()> {
/// let model = Model::load("onnx/models/pbmc-small", &ModelOptions::default())?;
/// let mut data = Dataset::open("examples/data/pbmc68k_heldout.zarr", &InputOptions::default())?;
/// let task = TaskOptions::default().with_labels(["CD14+ Monocyte", "CD19+ B", "CD56+ NK"]);
/// let predictions = annotate(&model, &mut data, &LabelRequest::new(task), &mut Control::new())?;
/// let columns = predictions.columns(&LabelOutput::default())?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Gene overlap below the floor, per-cell fields naming missing obs columns or cells without
/// a value, the errors of [`tasks::annotate`].
pub fn annotate(
    model: &Model,
    dataset: &mut Dataset,
    req: &LabelRequest,
    control: &mut Control<'_>,
) -> Result<Predictions> {
    let labels = req.task.labels.clone();
    run(
        model,
        dataset,
        req,
        ("annotate", "cell_type"),
        labels,
        control,
        |m, s, a, o, c| tasks::annotate(m, s, a, o, c),
    )
}

/// Predicts every cell's response to `drug` (labels default to [`DRUG_LABELS`]); scored
/// probabilities use the package's calibration of `drug_response` when it has one.
///
/// # Errors
/// As [`annotate`].
pub fn drug_response(
    model: &Model,
    dataset: &mut Dataset,
    drug: &str,
    req: &LabelRequest,
    control: &mut Control<'_>,
) -> Result<Predictions> {
    let labels = if req.task.labels.is_empty() {
        DRUG_LABELS.iter().map(|s| s.to_string()).collect()
    } else {
        req.task.labels.clone()
    };
    run(
        model,
        dataset,
        req,
        ("drug-response", "drug_response"),
        labels.clone(),
        control,
        |m, s, a, o, c| {
            tasks::predict_drug_response(m, s, a, drug, &o.clone().with_labels(labels.clone()), c)
        },
    )
}

fn run<'f>(
    model: &Model,
    dataset: &mut Dataset,
    req: &LabelRequest,
    (task, calibration_key): (&str, &str),
    labels: Vec<String>,
    control: &mut Control<'_>,
    mut f: impl FnMut(
            &Model,
            &mut (dyn crate::matrix::RowSource + Send),
            &crate::genes::GeneAlignment,
            &TaskOptions,
            &mut Control<'_>,
        ) -> Result<Vec<tasks::LabelPrediction>>
        + 'f,
) -> Result<Predictions> {
    let alignment = dataset.align(model, &req.align)?;
    let mut opts = req.task.clone();
    if opts.mode == AnswerMode::Scored && opts.temperature.is_none() {
        if let Some(c) = model.calibration(calibration_key) {
            opts = opts.with_temperature(c.temperature);
        }
    }
    if !dataset.integer_counts() {
        opts = opts.with_integer_counts(false);
    }
    let rows = match req.shard {
        Some(s) => dataset.shard_rows(s, opts.batch_size),
        None => opts.rows.clone().unwrap_or(0..dataset.n_cells()),
    };
    opts = opts.with_rows(rows.clone());
    for (field, column) in &req.obs_fields {
        opts = opts.with_cell_field(field.clone(), dataset.obs_strings(column)?);
    }
    let predictions = f(model, dataset.source_mut(), &alignment, &opts, control)?;
    let names = dataset.obs_names();
    let cell_names = predictions
        .iter()
        .map(|p| names.get(p.row).cloned().unwrap_or_default())
        .collect();
    Ok(Predictions {
        task: task.to_string(),
        mode: Some(opts.mode),
        labels,
        temperature: opts.temperature.filter(|_| opts.mode == AnswerMode::Scored),
        n_obs: dataset.n_cells(),
        rows,
        predictions,
        cell_names,
    })
}

/// Follows the instruction `template` (which must contain `{input}`) for every cell of the
/// dataset: free answers, one per cell, in [`Predictions`] without labels.
///
/// # Errors
/// As [`annotate`]; a template without `{input}` is a prompt error.
pub fn instruct(
    model: &Model,
    dataset: &mut Dataset,
    template: &str,
    req: &LabelRequest,
    control: &mut Control<'_>,
) -> Result<Predictions> {
    let mut req = req.clone();
    req.task = req
        .task
        .with_template(template)
        .with_mode(crate::tasks::AnswerMode::Free)
        .with_labels(Vec::<String>::new());
    run(
        model,
        dataset,
        &req,
        ("instruct", ""),
        Vec::new(),
        control,
        |m, s, a, o, c| tasks::annotate(m, s, a, o, c),
    )
}
