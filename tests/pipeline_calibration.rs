//! The bundled package's calibration: scored probabilities are the raw ones at the stored
//! temperature, labels do not change, and a package with a bad temperature is refused.

mod package_support;

use std::path::PathBuf;

use instructcell::pipeline::calibration::rescale;
use instructcell::pipeline::{self, Dataset, InputOptions, LabelRequest};
use instructcell::{AnswerMode, Control, ModelOptions, TaskOptions};
use package_support::{copy_dir, edit_manifest, load_or_skip};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn stored_temperature_rescales_scored_probabilities_and_keeps_labels() {
    let pkg = root().join("onnx/models/pbmc-small");
    let Some(model) = load_or_skip(&pkg, &ModelOptions::default()) else {
        return;
    };
    let model = model.unwrap();
    let t = model.package().manifest().calibration["cell_type"].temperature;
    assert!(t > 1.0, "the bundled model is over-confident: {t}");
    let labels = model.package().manifest().label_sets["cell_type"].clone();
    let store = root().join("examples/data/pbmc68k_heldout.zarr");
    let mut data = Dataset::open(&store, &InputOptions::default()).unwrap();
    let task = TaskOptions::default()
        .with_labels(labels)
        .with_mode(AnswerMode::Scored);
    let calibrated = pipeline::annotate(
        &model,
        &mut data,
        &LabelRequest::new(task.clone()),
        &mut Control::new(),
    )
    .unwrap();
    assert_eq!(calibrated.temperature, Some(t));
    let raw = pipeline::annotate(
        &model,
        &mut data,
        &LabelRequest::new(task.with_temperature(1.0)),
        &mut Control::new(),
    )
    .unwrap();
    let mut worst = 0f32;
    for (c, r) in calibrated.predictions.iter().zip(&raw.predictions) {
        assert_eq!(c.label, r.label);
        assert!(c.confidence <= r.confidence + 1e-6);
        for (a, b) in c
            .probabilities
            .iter()
            .zip(rescale(&r.probabilities, t as f64))
        {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(
        worst < 1e-5,
        "calibrated probabilities differ from rescaled raw ones by {worst}"
    );
    let mean = |p: &pipeline::Predictions| {
        p.predictions
            .iter()
            .map(|x| x.confidence as f64)
            .sum::<f64>()
            / 178.0
    };
    assert!(mean(&calibrated) < mean(&raw) - 0.05);
    // A constrained run reports no temperature.
    let constrained = pipeline::annotate(
        &model,
        &mut data,
        &LabelRequest::new(TaskOptions::default().with_labels(raw.labels.clone())),
        &mut Control::new(),
    )
    .unwrap();
    assert_eq!(constrained.temperature, None);
}

#[test]
fn a_bad_temperature_is_a_package_error() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("onnx/models/pbmc-small"), dir.path());
    for bad in [serde_json::json!(-1.0), serde_json::json!(0.0)] {
        edit_manifest(dir.path(), |m| {
            m["calibration"]["cell_type"]["temperature"] = bad.clone()
        });
        let Some(r) = load_or_skip(dir.path(), &ModelOptions::default()) else {
            return;
        };
        let e = r.unwrap_err().to_string();
        assert!(e.contains("temperature"), "{e}");
    }
}
