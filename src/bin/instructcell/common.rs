//! What the subcommands share: the model, the dataset, label sets, metadata and templates.

use std::path::{Path, PathBuf};

use instructcell::io::{MatrixChoice, MatrixSelection};
use instructcell::model::{Model, ModelOptions};
use instructcell::pipeline::{Dataset, InputOptions};
use instructcell::prompt::Metadata;
use instructcell::runtime::ExecutionProvider;
use tracing::{info, warn};

use crate::cli::{Device, InputArgs, ModelArgs};
use crate::exit::{AtStage, CmdResult, Failure, Stage};

/// The model package used when none is named: `$INSTRUCTCELL_MODEL`, else the bundled one
/// (from the source tree this program was built in, else, with the `bundled-model` feature,
/// the copy written into the user's cache).
pub fn model_dir(arg: Option<&Path>) -> CmdResult<PathBuf> {
    if let Some(p) = arg {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("INSTRUCTCELL_MODEL").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let in_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("onnx/models/pbmc-small");
    if in_source.join("manifest.json").is_file() {
        return Ok(in_source);
    }
    bundled_dir()
}

#[cfg(feature = "bundled-model")]
fn bundled_dir() -> CmdResult<PathBuf> {
    instructcell::bundled::package_dir().at(Stage::Model)
}

#[cfg(not(feature = "bundled-model"))]
fn bundled_dir() -> CmdResult<PathBuf> {
    Err(Failure::new(
        crate::exit::Code::Package,
        "no model package: pass --model DIR or set INSTRUCTCELL_MODEL (this build has no \
         bundled model; build with the `bundled-model` feature to include it)",
    ))
}

/// Loads the model the flags describe and logs what was loaded.
pub fn load_model(args: &ModelArgs) -> CmdResult<Model> {
    let dir = model_dir(args.model.as_deref())?;
    let mut opts = ModelOptions::default()
        .with_precision_spec(&args.precision)
        .at(Stage::Model)?;
    if let Some(t) = args.threads {
        if t == 0 {
            return Err(Failure::usage("--threads must be at least 1"));
        }
        opts = opts.with_threads(t);
    }
    let providers = match args.device {
        Device::Cpu => vec![ExecutionProvider::Cpu],
        Device::Cuda => vec![ExecutionProvider::cuda(), ExecutionProvider::Cpu],
        Device::Tensorrt => vec![
            ExecutionProvider::tensorrt(),
            ExecutionProvider::cuda(),
            ExecutionProvider::Cpu,
        ],
    };
    let session = opts
        .session
        .clone()
        .with_providers(providers)
        .with_allow_fallback(args.allow_fallback);
    let opts = opts.with_session(session);
    let model = Model::load(&dir, &opts).at(Stage::Model)?;
    let report = model.providers();
    for (provider, why) in &report.fallbacks {
        warn!(
            "{provider} could not start ({why}); running on {}",
            report.active.join(", ")
        );
    }
    info!(
        "model {} ({}, {} genes, providers {}, {} threads)",
        dir.display(),
        model.precision().as_str(),
        model.dims().num_genes,
        report.active.join(", "),
        opts.session.threads
    );
    Ok(model)
}

/// Opens the dataset the flags describe and logs which matrix is read and why.
pub fn open_dataset(args: &InputArgs) -> CmdResult<Dataset> {
    let matrix = if let Some(layer) = &args.layer {
        MatrixChoice::Use(MatrixSelection::Layer(layer.clone()))
    } else if args.use_raw {
        MatrixChoice::Use(MatrixSelection::RawX)
    } else if args.use_x {
        MatrixChoice::Use(MatrixSelection::X)
    } else {
        MatrixChoice::Auto
    };
    let mut opts = InputOptions::default().with_matrix(matrix);
    if let Some(g) = &args.gene_symbols {
        opts = opts.with_gene_symbols(g.clone());
    }
    opts = opts.with_modality(args.modality.clone());
    let data = Dataset::open(&args.input, &opts).at(Stage::Run)?;
    if let Some(m) = data.modality() {
        info!("input {}: MuData modality '{m}'", args.input.display());
    }
    if data.store().is_some_and(|s| s.is_legacy()) {
        info!(
            "input {}: pre-0.7 AnnData layout (read as anndata reads it)",
            args.input.display()
        );
    }
    match data.chosen() {
        Some(c) => info!(
            "input {}: {} cells; reading {} ({}: {}){}",
            args.input.display(),
            data.n_cells(),
            c.report.element,
            c.report.content.describe(),
            c.report.detail,
            if c.transform == instructcell::io::ValueTransform::Expm1 {
                ", turned back into counts with expm1"
            } else {
                ""
            }
        ),
        None => info!(
            "input {}: {} cells (10x directory)",
            args.input.display(),
            data.n_cells()
        ),
    }
    Ok(data)
}

/// Text given as `TEXT` or `@FILE`.
pub fn text_or_file(value: &str, what: &str) -> CmdResult<String> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read the {what} file {path}: {e}"))),
        None => Ok(value.to_string()),
    }
}

/// `--metadata` values: fixed fields, and fields read per cell from obs columns.
#[derive(Debug, Default)]
pub struct MetadataArgs {
    /// Same value for every cell.
    pub fixed: Metadata,
    /// `(field, obs column)`.
    pub per_cell: Vec<(String, String)>,
}

/// Parses `KEY=VALUE` and `KEY=obs:COLUMN`.
pub fn parse_metadata(values: &[String]) -> CmdResult<MetadataArgs> {
    let mut out = MetadataArgs::default();
    for v in values {
        let (k, val) = v.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "--metadata '{v}' is not KEY=VALUE (e.g. species=human or tissue=obs:tissue)"
            ))
        })?;
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(Failure::usage(format!(
                "--metadata '{v}': the key must be a template field name such as species"
            )));
        }
        match val.strip_prefix("obs:") {
            Some(col) if !col.is_empty() => out.per_cell.push((k.into(), col.into())),
            Some(_) => {
                return Err(Failure::usage(format!(
                    "--metadata '{v}': no obs column named"
                )))
            }
            None => out.fixed.insert(k, val),
        }
    }
    Ok(out)
}

/// A label set given as a file (one per line) or a comma-separated list.
pub fn parse_labels(value: &str) -> CmdResult<Vec<String>> {
    let path = Path::new(value);
    let text = if path.is_file() {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read the labels file {value}: {e}")))?
    } else {
        value.replace(',', "\n")
    };
    let mut labels: Vec<String> = Vec::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !labels.iter().any(|x| x == l) {
            labels.push(l.to_string());
        }
    }
    if labels.is_empty() {
        return Err(Failure::usage(format!("the label set '{value}' is empty")));
    }
    Ok(labels)
}
