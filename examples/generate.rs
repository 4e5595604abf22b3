//! Conditional pseudo-cell generation, written as a new AnnData store.
//!
//! `cargo run --release --example generate -- [PACKAGE] [CELL_TYPE] [N] [OUT]`
//! (defaults: the bundled model, "CD14+ Monocyte", 20 cells, `target/generated.zarr`).

use instructcell::io::WriteOptions;
use instructcell::model::{CellOptions, Model, ModelOptions};
use instructcell::prompt::Metadata;
use instructcell::tasks::{
    generate_cells, write_generated, CellGenerationOptions, CellRequest, Control,
};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let a: Vec<String> = std::env::args().skip(1).collect();
    let package = a
        .first()
        .map(PathBuf::from)
        .unwrap_or(root.join("onnx/models/pbmc-small"));
    let cell_type = a
        .get(1)
        .cloned()
        .unwrap_or_else(|| "CD14+ Monocyte".to_string());
    let n: usize = a.get(2).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let out = a
        .get(3)
        .map(PathBuf::from)
        .unwrap_or(root.join("target/generated.zarr"));
    let model = Model::load(&package, &ModelOptions::default())?;
    let request = CellRequest {
        cell_type,
        metadata: Metadata::new()
            .with("species", "human")
            .with("tissue", "peripheral blood"),
        n_cells: n,
    };
    let opts = CellGenerationOptions::default().with_cells(CellOptions::default().with_seed(1));
    let cells = generate_cells(&model, &[request], &opts, &mut Control::new())?;
    println!(
        "{} cells generated, {} attempts answered without a cell",
        cells.counts.n_rows(),
        cells.refused.len()
    );
    write_generated(
        &out,
        &cells,
        &model,
        &WriteOptions::default().with_overwrite(true),
    )?;
    println!("written to {}", out.display());
    Ok(())
}
