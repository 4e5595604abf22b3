//! Measures the sparse preprocessing core on synthetic raw counts (see `benches/synthetic`),
//! and writes the same data for `benches/compare_scanpy.py`.
//!
//! ```text
//! # stream N cells from a source holding only 1,024 distinct cells (memory independent of N)
//! cargo run --release --example preprocess_throughput -- stream --cells 1000000 --threads 2
//! # write N cells + their preprocessed first rows to DIR, time the core on them
//! cargo run --release --example preprocess_throughput -- write DIR --cells 4000 --threads 2
//! ```
//! Each run prints one JSON line.

#[path = "../benches/synthetic/mod.rs"]
mod synthetic;

use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::memory::SparseSource;
use instructcell::preprocess::{Batcher, PreprocessOptions};
use instructcell::{CsrRows, Result, RowSource};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use synthetic::*;

struct Args {
    mode: String,
    dir: Option<PathBuf>,
    cells: usize,
    threads: usize,
    batch: usize,
    repeat: usize,
    seed: u64,
}

fn parse() -> Args {
    let mut a = Args {
        mode: String::new(),
        dir: None,
        cells: 100_000,
        threads: 2,
        batch: 64,
        repeat: 5,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    a.mode = it.next().unwrap_or_else(|| "stream".into());
    while let Some(arg) = it.next() {
        let mut value = || it.next().expect("missing value");
        match arg.as_str() {
            "--cells" => a.cells = value().parse().unwrap(),
            "--threads" => a.threads = value().parse().unwrap(),
            "--batch" => a.batch = value().parse().unwrap(),
            "--repeat" => a.repeat = value().parse().unwrap(),
            "--seed" => a.seed = value().parse().unwrap(),
            other if a.dir.is_none() && !other.starts_with("--") => a.dir = Some(other.into()),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Peak resident memory of this process, from the kernel's accounting.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used so far, in seconds. On a shared machine,
/// cells per CPU-second shows what the code does with the cores it actually gets.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    // Clock ticks are 1/100 s on Linux.
    f.iter().sum::<f64>() / 100.0
}

/// Streams every row of `source`, returning (wall seconds, CPU seconds, first `keep` cells).
fn run(
    source: impl RowSource + Send,
    alignment: &GeneAlignment,
    options: &PreprocessOptions,
    keep: usize,
) -> Result<(f64, f64, Vec<f32>)> {
    let mut kept = Vec::new();
    let mut batcher = Batcher::new(source, alignment.clone(), options.clone())?;
    let cpu = cpu_seconds();
    let t = Instant::now();
    batcher.for_each_batch_prefetch(|batch| {
        let want = keep.saturating_sub(kept.len() / batch.n_genes());
        if want > 0 {
            let n = want.min(batch.n_cells()) * batch.n_genes();
            kept.extend_from_slice(&batch.as_slice()[..n]);
        }
        std::hint::black_box(batch.as_slice());
        Ok(())
    })?;
    Ok((t.elapsed().as_secs_f64(), cpu_seconds() - cpu, kept))
}

/// Writes plain little-endian numbers (read back with `numpy.fromfile`).
fn write_raw<T: Copy, const N: usize>(path: &Path, values: &[T], le: impl Fn(T) -> [u8; N]) {
    let bytes: Vec<u8> = values.iter().flat_map(|&v| le(v)).collect();
    std::fs::write(path, bytes).unwrap();
}

fn main() -> Result<()> {
    let a = parse();
    let (vocab, genes) = gene_names(a.seed);
    let alignment = GeneAlignment::new(&genes, &vocab, &AlignOptions::default())?;
    let options = PreprocessOptions::default()
        .with_batch_size(a.batch)
        .with_threads(Some(a.threads));
    match a.mode.as_str() {
        "stream" => {
            let pool = cells(a.seed, 1024.min(a.cells));
            let source = CyclingSource::new(pool, a.cells, genes);
            let (secs, cpu, _) = run(source, &alignment, &options, 0)?;
            println!(
                "{{\"mode\":\"stream\",\"cells\":{},\"threads\":{},\"batch\":{},\"seconds\":{secs:.4},\"cells_per_s\":{:.0},\"cpu_seconds\":{cpu:.2},\"cells_per_cpu_s\":{:.0},\"peak_rss_kib\":{}}}",
                a.cells,
                a.threads,
                a.batch,
                a.cells as f64 / secs,
                a.cells as f64 / cpu.max(0.01),
                peak_rss_kib()
            );
        }
        "write" => {
            let dir = a.dir.expect("write needs a directory");
            std::fs::create_dir_all(&dir).unwrap();
            let all: CsrRows = cells(a.seed, a.cells);
            write_raw(&dir.join("indptr.u64"), &all.indptr, u64::to_le_bytes);
            write_raw(&dir.join("indices.u32"), &all.indices, u32::to_le_bytes);
            write_raw(&dir.join("data.f32"), &all.data, f32::to_le_bytes);
            let mut f = std::fs::File::create(dir.join("genes.txt")).unwrap();
            writeln!(f, "{}", genes.join("\n")).unwrap();
            let mut f = std::fs::File::create(dir.join("vocab.txt")).unwrap();
            writeln!(f, "{}", vocab.join("\n")).unwrap();

            let matrix = sprs::CsMatI::<f32, u32, u64>::new(
                (a.cells, N_GENES),
                all.indptr.clone(),
                all.indices.clone(),
                all.data.clone(),
            );
            let keep = 50.min(a.cells);
            let mut best = f64::INFINITY;
            let mut first = Vec::new();
            for _ in 0..a.repeat.max(1) {
                let source = SparseSource::new(matrix.view(), genes.clone())?;
                let (secs, _, kept) = run(source, &alignment, &options, keep)?;
                best = best.min(secs);
                first = kept;
            }
            write_raw(&dir.join("rust_first.f32"), &first, f32::to_le_bytes);
            println!(
                "{{\"mode\":\"write\",\"cells\":{},\"threads\":{},\"batch\":{},\"seconds\":{best:.4},\"cells_per_s\":{:.0},\"kept\":{keep},\"n_vocab\":{}}}",
                a.cells,
                a.threads,
                a.batch,
                a.cells as f64 / best,
                N_VOCAB
            );
        }
        other => panic!("unknown mode {other}: use stream or write"),
    }
    Ok(())
}
