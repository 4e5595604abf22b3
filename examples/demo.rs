//! The main job on the bundled model and data: read real held-out PBMCs from an AnnData store,
//! align their genes to the model, preprocess them with the sparse core, and ask the model to
//! annotate them (free, constrained and scored), predict a drug response, generate cells, follow
//! a free instruction, and compare int8 answers (alone, and with fp32 deciding near-ties) with
//! fp32's.
//!
//! Run: `cargo run --release --example demo [-- PACKAGE_DIR [STORE]]`
//!
//! The default package is the trained `onnx/models/pbmc-small` when present; otherwise
//! `tests/data/tiny-random`, the real architecture with seeded **random weights**, whose answers
//! are meaningless (the run then shows the pipeline working, not what a trained model says).

use instructcell::generation::DecodingOptions;
use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
use instructcell::io::{AnnDataStore, ReadOptions};
use instructcell::model::{Answer, CellOptions, Model, ModelOptions, Prompt};
use instructcell::package::Precision;
use instructcell::pipeline::{self, Dataset, InputOptions, LabelRequest};
use instructcell::preprocess::Batcher;
use instructcell::prompt::{Metadata, Template};
use instructcell::tasks::{
    generate_cells, instruct, AnswerMode, CellGenerationOptions, CellRequest, Control, TaskOptions,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> instructcell::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trained = root.join("onnx/models/pbmc-small");
    let package = match args.first() {
        Some(p) => PathBuf::from(p),
        None if trained.join("manifest.json").exists() => trained,
        None => root.join("tests/data/tiny-random"),
    };
    let store_path = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("examples/data/pbmc68k_heldout.zarr"));

    let model = Model::load(&package, &ModelOptions::default())?;
    let manifest = model.package().manifest();
    println!(
        "model: {} ({} variant, {} genes, d_model {}), ONNX Runtime providers: {}",
        package.display(),
        manifest.variant,
        model.dims().num_genes,
        model.dims().d_model,
        model.providers().active.join(", ")
    );
    if model.package().root().ends_with("tiny-random") {
        println!("NOTE: this package has RANDOM WEIGHTS: the answers below are meaningless;");
        println!("      the run shows the full pipeline working on real cells.");
    }

    let store = AnnDataStore::open(&store_path)?;
    let truth: Vec<String> = store
        .obs_column("bulk_labels")?
        .to_strings()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let names = store.obs_names()?;
    println!(
        "data: {} — {} cells × {} genes",
        store_path.display(),
        store.n_obs()?,
        store.n_vars()?
    );
    // The pipeline picks the matrix (counts in X here) and aligns the genes it reads.
    let mut data = Dataset::open(&store_path, &InputOptions::default())?;
    let align = AlignOptions::default().with_min_overlap(MinOverlap::Fraction(0.5));
    let alignment = data.align(&model, &align)?;
    println!("genes: {}", alignment.report());

    let mut labels = truth.clone();
    labels.sort();
    labels.dedup();
    let base = TaskOptions::default()
        .with_labels(labels.clone())
        .with_metadata("species", "human")
        .with_metadata("tissue", "peripheral blood")
        .with_metadata("sequencing_method", "10x Genomics");

    // 1. Cell type annotation, three ways.
    for mode in [
        AnswerMode::Free,
        AnswerMode::Constrained,
        AnswerMode::Scored,
    ] {
        let t = Instant::now();
        let req = LabelRequest::new(base.clone().with_mode(mode)).with_align(align.clone());
        let preds = pipeline::annotate(&model, &mut data, &req, &mut Control::new())?.predictions;
        let secs = t.elapsed().as_secs_f64();
        let correct = preds
            .iter()
            .filter(|p| p.label.as_deref() == Some(truth[p.row].as_str()))
            .count();
        println!(
            "\n[cell type annotation, {mode:?}] {} cells in {secs:.2} s ({:.0} cells/s), accuracy {:.3}",
            preds.len(),
            preds.len() as f64 / secs,
            correct as f64 / preds.len() as f64
        );
        for p in preds.iter().take(5) {
            println!(
                "  {:<18} true: {:<30} predicted: {:<30} confidence {:.2}",
                names[p.row],
                truth[p.row],
                p.label.as_deref().unwrap_or("-"),
                p.confidence
            );
        }
    }

    // 2. Drug sensitivity. No drug-response data is bundled: the trained package learned
    //    SYNTHETIC labels for a made-up compound (sensitive when a cytotoxicity gene program is
    //    above a threshold; see its model card), asked in its own wording. The labels are
    //    recomputed here from the cells to score the answers.
    let trained_drug = synthetic_drug(&model);
    let (drug_name, drug_opts) = match &trained_drug {
        Some(_) => (
            SYNTHETIC_DRUG,
            TaskOptions::default()
                .with_template("Is {input} sensitive or resistant to {drug}?")
                .with_labels(["sensitive", "resistant"]),
        ),
        None => ("a BET inhibitor", TaskOptions::default()),
    };
    let req = LabelRequest::new(drug_opts.with_mode(AnswerMode::Scored).with_batch_size(64))
        .with_align(align.clone());
    let drug = pipeline::drug_response(&model, &mut data, drug_name, &req, &mut Control::new())?
        .predictions;
    let sensitive = drug
        .iter()
        .filter(|p| {
            p.label
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("sensitive"))
        })
        .count();
    println!(
        "\n[drug sensitivity to {drug_name} — SYNTHETIC labels] {sensitive} of {} cells predicted sensitive; e.g. {}: {} ({:.2})",
        drug.len(),
        names[drug[0].row],
        drug[0].label.as_deref().unwrap_or("-"),
        drug[0].confidence
    );
    if let Some(threshold) = trained_drug {
        let program = synthetic_program(&store, &alignment, &model)?;
        let correct = drug
            .iter()
            .filter(|p| {
                let truth = if program[p.row] > threshold {
                    "sensitive"
                } else {
                    "resistant"
                };
                p.label.as_deref() == Some(truth)
            })
            .count();
        println!(
            "  accuracy against the synthetic labels (program score > {threshold}): {:.3}",
            correct as f64 / drug.len() as f64
        );
    }

    // 3. Conditional pseudo-cell generation.
    let requests: Vec<CellRequest> = ["CD14+ Monocyte", "CD19+ B"]
        .iter()
        .map(|t| CellRequest {
            cell_type: t.to_string(),
            metadata: Metadata::new()
                .with("species", "human")
                .with("tissue", "peripheral blood"),
            n_cells: 2,
        })
        .collect();
    let gen = generate_cells(
        &model,
        &requests,
        &CellGenerationOptions::default().with_cells(CellOptions::default().with_seed(7)),
        &mut Control::new(),
    )?;
    println!(
        "\n[cell generation] {} cells generated, {} requests answered without a cell",
        gen.counts.n_rows(),
        gen.refused.len()
    );
    for i in 0..gen.counts.n_rows() {
        let (genes, counts) = gen.counts.row(i);
        println!(
            "  {:<16} {} expressed genes, {} counts",
            gen.cell_type[i],
            genes.len(),
            counts.iter().map(|&c| c as f64).sum::<f64>() as u64
        );
    }

    // 4. A free-form instruction.
    let a = instruct(
        &model,
        "What do monocytes do in the {tissue}?",
        &Metadata::new().with("tissue", "blood"),
        None,
        &DecodingOptions::default().with_max_new_tokens(24),
        &CellOptions::default(),
    )?;
    println!("\n[instruction] {:?}", a.text);

    // 5. int8 speed with fp32 answers: where int8 hesitates, the fp32 graphs decide.
    if model.package().precisions().contains(&Precision::Int8) {
        precision_check(&model, &package, &store, &alignment)?;
    }
    Ok(())
}

/// The tie margin of the int8 comparison (nats): several times the largest change of a
/// margin between int8 and fp32 that `Model::margin_shift` measures on the bundled package.
const TIE_MARGIN: f32 = 0.5;

/// Chat-style annotation of every cell by the fp32 model, the int8 graphs, and the int8 graphs
/// with fp32 near-ties: how many answers equal fp32's, and how long each took.
fn precision_check(
    fp32: &Model,
    package: &Path,
    store: &AnnDataStore,
    alignment: &GeneAlignment,
) -> instructcell::Result<()> {
    let int8_opts = ModelOptions::default().with_precision(Precision::Int8);
    let int8 = Model::load(package, &int8_opts)?;
    let checked = Model::load(package, &int8_opts.with_fp32_tie_margin(TIE_MARGIN))?;
    let cells = preprocessed_cells(store, alignment, fp32)?;
    let meta = Metadata::new()
        .with("species", "human")
        .with("tissue", "peripheral blood");
    println!(
        "\n[int8 against fp32: {} cells; answers equal to fp32's, and time]",
        cells.len()
    );
    for (style, template) in [
        ("bare label", "What is the cell type of {input}?"),
        (
            "sentence",
            "Which cell type does {input} belong to? Answer in a full sentence.",
        ),
    ] {
        let text = fp32
            .formatter()
            .format(&Template::parse(template)?, &meta, None, true)?;
        let prompts: Vec<Prompt<'_>> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| Prompt {
                text: &text,
                expression: Some(c),
                id: i as u64,
            })
            .collect();
        let opts = DecodingOptions::default().with_max_new_tokens(24);
        let run = |m: &Model| -> instructcell::Result<(Vec<Answer>, f64)> {
            let t = Instant::now();
            let mut out = Vec::new();
            for chunk in prompts.chunks(32) {
                out.extend(m.generate(chunk, &opts, &CellOptions::default(), None)?);
            }
            Ok((out, t.elapsed().as_secs_f64()))
        };
        let (reference, t32) = run(fp32)?;
        let (plain, t8) = run(&int8)?;
        let (tied, tc) = run(&checked)?;
        let same = |x: &[Answer]| {
            reference
                .iter()
                .zip(x)
                .filter(|(a, b)| a.tokens == b.tokens)
                .count()
        };
        let redecided = tied
            .iter()
            .filter(|a| a.precision == Precision::Fp32)
            .count();
        println!(
            "  {style} answers (e.g. {:?}): fp32 {t32:.2} s | int8 {} equal, {t8:.2} s | int8 with \
             fp32 near-ties (< {TIE_MARGIN} nats) {} equal, {redecided} decided in fp32, {tc:.2} s",
            reference[0].text,
            same(&plain),
            same(&tied)
        );
    }
    Ok(())
}

/// The made-up compound of the bundled trained package's synthetic drug task.
const SYNTHETIC_DRUG: &str = "SYN-CTX";
/// Its gene program (model card: "Synthetic drug labels").
const SYNTHETIC_PROGRAM: [&str; 8] = [
    "GZMA", "GZMB", "GZMH", "PRF1", "NKG7", "CST7", "GNLY", "CCL5",
];

/// The threshold of the synthetic drug labels, when the package was trained on them (its
/// `metrics.json` records it).
fn synthetic_drug(model: &Model) -> Option<f32> {
    let text = std::fs::read_to_string(model.package().root().join("metrics.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v["training"]["drug_threshold"].as_f64()? as f32)
}

/// Each cell's synthetic program score: the mean of its preprocessed (model input) values over
/// the program's genes.
fn synthetic_program(
    store: &AnnDataStore,
    alignment: &GeneAlignment,
    model: &Model,
) -> instructcell::Result<Vec<f32>> {
    let cols: Vec<usize> = SYNTHETIC_PROGRAM
        .iter()
        .filter_map(|g| model.genes().iter().position(|m| m == g))
        .collect();
    let scores = preprocessed_cells(store, alignment, model)?
        .iter()
        .map(|cell| cols.iter().map(|&c| cell[c]).sum::<f32>() / cols.len() as f32)
        .collect();
    Ok(scores)
}

/// Every cell of `store`, preprocessed as `model` reads cells (the sparse core), in row order.
fn preprocessed_cells(
    store: &AnnDataStore,
    alignment: &GeneAlignment,
    model: &Model,
) -> instructcell::Result<Vec<Vec<f32>>> {
    let mut cells = Vec::new();
    let mut batcher = Batcher::new(
        store.matrix(&ReadOptions::default())?,
        alignment.clone(),
        model.preprocess_options(256),
    )?;
    batcher.for_each_batch(|b| {
        cells.extend((0..b.n_cells()).map(|i| b.cell(i).to_vec()));
        Ok(())
    })?;
    Ok(cells)
}
