//! Drug response prediction for every cell of a store (scored: a probability per answer).
//!
//! `cargo run --release --example drug_response -- [PACKAGE] [STORE] [DRUG]`
//! The bundled model was trained on SYNTHETIC drug labels (a documented cytotoxicity gene
//! program, not real drug-response data): its answers are a demonstration, not biology.

use instructcell::pipeline::{self, Dataset, InputOptions, LabelRequest};
use instructcell::tasks::{AnswerMode, Control, TaskOptions};
use instructcell::{Model, ModelOptions};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let a: Vec<String> = std::env::args().skip(1).collect();
    let package = a
        .first()
        .map(PathBuf::from)
        .unwrap_or(root.join("onnx/models/pbmc-small"));
    let store_path = a
        .get(1)
        .map(PathBuf::from)
        .unwrap_or(root.join("examples/data/pbmc68k_heldout.zarr"));
    let drug = a.get(2).cloned().unwrap_or_else(|| "SYN-CTX".to_string());
    let model = Model::load(&package, &ModelOptions::default())?;
    let mut data = Dataset::open(&store_path, &InputOptions::default())?;
    let req = LabelRequest::new(TaskOptions::default().with_mode(AnswerMode::Scored));
    let result = pipeline::drug_response(&model, &mut data, &drug, &req, &mut Control::new())?;
    let preds = &result.predictions;
    let names = data.obs_names();
    println!("response to {drug} (SYNTHETIC labels for the bundled model):");
    for p in preds.iter().take(10) {
        println!(
            "  {:<18} {:<10} p(Sensitive) = {:.3}",
            names[p.row],
            p.label.as_deref().unwrap_or("-"),
            p.probabilities[0]
        );
    }
    let sensitive = preds
        .iter()
        .filter(|p| p.label.as_deref() == Some("Sensitive"))
        .count();
    println!("{sensitive} of {} cells predicted sensitive", preds.len());
    Ok(())
}
