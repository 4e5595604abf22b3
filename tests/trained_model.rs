//! The bundled trained package (`onnx/models/pbmc-small`) on the bundled held-out PBMCs: int8
//! graphs agree with fp32 greedy answers, and annotation is well above chance. Skips when the
//! package is not present.

use instructcell::generation::GenerationOptions;
use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::io::{AnnDataStore, ReadOptions};
use instructcell::model::{Model, ModelOptions};
use instructcell::package::Precision;
use instructcell::tasks::{annotate, AnswerMode, Control, LabelPrediction, TaskOptions};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(p: Precision) -> Option<Model> {
    let dir = root().join("onnx/models/pbmc-small");
    if !dir.join("manifest.json").exists() {
        eprintln!("skipping: no trained package at {}", dir.display());
        return None;
    }
    match Model::load(
        &dir,
        &ModelOptions::default().with_threads(2).with_precision(p),
    ) {
        Ok(m) => Some(m),
        Err(instructcell::Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn run(model: &Model, mode: AnswerMode) -> (Vec<LabelPrediction>, Vec<String>) {
    let store = AnnDataStore::open(root().join("examples/data/pbmc68k_heldout.zarr")).unwrap();
    let truth: Vec<String> = store
        .obs_column("bulk_labels")
        .unwrap()
        .to_strings()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let mut labels = truth.clone();
    labels.sort();
    labels.dedup();
    let alignment = GeneAlignment::new(
        &store.var_names().unwrap(),
        model.genes(),
        &AlignOptions::default(),
    )
    .unwrap();
    let opts = TaskOptions::default()
        .with_labels(labels)
        .with_mode(mode)
        .with_generation(GenerationOptions::default().with_max_new_tokens(24));
    let reader = store.matrix(&ReadOptions::default()).unwrap();
    let preds = annotate(model, reader, &alignment, &opts, &mut Control::new()).unwrap();
    (preds, truth)
}

#[test]
fn int8_agrees_with_fp32_and_annotation_is_accurate() {
    let (Some(fp32), Some(int8)) = (load(Precision::Fp32), load(Precision::Int8)) else {
        return;
    };
    let (a, truth) = run(&fp32, AnswerMode::Free);
    let (b, _) = run(&int8, AnswerMode::Free);
    let same = a.iter().zip(&b).filter(|(x, y)| x.text == y.text).count();
    eprintln!("int8 vs fp32 free answers: {same}/{} identical", a.len());
    assert!(
        same * 100 >= a.len() * 99,
        "int8 agrees on {same}/{}",
        a.len()
    );
    for mode in [
        AnswerMode::Free,
        AnswerMode::Constrained,
        AnswerMode::Scored,
    ] {
        let (p, _) = run(&fp32, mode);
        let correct = p
            .iter()
            .filter(|x| x.label.as_deref() == Some(truth[x.row].as_str()))
            .count();
        let acc = correct as f64 / p.len() as f64;
        eprintln!("{mode:?} accuracy on the held-out cells: {acc:.3}");
        // Ten cell types: chance is about 0.1 (0.25 for always guessing the largest class).
        assert!(acc >= 0.6, "{mode:?} accuracy {acc}");
    }
}
