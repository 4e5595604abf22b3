//! Throughput of the sparse preprocessing core on synthetic raw counts: 30,000-gene cells with
//! 2,000 stored counts, aligned into an 18,961-gene vocabulary, `normalize_total(1e4)` +
//! `log1p`, written as dense `f32` batches. Reported as cells/s and output bytes/s.
//!
//! ```text
//! cargo bench --bench preprocess                      # core and batcher, 1 and 2 threads
//! target/venv-data/bin/python benches/compare_scanpy.py   # side by side with scanpy
//! ```
//! `core` runs the preprocessor on CSR blocks already in memory; `batcher_sprs` streams the same
//! cells from an `sprs` matrix through the batcher (block reads included).

#[path = "synthetic/mod.rs"]
mod synthetic;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::memory::SparseSource;
use instructcell::preprocess::{Batcher, PreprocessOptions, Preprocessor};
use instructcell::CsrRows;
use std::hint::black_box;
use synthetic::*;

const CELLS: usize = 4_096;
const BATCH: usize = 64;

fn split(all: &CsrRows, batch: usize) -> Vec<CsrRows> {
    (0..all.n_rows())
        .step_by(batch)
        .map(|start| {
            let mut b = CsrRows::new(all.n_cols);
            for r in start..(start + batch).min(all.n_rows()) {
                let (c, v) = all.row(r);
                b.push_row(c, v).unwrap();
            }
            b
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (vocab, genes) = gene_names(1);
    let alignment = GeneAlignment::new(&genes, &vocab, &AlignOptions::default()).unwrap();
    let all = cells(1, CELLS);
    let blocks = split(&all, BATCH);
    let throughput = Throughput::ElementsAndBytes {
        elements: CELLS as u64,
        bytes: (CELLS * N_VOCAB * 4) as u64,
    };

    let mut g = c.benchmark_group("preprocess");
    g.throughput(throughput);
    g.sample_size(20);
    for threads in [1, 2] {
        let options = PreprocessOptions::default()
            .with_batch_size(BATCH)
            .with_threads(Some(threads));

        // The core alone, on CSR blocks already in memory.
        let mut pre = Preprocessor::new(alignment.clone(), options.clone()).unwrap();
        g.bench_function(BenchmarkId::new("core", format!("{threads}t")), |b| {
            b.iter(|| {
                for (i, block) in blocks.iter().enumerate() {
                    let batch = pre.process(block, i * BATCH, None).unwrap();
                    black_box(batch.as_slice());
                }
            })
        });

        // The whole streaming path from an sprs CSR matrix: block reads (overlapped with the
        // core when there are threads to spare) + core.
        let matrix = sprs::CsMatI::<f32, u32, u64>::new(
            (CELLS, N_GENES),
            all.indptr.clone(),
            all.indices.clone(),
            all.data.clone(),
        );
        g.bench_function(
            BenchmarkId::new("batcher_sprs", format!("{threads}t")),
            |b| {
                b.iter(|| {
                    let source = SparseSource::new(matrix.view(), genes.clone()).unwrap();
                    let mut batcher =
                        Batcher::new(source, alignment.clone(), options.clone()).unwrap();
                    batcher
                        .for_each_batch(|batch| {
                            black_box(batch.as_slice());
                            Ok(())
                        })
                        .unwrap();
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
