//! A free instruction, optionally about the first cell of a store.
//!
//! `cargo run --release --example instruct -- "INSTRUCTION with optional {input}" [PACKAGE] [STORE]`

use instructcell::generation::DecodingOptions;
use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::io::{AnnDataStore, ReadOptions};
use instructcell::model::{CellOptions, Model, ModelOptions};
use instructcell::preprocess::Batcher;
use instructcell::prompt::Metadata;
use instructcell::tasks::instruct;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let a: Vec<String> = std::env::args().skip(1).collect();
    let text = a
        .first()
        .cloned()
        .unwrap_or_else(|| "What cell type is this? {input}".to_string());
    let package = a
        .get(1)
        .map(PathBuf::from)
        .unwrap_or(root.join("onnx/models/pbmc-small"));
    let store_path = a
        .get(2)
        .map(PathBuf::from)
        .unwrap_or(root.join("examples/data/pbmc68k_heldout.zarr"));
    let model = Model::load(&package, &ModelOptions::default())?;
    let mut cell: Option<Vec<f32>> = None;
    if text.contains("{input}") {
        let store = AnnDataStore::open(&store_path)?;
        let alignment =
            GeneAlignment::new(&store.var_names()?, model.genes(), &AlignOptions::default())?;
        let popts = model.preprocess_options(1);
        let mut batcher = Batcher::new(store.matrix(&ReadOptions::default())?, alignment, popts)?
            .with_rows(0..1)?;
        batcher.for_each_batch(|b| {
            cell = Some(b.cell(0).to_vec());
            Ok(())
        })?;
    }
    let gen = DecodingOptions::default().with_max_new_tokens(48);
    let answer = instruct(
        &model,
        &text,
        &Metadata::new(),
        cell.as_deref(),
        &gen,
        &CellOptions::default(),
    )?;
    println!("{}", answer.text);
    if let Some(c) = answer.cell {
        println!(
            "(the model generated a cell with {} expressed genes)",
            c.counts.nnz()
        );
    }
    Ok(())
}
