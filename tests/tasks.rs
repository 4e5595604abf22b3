//! The typed tasks on the bundled tiny package (random weights: answers are meaningless, the
//! guarantees are not) and the bundled PBMC store.

mod package_support;

use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::io::{AddColumnsOptions, AnnDataStore, ReadOptions, WriteOptions};
use instructcell::matrix::CsrRows;
use instructcell::model::{CellOptions, Model, ModelOptions};
use instructcell::pipeline::write_predictions;
use instructcell::prompt::Metadata;
use instructcell::tasks::{
    annotate, generate_cells, instruct, predict_drug_response, write_generated, AnswerMode,
    CellGenerationOptions, CellRequest, Control, GeneratedCells, TaskOptions,
};
use instructcell::Error;
use package_support::copy_dir;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load() -> Option<Model> {
    match Model::load(
        root().join("tests/data/tiny-random"),
        &ModelOptions::default().with_threads(2),
    ) {
        Ok(m) => Some(m),
        Err(Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn store_path() -> PathBuf {
    root().join("examples/data/pbmc68k_heldout.zarr")
}

fn setup(model: &Model) -> (AnnDataStore, GeneAlignment, Vec<String>) {
    let store = AnnDataStore::open(store_path()).unwrap();
    let alignment = GeneAlignment::new(
        &store.var_names().unwrap(),
        model.genes(),
        &AlignOptions::default(),
    )
    .unwrap();
    let mut labels: Vec<String> = store
        .obs_column("bulk_labels")
        .unwrap()
        .to_strings()
        .into_iter()
        .flatten()
        .collect();
    labels.sort();
    labels.dedup();
    (store, alignment, labels)
}

#[test]
fn constrained_and_scored_annotation_always_return_a_label_of_the_set() {
    let Some(m) = load() else { return };
    let (store, alignment, labels) = setup(&m);
    let n = store.n_obs().unwrap();
    for mode in [AnswerMode::Constrained, AnswerMode::Scored] {
        let opts = TaskOptions::default()
            .with_labels(labels.clone())
            .with_mode(mode)
            .with_metadata("species", "human")
            .with_metadata("tissue", "peripheral blood")
            .with_metadata("not_in_any_template", "ignored");
        let mut last = (0, 0);
        let mut control = Control::new().with_progress(|d, t| last = (d, t));
        let reader = store.matrix(&ReadOptions::default()).unwrap();
        let preds = annotate(&m, reader, &alignment, &opts, &mut control).unwrap();
        drop(control);
        assert_eq!(last, (n, n));
        assert_eq!(preds.len(), n);
        for (i, p) in preds.iter().enumerate() {
            assert_eq!(p.row, i);
            let label = p.label.as_ref().expect("a label");
            assert!(labels.contains(label), "{label}");
            assert!(p.confidence > 0.0 && p.confidence <= 1.0);
            if mode == AnswerMode::Scored {
                let total: f32 = p.probabilities.iter().sum();
                assert!((total - 1.0).abs() < 1e-4);
                let best = p.probabilities.iter().cloned().fold(0f32, f32::max);
                assert_eq!(p.confidence, best);
            }
        }
    }
}

#[test]
fn free_mode_unseen_labels_and_refusals() {
    let Some(m) = load() else { return };
    let (store, alignment, _) = setup(&m);
    let reader = || store.matrix(&ReadOptions::default()).unwrap();
    // Free generation: a label only when the answer names one.
    let free = TaskOptions::default()
        .with_mode(AnswerMode::Free)
        .with_batch_size(64);
    let preds = annotate(&m, reader(), &alignment, &free, &mut Control::new()).unwrap();
    assert_eq!(preds.len(), store.n_obs().unwrap());
    assert!(
        preds.iter().all(|p| p.label.is_none()),
        "no label set was given"
    );
    // A label set the model never saw still constrains the answer.
    let novel = TaskOptions::default().with_labels(["Zebra cell", "Unicorn progenitor"]);
    let preds = annotate(&m, reader(), &alignment, &novel, &mut Control::new()).unwrap();
    assert!(preds.iter().all(|p| matches!(
        p.label.as_deref(),
        Some("Zebra cell" | "Unicorn progenitor")
    )));
    // Refusals.
    let empty = TaskOptions::default().with_mode(AnswerMode::Constrained);
    assert!(matches!(
        annotate(&m, reader(), &alignment, &empty, &mut Control::new()),
        Err(Error::InvalidArgument(_))
    ));
    let no_input = TaskOptions::default()
        .with_labels(["B"])
        .with_template("Which type? {choices}");
    assert!(matches!(
        annotate(&m, reader(), &alignment, &no_input, &mut Control::new()),
        Err(Error::Prompt(_))
    ));
    let missing_field = TaskOptions::default()
        .with_labels(["B"])
        .with_template("A {species} cell {input}: {choices}");
    assert!(matches!(
        annotate(
            &m,
            reader(),
            &alignment,
            &missing_field,
            &mut Control::new()
        ),
        Err(Error::Prompt(_))
    ));
    let flag = AtomicBool::new(true);
    let mut cancel = Control::new().with_cancel(&flag);
    let opts = TaskOptions::default().with_labels(["B"]);
    assert!(matches!(
        annotate(&m, reader(), &alignment, &opts, &mut cancel),
        Err(Error::Cancelled)
    ));
}

#[test]
fn drug_response_defaults_to_sensitive_or_resistant() {
    let Some(m) = load() else { return };
    let (store, alignment, _) = setup(&m);
    let opts = TaskOptions::default().with_mode(AnswerMode::Scored);
    let reader = store.matrix(&ReadOptions::default()).unwrap();
    let preds = predict_drug_response(
        &m,
        reader,
        &alignment,
        "cisplatin",
        &opts,
        &mut Control::new(),
    )
    .unwrap();
    assert!(preds.iter().all(
        |p| matches!(p.label.as_deref(), Some("Sensitive" | "Resistant"))
            && p.probabilities.len() == 2
    ));
}

#[test]
fn predictions_are_written_back_as_obs_columns() {
    let Some(m) = load() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cells.zarr");
    copy_dir(&store_path(), &path);
    let (store, alignment, labels) = setup(&m);
    let n = store.n_obs().unwrap();
    let opts = TaskOptions::default().with_labels(labels.clone());
    let reader = store.matrix(&ReadOptions::default()).unwrap();
    let preds = annotate(&m, reader, &alignment, &opts, &mut Control::new()).unwrap();
    write_predictions(&path, &preds, n, "predicted", &AddColumnsOptions::default()).unwrap();
    let back = AnnDataStore::open(&path).unwrap();
    let col = back.obs_column("predicted").unwrap().to_strings();
    for (p, c) in preds.iter().zip(&col) {
        assert_eq!(p.label.as_ref(), c.as_ref());
    }
    assert!(back.obs_column("predicted_confidence").is_ok());
    // Which graphs decided each label (an fp32 model: all of them).
    let decided = back.obs_column("predicted_precision").unwrap().to_strings();
    assert_eq!(decided.len(), n);
    for (p, d) in preds.iter().zip(&decided) {
        assert_eq!(p.precision, m.precision());
        assert_eq!(d.as_deref(), Some(m.precision().as_str()));
    }
    // The original columns are untouched.
    assert_eq!(
        back.obs_column("bulk_labels").unwrap().to_strings(),
        store.obs_column("bulk_labels").unwrap().to_strings()
    );
    // Writing the same columns again needs overwrite.
    assert!(
        write_predictions(&path, &preds, n, "predicted", &AddColumnsOptions::default()).is_err()
    );
}

#[test]
fn generation_reports_refusals_and_writes_stores() {
    let Some(m) = load() else { return };
    let req = vec![
        CellRequest {
            cell_type: "CD14+ Monocyte".into(),
            metadata: Metadata::new()
                .with("species", "human")
                .with("tissue", "blood"),
            n_cells: 3,
        },
        CellRequest {
            cell_type: "CD19+ B".into(),
            metadata: Metadata::new(),
            n_cells: 2,
        },
    ];
    let out = generate_cells(
        &m,
        &req,
        &CellGenerationOptions::default(),
        &mut Control::new(),
    )
    .unwrap();
    // Every attempt is accounted for: a cell or a listed refusal.
    assert_eq!(out.counts.n_rows() + out.refused.len(), 5);
    assert_eq!(out.request.len(), out.counts.n_rows());
    assert!(generate_cells(
        &m,
        &[],
        &CellGenerationOptions::default(),
        &mut Control::new()
    )
    .is_err());
    let bad = CellGenerationOptions::default().with_template("Make {input}");
    assert!(generate_cells(&m, &req, &bad, &mut Control::new()).is_err());

    // Writing generated cells (two rows built here) as a new store.
    let g = m.dims().num_genes;
    let mut counts = CsrRows::new(g);
    counts.push_row(&[0, 5], &[3.0, 1.0]).unwrap();
    counts.push_row(&[7], &[2.0]).unwrap();
    let cells = GeneratedCells::new(
        counts,
        vec![0, 1],
        vec!["CD14+ Monocyte".into(), "CD19+ B".into()],
        vec![String::new(), String::new()],
    )
    .unwrap();
    assert!(GeneratedCells::new(CsrRows::new(g), vec![0], Vec::new(), Vec::new()).is_err());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("generated.zarr");
    write_generated(&path, &cells, &m, &WriteOptions::default()).unwrap();
    let back = AnnDataStore::open(&path).unwrap();
    assert_eq!(back.n_obs().unwrap(), 2);
    assert_eq!(back.var_names().unwrap(), m.genes());
    assert!(write_generated(&path, &cells, &m, &WriteOptions::default()).is_err());
}

#[test]
fn instructions_with_and_without_cells() {
    let Some(m) = load() else { return };
    let gen = instructcell::generation::DecodingOptions::default().with_max_new_tokens(6);
    let a = instruct(
        &m,
        "Tell me about {tissue}.",
        &Metadata::new().with("tissue", "blood"),
        None,
        &gen,
        &CellOptions::default(),
    )
    .unwrap();
    assert!(!a.tokens.is_empty());
    let expr = vec![0.3f32; m.dims().num_genes];
    let b = instruct(
        &m,
        "What is {input}?",
        &Metadata::new(),
        Some(&expr),
        &gen,
        &CellOptions::default(),
    )
    .unwrap();
    assert!(!b.tokens.is_empty());
    assert!(matches!(
        instruct(
            &m,
            "No placeholder.",
            &Metadata::new(),
            Some(&expr),
            &gen,
            &CellOptions::default()
        ),
        Err(Error::Prompt(_))
    ));
}
