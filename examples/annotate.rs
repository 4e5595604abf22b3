//! Cell type annotation of a whole AnnData store through the pipeline API, written back into a
//! new store that keeps every element of the input.
//!
//! `cargo run --release --example annotate -- [PACKAGE] [STORE] [MODE: free|constrained|scored]
//! [PRECISION]` (defaults: the bundled model and held-out PBMCs, constrained, fp32; PRECISION
//! as `ModelOptions::with_precision_spec` reads it, e.g. `int8+ties=0.5`: int8 graphs with fp32
//! deciding near-ties). The labels are the package's own label set; the store itself is not
//! modified: the result goes to `target/annotated.zarr` (the `instructcell annotate` command
//! does the same with flags).

use instructcell::pipeline::{self, Dataset, InputOptions, LabelOutput, LabelRequest, WriteTarget};
use instructcell::{Control, Model, ModelOptions, TaskOptions};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let a: Vec<String> = std::env::args().skip(1).collect();
    let package = a
        .first()
        .map(PathBuf::from)
        .unwrap_or(root.join("onnx/models/pbmc-small"));
    let store = a
        .get(1)
        .map(PathBuf::from)
        .unwrap_or(root.join("examples/data/pbmc68k_heldout.zarr"));
    let mode = a.get(2).map_or(Ok(Default::default()), |m| m.parse())?;
    let model_opts = match a.get(3) {
        Some(spec) => ModelOptions::default().with_precision_spec(spec)?,
        None => ModelOptions::default(),
    };
    let model = Model::load(&package, &model_opts)?;
    let labels = model
        .package()
        .manifest()
        .label_sets
        .get("cell_type")
        .cloned()
        .ok_or(
            "the package carries no cell_type label set; use `instructcell annotate --labels`",
        )?;
    let mut data = Dataset::open(&store, &InputOptions::default())?;
    let task = TaskOptions::default()
        .with_labels(labels)
        .with_mode(mode)
        .with_metadata("species", "human")
        .with_metadata("tissue", "peripheral blood");
    let mut control = Control::new().with_progress(|done, total| eprint!("\r{done}/{total} cells"));
    let preds = pipeline::annotate(&model, &mut data, &LabelRequest::new(task), &mut control)?;
    eprintln!();
    for (p, n) in preds.precision_counts() {
        println!("{n} labels decided by the {} graphs", p.as_str());
    }
    for (p, name) in preds.predictions.iter().zip(&preds.cell_names).take(10) {
        println!(
            "{name:<18} {:<30} {:.3}",
            p.label.as_deref().unwrap_or("-"),
            p.confidence
        );
    }
    let out = root.join("target/annotated.zarr");
    let columns = preds.columns(&LabelOutput::default().with_key_added("instructcell_label"))?;
    let target = WriteTarget::NewStore {
        path: out.clone(),
        overwrite: true,
    };
    pipeline::write_columns(data.path(), data.modality(), &target, &columns, false)?;
    println!(
        "wrote obs columns instructcell_label(_confidence, _text, _precision) to {}",
        out.display()
    );
    Ok(())
}
