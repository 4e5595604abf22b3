//! Fits the temperature that calibrates a package's scored cell type probabilities, on cells
//! with known labels that the model never saw in training, and reports the expected
//! calibration error (ECE, 10 bins) before and after on other such cells.
//!
//! `cargo run --release --example calibrate -- [PACKAGE] [STORE] [TRUTH_COLUMN] [--write]`
//! (defaults: the bundled package, the held-out PBMCs, `bulk_labels`). The cells are split by
//! row parity: the temperature is fitted on the even rows and evaluated on the odd rows (and,
//! as a check of its stability, the other way round). `--write` stores the even-row
//! temperature in the package's `manifest.json` as `calibration.cell_type`.

use instructcell::pipeline::calibration::{
    expected_calibration_error, fit_temperature, rescale, temperature_nll,
};
use instructcell::pipeline::{self, Dataset, InputOptions, LabelRequest};
use instructcell::{AnswerMode, Control, Model, ModelOptions, TaskOptions};
use std::path::PathBuf;

struct Fold {
    temperature: f64,
    ece_before: f64,
    ece_after: f64,
    nll_before: f64,
    nll_after: f64,
}

fn fold(
    probs: &[Vec<f32>],
    truth: &[usize],
    fit: &[usize],
    eval: &[usize],
) -> instructcell::Result<Fold> {
    let pick = |rows: &[usize]| -> (Vec<Vec<f32>>, Vec<usize>) {
        (
            rows.iter().map(|&i| probs[i].clone()).collect(),
            rows.iter().map(|&i| truth[i]).collect(),
        )
    };
    let (fp, ft) = pick(fit);
    let (ep, et) = pick(eval);
    let t = fit_temperature(&fp, &ft)?;
    let ece = |ps: &[Vec<f32>]| {
        let (conf, ok): (Vec<f32>, Vec<bool>) = ps
            .iter()
            .zip(&et)
            .map(|(p, &t)| {
                let best = (0..p.len())
                    .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                    .unwrap_or(0);
                (p[best], best == t)
            })
            .unzip();
        expected_calibration_error(&conf, &ok, 10)
    };
    let after: Vec<Vec<f32>> = ep.iter().map(|p| rescale(p, t)).collect();
    Ok(Fold {
        temperature: t,
        ece_before: ece(&ep),
        ece_after: ece(&after),
        nll_before: temperature_nll(&ep, &et, 1.0),
        nll_after: temperature_nll(&ep, &et, t),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let write = args.iter().any(|a| a == "--write");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let package = pos
        .first()
        .map(PathBuf::from)
        .unwrap_or(root.join("onnx/models/pbmc-small"));
    let store = pos
        .get(1)
        .map(PathBuf::from)
        .unwrap_or(root.join("examples/data/pbmc68k_heldout.zarr"));
    let column = pos
        .get(2)
        .map(|s| s.to_string())
        .unwrap_or("bulk_labels".into());

    let model = Model::load(&package, &ModelOptions::default())?;
    let labels = model
        .package()
        .manifest()
        .label_sets
        .get("cell_type")
        .cloned()
        .ok_or("the package has no cell_type label set")?;
    let mut data = Dataset::open(&store, &InputOptions::default())?;
    let truth_names = data.obs_strings(&column)?;
    // Raw probabilities: temperature 1, whatever the package says.
    let task = TaskOptions::default()
        .with_labels(labels.clone())
        .with_mode(AnswerMode::Scored)
        .with_temperature(1.0);
    let preds = pipeline::annotate(
        &model,
        &mut data,
        &LabelRequest::new(task),
        &mut Control::new(),
    )?;
    let mut probs = Vec::new();
    let mut truth = Vec::new();
    let mut rows = Vec::new();
    for p in &preds.predictions {
        if let Some(t) = truth_names[p.row]
            .as_ref()
            .and_then(|n| labels.iter().position(|l| l == n))
        {
            probs.push(p.probabilities.clone());
            truth.push(t);
            rows.push(p.row);
        }
    }
    let even: Vec<usize> = (0..rows.len()).filter(|&i| rows[i] % 2 == 0).collect();
    let odd: Vec<usize> = (0..rows.len()).filter(|&i| rows[i] % 2 == 1).collect();
    let a = fold(&probs, &truth, &even, &odd)?;
    let b = fold(&probs, &truth, &odd, &even)?;
    println!(
        "{} cells with a known label ({} even rows, {} odd rows)",
        rows.len(),
        even.len(),
        odd.len()
    );
    println!("| fitted on | evaluated on | temperature | ECE before | ECE after | NLL before | NLL after |");
    println!("|---|---|---|---|---|---|---|");
    for (name, f, other) in [("even rows", &a, "odd rows"), ("odd rows", &b, "even rows")] {
        println!(
            "| {name} | {other} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            f.temperature, f.ece_before, f.ece_after, f.nll_before, f.nll_after
        );
    }
    if write {
        let path = package.join("manifest.json");
        let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        doc["calibration"]["cell_type"] = serde_json::json!({
            "temperature": (a.temperature as f32),
            "fitted_on": format!(
                "{} even-row cells of {} ('{column}', never seen in training); evaluated on its {} odd-row cells",
                even.len(),
                store.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                odd.len()
            ),
            "ece_before": (a.ece_before as f32),
            "ece_after": (a.ece_after as f32),
        });
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&doc)? + "\n")?;
        std::fs::rename(&tmp, &path)?;
        println!(
            "wrote calibration.cell_type (temperature {:.3}) to {}",
            a.temperature,
            path.display()
        );
    }
    Ok(())
}
