//! Encode + decode throughput of the engine on the bundled tiny package (cells/s), greedy, with a
//! forced answer length. Skips (with a message) when ONNX Runtime is not installed.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use instructcell::generation::DecodingOptions;
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use std::path::PathBuf;

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-random");
    let model = match Model::load(&dir, &ModelOptions::default().with_threads(2)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipping engine bench: {e}");
            return;
        }
    };
    let g = model.dims().num_genes;
    let exprs: Vec<Vec<f32>> = (0..16)
        .map(|i| {
            (0..g)
                .map(|j| ((i * 13 + j * 5) % 9) as f32 * 0.3)
                .collect()
        })
        .collect();
    let text = "User:\nWhich cell type is <CELL><CELL0></CELL>? It comes from human blood.\n\nAssistant:\n";
    let mut group = c.benchmark_group("engine_tiny");
    for &batch in &[1usize, 16] {
        for &new in &[5usize, 40] {
            let prompts: Vec<Prompt<'_>> = exprs[..batch]
                .iter()
                .enumerate()
                .map(|(i, e)| Prompt {
                    text,
                    expression: Some(e),
                    id: i as u64,
                })
                .collect();
            let opts = DecodingOptions::default()
                .with_min_new_tokens(new)
                .with_max_new_tokens(new);
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(format!("b{batch}_new{new}"), |b| {
                b.iter(|| {
                    model
                        .generate(&prompts, &opts, &CellOptions::default(), None)
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
