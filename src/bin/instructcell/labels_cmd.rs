//! `annotate`, `drug-response` and `instruct --input`: a task over every cell of a dataset.

use std::path::Path;
use std::time::Instant;

use instructcell::generation::DecodingOptions;
use instructcell::io::{check_obs_writable, Column};
use instructcell::model::Model;
use instructcell::pipeline::{
    self, write_columns, write_table, Dataset, LabelOutput, LabelRequest, Predictions, Shard,
    TableFormat, WriteTarget, DRUG_LABELS,
};
use instructcell::tasks::{AnswerMode, Control, TaskOptions};
use tracing::{info, warn};

use crate::cli::{LabelArgs, Mode, OutputArgs, PostArgs};
use crate::common::{load_model, open_dataset, parse_labels, parse_metadata, text_or_file};
use crate::exit::{AtStage, CmdResult, Failure, Stage};
use crate::progress::Progress;
use crate::signals::Signals;

/// Which label task.
pub enum LabelTask {
    /// Cell types.
    Annotate,
    /// Response to a drug.
    Drug(String),
}

impl LabelTask {
    fn label_set_key(&self) -> &'static str {
        match self {
            LabelTask::Annotate => "cell_type",
            LabelTask::Drug(_) => "drug_response",
        }
    }
}

/// Checks the output flags before any work: a table with a known extension, an output that
/// does not exist yet (unless overwriting).
pub fn check_outputs(out: &OutputArgs) -> CmdResult {
    if let Some(t) = &out.table {
        TableFormat::from_path(t).at(Stage::Run)?;
    }
    if let Some(o) = &out.output {
        if o.symlink_metadata().is_ok() && !out.overwrite {
            return Err(Failure::new(
                crate::exit::Code::Output,
                format!(
                    "{} already exists: pass --overwrite to replace it",
                    o.display()
                ),
            ));
        }
    }
    if out.output.is_none() && !out.in_place && out.table.is_none() {
        warn!("no --output, --in-place or --table: the results are only summarised");
    }
    Ok(())
}

/// Checks, before any work, that obs columns can go where the flags send them (not into a
/// pre-0.7 obs record array, nor a missing MuData modality).
pub fn check_writable(input: &Path, modality: Option<&str>, out: &OutputArgs) -> CmdResult {
    if out.output.is_some() || out.in_place {
        check_obs_writable(input, modality).at(Stage::Write)?;
    }
    Ok(())
}

/// The post-processing the flags ask for; `clusters` reads the obs column of
/// `--over-clustering`.
pub fn label_output(
    out: &OutputArgs,
    post: &PostArgs,
    clusters: impl FnOnce(&str) -> CmdResult<Vec<Option<String>>>,
) -> CmdResult<LabelOutput> {
    let mut lo = LabelOutput::default().with_key_added(out.key_added.clone());
    if let Some(p) = post.p_thres {
        if !(0.0..=1.0).contains(&p) {
            return Err(Failure::usage(format!("--p-thres {p} is not within 0..1")));
        }
        lo = lo.with_p_thres(p);
    }
    if post.majority_voting {
        let col = post.over_clustering.as_deref().unwrap_or_default();
        lo = lo.with_majority_voting(clusters(col)?);
    } else if post.over_clustering.is_some() {
        return Err(Failure::usage("--over-clustering needs --majority-voting"));
    }
    Ok(lo)
}

fn mode(m: Mode) -> AnswerMode {
    match m {
        Mode::Free => AnswerMode::Free,
        Mode::Constrained => AnswerMode::Constrained,
        Mode::Scored => AnswerMode::Scored,
    }
}

/// The observed values of an obs column, in category order (categoricals) or sorted.
fn observed_labels(data: &Dataset, column: &str) -> CmdResult<Vec<String>> {
    let values = data.obs_strings(column).at(Stage::Run)?;
    let mut labels: Vec<String> = values.into_iter().flatten().collect();
    labels.sort();
    labels.dedup();
    if labels.is_empty() {
        return Err(Failure::usage(format!(
            "obs column '{column}' holds no labels"
        )));
    }
    Ok(labels)
}

fn label_set(
    args: &LabelArgs,
    task: &LabelTask,
    model: &Model,
    data: &Dataset,
) -> CmdResult<Vec<String>> {
    if let Some(l) = &args.task.labels {
        return parse_labels(l);
    }
    if let Some(col) = &args.task.labels_from_obs {
        return observed_labels(data, col);
    }
    if let Some(set) = model.label_set(task.label_set_key()) {
        if !set.is_empty() {
            info!(
                "label set: the package's {} ({} labels)",
                task.label_set_key(),
                set.len()
            );
            return Ok(set.to_vec());
        }
    }
    match task {
        LabelTask::Drug(_) => Ok(DRUG_LABELS.iter().map(|s| s.to_string()).collect()),
        LabelTask::Annotate if args.task.mode == Mode::Free => Ok(Vec::new()),
        LabelTask::Annotate => Err(Failure::usage(
            "no label set: pass --labels FILE|A,B,C or --labels-from-obs COLUMN (the model \
             package carries none)",
        )),
    }
}

/// Runs a label task as the flags say.
pub fn run(args: &LabelArgs, task: LabelTask, quiet: bool, signals: &Signals) -> CmdResult {
    check_outputs(&args.output)?;
    let shard: Option<Shard> = match &args.task.shard {
        Some(s) => Some(s.parse().at(Stage::Run)?),
        None => None,
    };
    if args.task.batch_size == 0 {
        return Err(Failure::usage("--batch-size must be at least 1"));
    }
    let meta = parse_metadata(&args.task.metadata)?;
    let template = match &args.task.template {
        Some(t) => Some(text_or_file(t, "template")?),
        None => None,
    };
    let mut data = open_dataset(&args.input)?;
    check_writable(data.path(), data.modality(), &args.output)?;
    let output = label_output(&args.output, &args.post, |c| {
        data.obs_strings(c).at(Stage::Run)
    })?;
    let model = load_model(&args.model)?;
    let labels = label_set(args, &task, &model, &data)?;
    let mut opts = TaskOptions::default()
        .with_labels(labels)
        .with_mode(mode(args.task.mode))
        .with_batch_size(args.task.batch_size)
        .with_generation(DecodingOptions::default().with_max_new_tokens(args.task.max_new_tokens));
    opts.metadata = meta.fixed;
    if let Some(t) = template {
        opts = opts.with_template(t);
    }
    let mut req = LabelRequest::new(opts);
    for (field, col) in meta.per_cell {
        req = req.with_obs_field(field, col);
    }
    if let Some(s) = shard {
        let rows = data.shard_rows(s, args.task.batch_size);
        info!(
            "shard {s}: cells {}..{} of {} (units of {} cells)",
            rows.start,
            rows.end,
            data.n_cells(),
            data.shard_unit(args.task.batch_size)
        );
        req = req.with_shard(s);
    }
    let predictions = run_task(&model, &mut data, &req, &task, quiet, signals)?;
    match (args.task.mode, predictions.temperature) {
        (Mode::Scored, Some(t)) => {
            info!("scored probabilities calibrated with temperature {t:.3} (the package's)")
        }
        (Mode::Scored, None) => warn!(
            "scored probabilities are not calibrated: the package carries no temperature for {}",
            task.label_set_key()
        ),
        (_, _) if args.post.p_thres.is_some() => warn!(
            "--p-thres on {} confidences, which are not calibrated: use --mode scored",
            if args.task.mode == Mode::Free {
                "free"
            } else {
                "constrained"
            }
        ),
        _ => {}
    }
    finish(&predictions, &data, &args.output, &output, quiet, signals)
}

/// Runs the task with progress and cancellation.
pub fn run_task(
    model: &Model,
    data: &mut Dataset,
    req: &LabelRequest,
    task: &LabelTask,
    quiet: bool,
    signals: &Signals,
) -> CmdResult<Predictions> {
    let total = match req.shard {
        Some(s) => data.shard_rows(s, req.task.batch_size).len(),
        None => data.n_cells(),
    };
    run_task_with(quiet, signals, total, |control| match task {
        LabelTask::Annotate => pipeline::annotate(model, data, req, control),
        LabelTask::Drug(drug) => pipeline::drug_response(model, data, drug, req, control),
    })
}

/// Runs `f` over `total` cells with a progress display and the signal flag, then logs the
/// throughput and which precisions decided.
pub fn run_task_with(
    quiet: bool,
    signals: &Signals,
    total: usize,
    f: impl FnOnce(&mut Control<'_>) -> instructcell::Result<Predictions>,
) -> CmdResult<Predictions> {
    let mut progress = Progress::new(quiet, total, "cells");
    let start = Instant::now();
    let (result, inference) = {
        let mut control = Control::new()
            .with_progress(|done, total| progress.update(done, total))
            .with_cancel(signals.flag());
        let r = f(&mut control);
        (r, control.inference_time().as_secs_f64())
    };
    progress.finish();
    if let Some(code) = signals.received() {
        return Err(Failure::new(code, "interrupted: nothing was written"));
    }
    let predictions = result.at(Stage::Run)?;
    let secs = start.elapsed().as_secs_f64();
    let by: Vec<String> = predictions
        .precision_counts()
        .iter()
        .map(|(p, n)| format!("{n} by {}", p.as_str()))
        .collect();
    info!(
        "answered {} cells in {secs:.2} s ({:.1} cells/s; {}); model {inference:.2} s, reading and \
         preprocessing outside the model {:.2} s",
        predictions.predictions.len(),
        predictions.predictions.len() as f64 / secs.max(1e-9),
        by.join(", "),
        (secs - inference).max(0.0)
    );
    Ok(predictions)
}

/// Writes the table and the store, then prints the label counts.
pub fn finish(
    predictions: &Predictions,
    data: &Dataset,
    out: &OutputArgs,
    post: &LabelOutput,
    quiet: bool,
    signals: &Signals,
) -> CmdResult {
    let columns = predictions.columns(post).at(Stage::Run)?;
    write_outputs(
        data.path(),
        data.modality(),
        predictions,
        &columns,
        out,
        post,
        signals,
    )?;
    if !quiet {
        print_counts(predictions, post)?;
    }
    Ok(())
}

/// Prints how many cells received each label (stdout).
pub fn print_counts(predictions: &Predictions, post: &LabelOutput) -> CmdResult {
    let counts = predictions.label_counts(post).at(Stage::Run)?;
    let width = counts
        .iter()
        .map(|(l, _)| l.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("{:<width$}  cells", "label");
    for (l, n) in counts {
        println!("{l:<width$}  {n}");
    }
    Ok(())
}

/// Writes the table (if asked) and the columns (if asked), checking for signals first.
pub fn write_outputs(
    input: &Path,
    modality: Option<&str>,
    predictions: &Predictions,
    columns: &[(String, Column)],
    out: &OutputArgs,
    post: &LabelOutput,
    signals: &Signals,
) -> CmdResult {
    if let Some(code) = signals.received() {
        return Err(Failure::new(code, "interrupted: nothing was written"));
    }
    let mut wrote_table = false;
    if let Some(t) = &out.table {
        let assigned = predictions.assign(post).at(Stage::Run)?;
        write_table(t, predictions, &assigned).at(Stage::Write)?;
        wrote_table = true;
    }
    let target = if out.in_place {
        Some(WriteTarget::InPlace)
    } else {
        out.output.as_ref().map(|p| WriteTarget::NewStore {
            path: p.clone(),
            overwrite: out.overwrite,
        })
    };
    if let Some(t) = &target {
        if let Err(e) = write_columns(input, modality, t, columns, out.overwrite) {
            // All or nothing: the table of a run whose store could not be written goes too.
            if let (true, Some(table)) = (wrote_table, &out.table) {
                let _ = std::fs::remove_file(table);
            }
            return Err(crate::exit::failure(e, Stage::Write));
        }
        let dest = match t {
            WriteTarget::NewStore { path, .. } => path.as_path(),
            _ => input,
        };
        info!(
            "wrote obs columns {} to {}",
            columns
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            dest.display()
        );
    }
    if let Some(t) = &out.table {
        info!(
            "wrote {} rows to {}",
            predictions.predictions.len(),
            t.display()
        );
    }
    Ok(())
}
