//! Annotates a store with the bundled model of the packaged crate, at fp32 and int8, and
//! checks the labels against the store's own (`bulk_labels`).
//! Usage: instructcell-package-test STORE

use instructcell::pipeline::{self, Dataset, InputOptions, LabelRequest};
use instructcell::{Control, Model, ModelOptions, TaskOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = std::env::args().nth(1).ok_or("usage: instructcell-package-test STORE")?;
    let dir = instructcell::bundled::package_dir()?;
    println!("bundled package written to {}", dir.display());
    for precision in ["fp32", "int8"] {
        let opts = ModelOptions::default().with_precision_spec(precision)?;
        let model = Model::load(&dir, &opts)?;
        let labels = model.label_set("cell_type").ok_or("no cell_type label set")?.to_vec();
        let mut data = Dataset::open(&store, &InputOptions::default())?;
        let truth = data.obs_strings("bulk_labels")?;
        let request = LabelRequest::new(TaskOptions::default().with_labels(labels));
        let preds = pipeline::annotate(&model, &mut data, &request, &mut Control::new())?;
        let correct = preds
            .predictions
            .iter()
            .zip(&truth)
            .filter(|(p, t)| p.label.is_some() && p.label == **t)
            .count();
        let n = preds.predictions.len();
        println!("{precision}: {correct}/{n} labels equal bulk_labels");
        if n == 0 || (correct as f64) < 0.7 * n as f64 {
            return Err(format!("{precision}: only {correct}/{n} correct").into());
        }
    }
    Ok(())
}
