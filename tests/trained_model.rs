//! The bundled trained package (`onnx/models/pbmc-small`) on the bundled held-out PBMCs: int8
//! graphs give the fp32 greedy answers to every kind of prompt the model was trained on
//! (annotation with and without choices, drug response, generation requests; bare-label and
//! sentence answers), and annotation is well above chance. Skips when the package is not
//! present.

use instructcell::generation::DecodingOptions;
use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::io::{AnnDataStore, ReadOptions};
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::package::Precision;
use instructcell::preprocess::Batcher;
use instructcell::prompt::{Metadata, Template};
use instructcell::tasks::{self, annotate, AnswerMode, Control, LabelPrediction, TaskOptions};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(p: Precision) -> Option<Model> {
    load_with(ModelOptions::default().with_threads(2).with_precision(p))
}

/// The bundled trained package loaded with `opts`; `None` (skip) where it or ONNX Runtime is
/// absent.
fn load_with(opts: ModelOptions) -> Option<Model> {
    let dir = root().join("onnx/models/pbmc-small");
    if !dir.join("manifest.json").exists() {
        eprintln!("skipping: no trained package at {}", dir.display());
        return None;
    }
    match Model::load(&dir, &opts) {
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

/// The held-out store, its true labels and their sorted distinct set.
fn heldout() -> (AnnDataStore, Vec<String>, Vec<String>) {
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
    (store, truth, labels)
}

/// The genes of `store` aligned to `model`.
fn aligned(store: &AnnDataStore, model: &Model) -> GeneAlignment {
    GeneAlignment::new(
        &store.var_names().unwrap(),
        model.genes(),
        &AlignOptions::default(),
    )
    .unwrap()
}

/// Annotations of every cell of `store` (the given options, answered in `mode`).
fn answers(
    store: &AnnDataStore,
    model: &Model,
    opts: TaskOptions,
    mode: AnswerMode,
) -> Vec<LabelPrediction> {
    let alignment = aligned(store, model);
    let opts = opts
        .with_mode(mode)
        .with_generation(DecodingOptions::default().with_max_new_tokens(24));
    let reader = store.matrix(&ReadOptions::default()).unwrap();
    annotate(model, reader, &alignment, &opts, &mut Control::new()).unwrap()
}

/// Chat-style instructions end with a request for a sentence (the model card's templates).
const CHAT: &str = " Answer in a full sentence.";

/// The preprocessed expression of every cell of `store`, in row order.
fn preprocessed(store: &AnnDataStore, model: &Model) -> Vec<Vec<f32>> {
    let alignment = aligned(store, model);
    let reader = store.matrix(&ReadOptions::default()).unwrap();
    let mut batcher = Batcher::new(reader, alignment, model.preprocess_options(64)).unwrap();
    let mut cells = Vec::new();
    batcher
        .for_each_batch(|b| {
            cells.extend((0..b.n_cells()).map(|i| b.cell(i).to_vec()));
            Ok(())
        })
        .unwrap();
    cells
}

/// Three times the largest change of a top-1/top-2 margin between int8 and fp32 over the
/// golden answers of this package (0.16 nats); at least twice what `Model::margin_shift`
/// measures on held-out answers (0.18 when this was written).
const TIE_MARGIN: f32 = 0.5;

/// The package in fp32, in int8, and in int8 with fp32 near-ties under [`TIE_MARGIN`].
fn three_models() -> Option<(Model, Model, Model)> {
    let checked = ModelOptions::default()
        .with_threads(2)
        .with_precision(Precision::Int8)
        .with_fp32_tie_margin(TIE_MARGIN);
    Some((
        load(Precision::Fp32)?,
        load(Precision::Int8)?,
        load_with(checked)?,
    ))
}

#[test]
fn int8_agrees_with_fp32_across_tasks() {
    let Some((fp32, int8, checked)) = three_models() else {
        return;
    };
    let (store, _, labels) = heldout();
    let cells = preprocessed(&store, &fp32);
    let mut meta = Metadata::new();
    meta.insert("species", "human");
    meta.insert("tissue", "peripheral blood");
    meta.insert("drug", "SYN-CTX");
    let format = |template: &str, choices: bool, cell: bool, meta: &Metadata| {
        let t = Template::parse(template).unwrap();
        let choices = choices.then_some(labels.as_slice());
        fp32.formatter().format(&t, meta, choices, cell).unwrap()
    };
    // Every kind of prompt the model was trained on, in both answer styles:
    // (name, template, with choices, chat style).
    let mut sets: Vec<(String, Vec<Prompt<'_>>)> = Vec::new();
    let with_cells = [
        ("annotation", tasks::ANNOTATE_TEMPLATE, true, false),
        (
            "annotation, no choices",
            "What is the cell type of {input}?",
            false,
            false,
        ),
        (
            "annotation, chat",
            "Which cell type does {input} belong to?",
            false,
            true,
        ),
        (
            "drug",
            "Is {input} sensitive or resistant to {drug}?",
            false,
            false,
        ),
        (
            "drug, chat",
            "Predict the response of {input} to {drug}.",
            false,
            true,
        ),
    ];
    let texts: Vec<String> = with_cells
        .iter()
        .map(|&(_, t, choices, chat)| {
            let suffix = if chat { CHAT } else { "" };
            format(&format!("{t}{suffix}"), choices, true, &meta)
        })
        .collect();
    for ((name, ..), text) in with_cells.iter().zip(&texts) {
        let prompts = cells
            .iter()
            .enumerate()
            .map(|(i, c)| Prompt {
                text,
                expression: Some(c),
                id: i as u64,
            })
            .collect();
        sets.push((name.to_string(), prompts));
    }
    // Generation requests carry no cell: the answer names the type and ends with the signal.
    let mut requests = Vec::new();
    for label in &labels {
        let mut m = meta.clone();
        m.insert("cell_type", label.as_str());
        for t in [
            "Generate a {cell_type} cell from {species} {tissue}.",
            "Simulate a {cell_type} cell.",
        ] {
            for chat in ["", CHAT] {
                requests.push(format(&format!("{t}{chat}"), false, false, &m));
            }
        }
    }
    let prompts = requests
        .iter()
        .enumerate()
        .map(|(i, text)| Prompt {
            text,
            expression: None,
            id: i as u64,
        })
        .collect();
    sets.push(("generation requests".to_string(), prompts));

    let gen = DecodingOptions::default().with_max_new_tokens(24);
    let opts = CellOptions::default();
    let (mut same, mut total, mut widest) = (0, 0, 0f32);
    let (mut checked_same, mut redecided) = (0, 0);
    for (name, prompts) in &sets {
        let (mut n, mut m, mut r) = (0, 0, 0);
        for chunk in prompts.chunks(32) {
            let a = fp32.generate(chunk, &gen, &opts, None).unwrap();
            let b = int8.generate(chunk, &gen, &opts, None).unwrap();
            let c = checked.generate(chunk, &gen, &opts, None).unwrap();
            for (x, z) in a.iter().zip(&c) {
                if x.tokens == z.tokens {
                    m += 1;
                } else {
                    eprintln!(
                        "  {name}: fp32 {:?} vs int8 with fp32 ties {:?} (margin {:?})",
                        x.text, z.text, z.min_margin
                    );
                }
                r += usize::from(z.precision == Precision::Fp32);
            }
            for ((p, x), y) in chunk.iter().zip(&a).zip(&b) {
                if x.tokens == y.tokens {
                    n += 1;
                    continue;
                }
                // Where int8 answers otherwise, fp32 must find both answers about equally
                // likely: int8 may only break near-ties, never overturn a clear decision.
                let cands = [x.content_tokens().to_vec(), y.content_tokens().to_vec()];
                let s = fp32.score(std::slice::from_ref(p), &cands).unwrap();
                let gap = s[0][0] - s[0][1];
                eprintln!(
                    "  {name}: fp32 {:?} vs int8 {:?}: fp32 log-likelihood gap {gap:.3}",
                    x.text, y.text
                );
                widest = widest.max(gap);
            }
        }
        eprintln!(
            "{name}: int8 answers equal fp32 on {n}/{}; with fp32 near-ties {m}/{} ({r} \
             re-decided)",
            prompts.len(),
            prompts.len()
        );
        // Bare-label answers are clear decisions: int8 keeps nearly all of them. (Chat answers
        // open with sentences trained in equal measure: most are near-ties by design.)
        if !name.contains("chat") && name != "generation requests" {
            assert!(
                r * 5 <= prompts.len(),
                "{name}: {r}/{} answers needed fp32: the check is not selective",
                prompts.len()
            );
        }
        redecided += r;
        same += n;
        checked_same += m;
        total += prompts.len();
    }
    eprintln!(
        "all: int8 ({:?} weights) equals fp32 on {same}/{total}; widest fp32 gap where they \
         differ {widest:.3}; with near-ties (< {TIE_MARGIN} nats) re-decided in fp32: \
         {checked_same}/{total}, {redecided} re-decided",
        int8.int8_weights()
    );
    // With the near-ties left to fp32, int8 gives the fp32 answer to (at least) 99 % of the
    // prompts while deciding most of them itself.
    assert!(
        checked_same * 100 >= total * 99,
        "int8 with fp32 near-ties agrees on only {checked_same}/{total}"
    );
    // The chat answers open with one of several sentences the model was trained on in equal
    // measure, so their first token is a near-tie that int8 breaks either way on a few percent
    // of cells (909/930 identical when this was written, all differences within 0.14 nats, with
    // the weights this CPU multiplies exactly; signed weights on a CPU without VNNI: 696/930).
    assert!(
        same * 100 >= total * 96,
        "int8 agrees on only {same}/{total}"
    );
    assert!(
        widest < 0.5,
        "int8 overturned an fp32 decision by {widest} nats"
    );
}

#[test]
fn int8_margin_shift_is_measured_and_within_half_the_tie_margin() {
    let (Some(fp32), Some(int8)) = (load(Precision::Fp32), load(Precision::Int8)) else {
        return;
    };
    let (store, _, labels) = heldout();
    let cells = preprocessed(&store, &fp32);
    let mut meta = Metadata::new();
    meta.insert("species", "human");
    meta.insert("tissue", "peripheral blood");
    let texts: Vec<String> = [
        (tasks::ANNOTATE_TEMPLATE, true),
        (
            "Which cell type does {input} belong to? Answer in a full sentence.",
            false,
        ),
    ]
    .iter()
    .map(|&(t, choices)| {
        let choices = choices.then_some(labels.as_slice());
        fp32.formatter()
            .format(&Template::parse(t).unwrap(), &meta, choices, true)
            .unwrap()
    })
    .collect();
    let prompts: Vec<Prompt<'_>> = texts
        .iter()
        .flat_map(|t| {
            cells.iter().take(24).enumerate().map(move |(i, c)| Prompt {
                text: t,
                expression: Some(c),
                id: i as u64,
            })
        })
        .collect();
    // The same graphs move nothing: the measurement itself adds no error.
    let same = fp32.margin_shift(&fp32, &prompts, 24).unwrap();
    assert_eq!(same.max, 0.0, "{same:?}");
    let shift = int8.margin_shift(&fp32, &prompts, 24).unwrap();
    eprintln!(
        "int8 margin shift over {} steps of {} answers: max {:.3}, mean {:.4} nats",
        shift.steps,
        prompts.len(),
        shift.max,
        shift.mean
    );
    assert!(shift.steps >= prompts.len() && shift.max > 0.0, "{shift:?}");
    // The tie margin the other tests use leaves at least a factor of two.
    assert!(shift.tie_margin(2.0) <= TIE_MARGIN, "{shift:?}");
    // Measuring against anything but fp32 is refused.
    assert!(matches!(
        int8.margin_shift(&int8, &prompts, 24),
        Err(instructcell::Error::InvalidArgument(_))
    ));
}

#[test]
fn scored_int8_with_fp32_ties_picks_the_fp32_labels() {
    let Some((fp32, int8, checked)) = three_models() else {
        return;
    };
    let (store, _, labels) = heldout();
    let run = |m: &Model| -> (Vec<Option<String>>, usize) {
        let opts = TaskOptions::default().with_labels(labels.clone());
        let preds = answers(&store, m, opts, AnswerMode::Scored);
        let fp32_decided = preds
            .iter()
            .filter(|p| p.precision == Precision::Fp32)
            .count();
        (preds.into_iter().map(|p| p.label).collect(), fp32_decided)
    };
    let ((a, all), (b, none), (c, redecided)) = (run(&fp32), run(&int8), run(&checked));
    assert_eq!(
        (all, none),
        (a.len(), 0),
        "each label names the graphs that decided it"
    );
    let same = |x: &[Option<String>]| a.iter().zip(x).filter(|(p, q)| p == q).count();
    let (raw, with_ties) = (same(&b), same(&c));
    eprintln!(
        "scored labels equal fp32: int8 {raw}/{n}, int8 with fp32 near-ties {with_ties}/{n} \
         ({redecided} re-scored in fp32)",
        n = a.len()
    );
    assert_eq!(
        with_ties,
        a.len(),
        "a label decided by more than the margin moved"
    );
}

#[test]
fn annotation_is_accurate() {
    let Some(fp32) = load(Precision::Fp32) else {
        return;
    };
    let (store, truth, labels) = heldout();
    for mode in [
        AnswerMode::Free,
        AnswerMode::Constrained,
        AnswerMode::Scored,
    ] {
        let opts = TaskOptions::default().with_labels(labels.clone());
        let p = answers(&store, &fp32, opts, mode);
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
