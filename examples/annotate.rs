//! Cell type annotation of a whole AnnData store, written back as obs columns of a copy.
//!
//! `cargo run --release --example annotate -- [PACKAGE] [STORE] [MODE: free|constrained|scored]
//! [PRECISION]` (defaults: the bundled model and held-out PBMCs, constrained, fp32; PRECISION
//! as `ModelOptions::with_precision_spec` reads it, e.g. `int8+ties=0.5`: int8 graphs with fp32
//! deciding near-ties). The store itself is not modified: the labels go into
//! `target/annotated.zarr`, a copy.

use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::io::{AddColumnsOptions, AnnDataStore, ReadOptions};
use instructcell::model::{Model, ModelOptions};
use instructcell::tasks::{annotate, write_predictions, AnswerMode, Control, TaskOptions};
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

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
    let mode = match a.get(2).map(String::as_str) {
        Some("free") => AnswerMode::Free,
        Some("scored") => AnswerMode::Scored,
        _ => AnswerMode::Constrained,
    };
    let model_opts = match a.get(3) {
        Some(spec) => ModelOptions::default().with_precision_spec(spec)?,
        None => ModelOptions::default(),
    };
    let model = Model::load(&package, &model_opts)?;
    let out = root.join("target/annotated.zarr");
    let _ = std::fs::remove_dir_all(&out);
    copy_dir(&store_path, &out)?;
    let store = AnnDataStore::open(&out)?;
    let alignment =
        GeneAlignment::new(&store.var_names()?, model.genes(), &AlignOptions::default())?;
    println!("genes: {}", alignment.report());
    let labels = [
        "CD14+ Monocyte",
        "CD19+ B",
        "CD34+",
        "CD4+/CD25 T Reg",
        "CD4+/CD45RA+/CD25- Naive T",
        "CD4+/CD45RO+ Memory",
        "CD56+ NK",
        "CD8+ Cytotoxic T",
        "CD8+/CD45RA+ Naive Cytotoxic",
        "Dendritic",
    ];
    let opts = TaskOptions::default()
        .with_labels(labels)
        .with_mode(mode)
        .with_metadata("species", "human")
        .with_metadata("tissue", "peripheral blood");
    let n = store.n_obs()?;
    let mut control = Control::new().with_progress(|done, total| eprint!("\r{done}/{total} cells"));
    let preds = annotate(
        &model,
        store.matrix(&ReadOptions::default())?,
        &alignment,
        &opts,
        &mut control,
    )?;
    eprintln!();
    let by_fp32 = preds
        .iter()
        .filter(|p| p.precision != model.precision())
        .count();
    println!(
        "{} labels decided by the {} graphs, {by_fp32} near-ties by fp32",
        preds.len() - by_fp32,
        model.precision().as_str()
    );
    for p in preds.iter().take(10) {
        println!(
            "{:>4}  {:<30} {:.3}",
            p.row,
            p.label.as_deref().unwrap_or("-"),
            p.confidence
        );
    }
    write_predictions(
        &out,
        &preds,
        n,
        "instructcell_label",
        &AddColumnsOptions::default(),
    )?;
    println!(
        "wrote obs columns instructcell_label(_confidence, _text, _precision) to {}",
        out.display()
    );
    Ok(())
}
