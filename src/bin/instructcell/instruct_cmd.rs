//! `instruct`: a free-form instruction, once or for every cell of a dataset.

use instructcell::generation::DecodingOptions;
use instructcell::model::CellOptions;
use instructcell::pipeline::{self, LabelOutput, LabelRequest};
use instructcell::tasks::{self, TaskOptions};

use crate::cli::{InputArgs, InstructArgs, OutputArgs};
use crate::common::{load_model, open_dataset, parse_metadata, text_or_file};
use crate::exit::{AtStage, CmdResult, Failure, Stage};
use crate::labels_cmd::{check_outputs, check_writable, run_task_with, write_outputs};
use crate::signals::Signals;

/// Runs `instruct`.
pub fn run(args: &InstructArgs, quiet: bool, signals: &Signals) -> CmdResult {
    let template = text_or_file(&args.template, "template")?;
    let meta = parse_metadata(&args.metadata)?;
    let generation = DecodingOptions::default().with_max_new_tokens(args.max_new_tokens);
    let Some(input) = &args.input else {
        if !meta.per_cell.is_empty() {
            return Err(Failure::usage("KEY=obs:COLUMN metadata needs --input"));
        }
        let model = load_model(&args.model)?;
        let answer = tasks::instruct(
            &model,
            &template,
            &meta.fixed,
            None,
            &generation,
            &CellOptions::default(),
        )
        .at(Stage::Run)?;
        println!("{}", answer.text);
        return Ok(());
    };
    let out = OutputArgs {
        output: args.output.clone(),
        in_place: false,
        overwrite: args.overwrite,
        key_added: args.key_added.clone(),
        table: args.table.clone(),
    };
    check_outputs(&out)?;
    let mut data = open_dataset(&InputArgs {
        input: input.clone(),
        layer: None,
        use_raw: false,
        use_x: false,
        gene_symbols: None,
        modality: args.modality.clone(),
    })?;
    check_writable(data.path(), data.modality(), &out)?;
    let model = load_model(&args.model)?;
    let mut opts = TaskOptions::default()
        .with_batch_size(args.batch_size.max(1))
        .with_generation(generation);
    opts.metadata = meta.fixed;
    let mut req = LabelRequest::new(opts);
    for (field, col) in meta.per_cell {
        req = req.with_obs_field(field, col);
    }
    let predictions = run_task_with(quiet, signals, data.n_cells(), |control| {
        pipeline::instruct(&model, &mut data, &template, &req, control)
    })?;
    let post = LabelOutput::default().with_key_added(args.key_added.clone());
    let text_col = format!("{}_text", args.key_added);
    let columns: Vec<_> = predictions
        .columns(&post)
        .at(Stage::Run)?
        .into_iter()
        .filter(|(n, _)| *n == text_col)
        .collect();
    write_outputs(
        data.path(),
        data.modality(),
        &predictions,
        &columns,
        &out,
        &post,
        signals,
    )?;
    if !quiet && out.table.is_none() && out.output.is_none() {
        for (p, name) in predictions.predictions.iter().zip(&predictions.cell_names) {
            println!("{name}\t{}", p.text);
        }
    }
    Ok(())
}
