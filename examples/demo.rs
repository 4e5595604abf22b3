//! The main job on the bundled model and data: read real held-out PBMCs from an AnnData store,
//! align their genes to the model, preprocess them with the sparse core, and ask the model to
//! annotate them, predict a drug response, generate a cell, and follow a free instruction.
//!
//! Run: `cargo run --release --example demo [-- PACKAGE_DIR [STORE]]`
//!
//! Until a trained package is bundled, the default package is `tests/data/tiny-random`: the real
//! architecture with seeded **random weights**. Its answers are meaningless text; the demo then
//! shows that the whole pipeline runs, not what a trained model says.

use instructcell::generation::GenerationOptions;
use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
use instructcell::io::{AnnDataStore, ReadOptions};
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::preprocess::{Batcher, PreprocessOptions};
use instructcell::prompt::{Metadata, Template};
use std::path::PathBuf;
use std::time::Instant;

const CELLS: usize = 16;

fn main() -> instructcell::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let package = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/data/tiny-random"));
    let store_path = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("examples/data/pbmc68k_heldout.zarr"));

    let model = Model::load(&package, &ModelOptions::default())?;
    let manifest = model.package().manifest();
    let random = model.package().root().ends_with("tiny-random");
    println!(
        "model: {} ({} variant, {} genes, d_model {}), ONNX Runtime providers: {}",
        package.display(),
        manifest.variant,
        model.dims().num_genes,
        model.dims().d_model,
        model.providers().active.join(", ")
    );
    if random {
        println!("NOTE: this package has RANDOM WEIGHTS (no trained model is bundled yet):");
        println!(
            "      the answers below are meaningless; the run shows the full pipeline working."
        );
    }

    // Data: an AnnData store written by Python anndata.
    let store = AnnDataStore::open(&store_path)?;
    let labels: Vec<String> = store
        .obs_column("bulk_labels")?
        .to_strings()
        .into_iter()
        .map(|s| s.unwrap_or_default())
        .collect();
    let obs_names = store.obs_names()?;
    println!(
        "data: {} — {} cells × {} genes",
        store_path.display(),
        store.n_obs()?,
        store.n_vars()?
    );

    // Gene alignment, once per dataset.
    let var_names = store.var_names()?;
    let align_opts = AlignOptions::default().with_min_overlap(MinOverlap::Fraction(0.5));
    let alignment = GeneAlignment::new(&var_names, model.genes(), &align_opts)?;
    let rep = alignment.report();
    println!(
        "genes: {} of the model's {} matched ({} missing, {} dataset genes unused)",
        rep.matched,
        model.genes().len(),
        rep.missing,
        rep.extra
    );

    // Preprocessing with the model's own constants.
    let pre = &manifest.preprocess;
    let popts = PreprocessOptions::default()
        .with_normalize_total(pre.normalize_total)
        .with_target_sum(pre.target_sum)
        .with_log1p(pre.log1p)
        .with_batch_size(CELLS);
    let reader = store.matrix(&ReadOptions::default())?;
    let mut batcher = Batcher::new(reader, alignment, popts)?.with_rows(0..CELLS)?;
    let mut expr: Vec<Vec<f32>> = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    batcher.for_each_batch(|b| {
        for i in 0..b.n_cells() {
            expr.push(b.cell(i).to_vec());
            rows.push(b.rows()[i]);
        }
        Ok(())
    })?;

    let mut choices: Vec<String> = labels.clone();
    choices.sort();
    choices.dedup();
    let fmt = model.formatter();
    let greedy = GenerationOptions::default().with_max_new_tokens(24);
    let meta = Metadata::new()
        .with("species", "human")
        .with("tissue", "peripheral blood")
        .with("sequencing_method", "10x Genomics")
        .with("drug", "a BET inhibitor");

    // 1. Cell type annotation.
    let annotate = Template::parse(
        "Here is a {species} cell from {tissue}, profiled with {sequencing_method}: {input}. \
         Which of these cell types is it? {choices}",
    )?;
    let texts: Vec<String> = expr
        .iter()
        .map(|_| fmt.format(&annotate, &meta, Some(&choices), true))
        .collect::<instructcell::Result<_>>()?;
    let prompts: Vec<Prompt<'_>> = texts
        .iter()
        .zip(&expr)
        .zip(&rows)
        .map(|((t, e), &r)| Prompt {
            text: t,
            expression: Some(e),
            id: r as u64,
        })
        .collect();
    let t0 = Instant::now();
    let answers = model.generate(&prompts, &greedy, &CellOptions::default(), None)?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "\n[cell type annotation] {} cells in {:.3} s ({:.1} cells/s)",
        answers.len(),
        secs,
        answers.len() as f64 / secs
    );
    for (a, &r) in answers.iter().zip(&rows).take(6) {
        println!(
            "  {:<18} true: {:<30} answer: {:?}",
            obs_names[r], labels[r], a.text
        );
    }

    // 2. Drug sensitivity (the bundled data has no drug response; labels are SYNTHETIC).
    let drug = Template::parse(
        "Would this {species} cell {input} respond to {drug}? Answer with one of {choices}.",
    )?;
    let drug_choices = vec!["Sensitive".to_string(), "Resistant".to_string()];
    let text = fmt.format(&drug, &meta, Some(&drug_choices), true)?;
    let a = model.generate(
        &[Prompt {
            text: &text,
            expression: Some(&expr[0]),
            id: rows[0] as u64,
        }],
        &greedy,
        &CellOptions::default(),
        None,
    )?;
    println!("\n[drug sensitivity — SYNTHETIC labels, no real drug-response data is bundled]");
    println!("  {}: {:?}", obs_names[rows[0]], a[0].text);

    // 3. Conditional pseudo-cell generation.
    let gen = Template::parse("Please create one {species} {cell_type} from {tissue}.")?;
    let text = fmt.format(
        &gen,
        &meta.clone().with("cell_type", "CD14+ Monocyte"),
        None,
        false,
    )?;
    let a = model.generate(
        &[Prompt {
            text: &text,
            expression: None,
            id: 0,
        }],
        &greedy,
        &CellOptions::default().with_seed(7),
        None,
    )?;
    println!("\n[cell generation] answer: {:?}", a[0].text);
    match &a[0].cell {
        Some(cell) => println!(
            "  generated a cell with {} expressed genes",
            cell.counts.nnz()
        ),
        None => println!("  the model did not emit the cell-generation signal token"),
    }

    // 4. A free-form instruction without cells.
    let free = "User:\nWhat do monocytes do in the blood?\n\nAssistant:\n";
    let a = model.generate(
        &[Prompt {
            text: free,
            expression: None,
            id: 0,
        }],
        &greedy,
        &CellOptions::default(),
        None,
    )?;
    println!("\n[instruction] answer: {:?}", a[0].text);
    Ok(())
}
