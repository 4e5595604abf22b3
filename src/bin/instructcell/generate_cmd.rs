//! `generate`: pseudo-cells for conditions, written as a new AnnData store.

use std::path::Path;
use std::time::Instant;

use instructcell::cellgen::CountMode;
use instructcell::io::{StoreFormat, WriteOptions, ZarrVersion};
use instructcell::model::CellOptions;
use instructcell::prompt::Metadata;
use instructcell::tasks::{
    generate_cells, write_generated, CellGenerationOptions, CellRequest, Control,
};
use tracing::{info, warn};

use crate::cli::{Counts, GenerateArgs};
use crate::common::{load_model, text_or_file};
use crate::exit::{AtStage, CmdResult, Code, Failure, Stage};
use crate::progress::Progress;
use crate::signals::Signals;

fn request(fields: Vec<(String, String)>, n_default: usize, what: &str) -> CmdResult<CellRequest> {
    let mut cell_type = None;
    let mut n = n_default;
    let mut metadata = Metadata::new();
    for (k, v) in fields {
        match k.as_str() {
            "cell_type" => cell_type = Some(v),
            "n" => {
                n = v.parse().map_err(|_| {
                    Failure::usage(format!("{what}: n = '{v}' is not a whole number"))
                })?
            }
            _ => metadata.insert(k, v),
        }
    }
    let cell_type = cell_type
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| Failure::usage(format!("{what}: no cell_type")))?;
    if n == 0 {
        return Err(Failure::usage(format!("{what}: asks for 0 cells")));
    }
    Ok(CellRequest {
        cell_type,
        metadata,
        n_cells: n,
    })
}

fn from_file(path: &Path, n_default: usize) -> CmdResult<Vec<CellRequest>> {
    let delimiter = match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => b',',
        _ => b'\t',
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let what = format!("{}, line {}", path.display(), i + 2);
        let rec = rec.map_err(|e| Failure::usage(format!("{what}: {e}")))?;
        let fields = header
            .iter()
            .zip(rec.iter())
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.trim().to_string()))
            .collect();
        out.push(request(fields, n_default, &what)?);
    }
    if out.is_empty() {
        return Err(Failure::usage(format!(
            "{} lists no conditions",
            path.display()
        )));
    }
    Ok(out)
}

/// Conditions from files and `KEY=VALUE;...` specs.
fn conditions(args: &GenerateArgs) -> CmdResult<Vec<CellRequest>> {
    let mut out = Vec::new();
    for c in &args.conditions {
        let path = Path::new(c);
        if path.is_file() {
            out.extend(from_file(path, args.n_per_condition)?);
            continue;
        }
        let fields = c
            .split(';')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "--conditions '{c}' is neither a file nor KEY=VALUE;... with cell_type"
                        ))
                    })
            })
            .collect::<CmdResult<Vec<_>>>()?;
        out.push(request(
            fields,
            args.n_per_condition,
            &format!("--conditions '{c}'"),
        )?);
    }
    Ok(out)
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs, quiet: bool, signals: &Signals) -> CmdResult {
    if args.output.symlink_metadata().is_ok() && !args.overwrite {
        return Err(Failure::new(
            Code::Output,
            format!(
                "{} already exists: pass --overwrite to replace it",
                args.output.display()
            ),
        ));
    }
    let requests = conditions(args)?;
    let model = load_model(&args.model)?;
    let mut opts = CellGenerationOptions::default()
        .with_batch_size(args.batch_size.max(1))
        .with_cells(
            CellOptions::default()
                .with_seed(args.seed)
                .with_mode(match args.counts {
                    Counts::Sample => CountMode::Sample,
                    Counts::Mean => CountMode::Expected,
                }),
        );
    if let Some(t) = &args.template {
        opts = opts.with_template(text_or_file(t, "template")?);
    }
    let total: usize = requests.iter().map(|r| r.n_cells).sum();
    let mut progress = Progress::new(quiet, total, "cells");
    let start = Instant::now();
    let result = {
        let mut control = Control::new()
            .with_progress(|d, t| progress.update(d, t))
            .with_cancel(signals.flag());
        generate_cells(&model, &requests, &opts, &mut control)
    };
    progress.finish();
    if let Some(code) = signals.received() {
        return Err(Failure::new(code, "interrupted: nothing was written"));
    }
    let cells = result.at(Stage::Run)?;
    info!(
        "generated {} cells in {:.2} s",
        cells.request.len(),
        start.elapsed().as_secs_f64()
    );
    for (r, text) in &cells.refused {
        warn!(
            "condition {} ({}): the model answered without generating a cell: {text:?}",
            r + 1,
            requests[*r].cell_type
        );
    }
    if cells.request.is_empty() {
        return Err(Failure::new(
            Code::Internal,
            "the model generated no cell for any condition",
        ));
    }
    let is_h5ad = args.output.extension().and_then(|e| e.to_str()) == Some("h5ad");
    let format = if is_h5ad {
        StoreFormat::H5ad
    } else {
        StoreFormat::Zarr(ZarrVersion::V3)
    };
    let wopts = WriteOptions::default()
        .with_format(format)
        .with_overwrite(args.overwrite);
    write_generated(&args.output, &cells, &model, &wopts).at(Stage::Write)?;
    info!("wrote {}", args.output.display());
    if !quiet {
        println!("cell_type\tcells");
        for (i, r) in requests.iter().enumerate() {
            let n = cells.request.iter().filter(|&&x| x == i).count();
            println!("{}\t{n}", r.cell_type);
        }
    }
    Ok(())
}
