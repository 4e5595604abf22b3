//! Agreement with scanpy's `normalize_total` + `log1p` on a random fixture, when an interpreter
//! with scanpy is named by `INSTRUCTCELL_PYTHON`; skipped with a message otherwise.
//! Tolerance: |rust - scanpy| <= 1e-5 (both compute in f32).

mod preprocess_support;

use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
use instructcell::preprocess::{LibrarySize, PreprocessOptions, Preprocessor};
use preprocess_support::*;
use std::process::Command;

const SCRIPT: &str = r#"
import sys, numpy as np, scipy.sparse as sp, anndata as ad, scanpy as sc, pandas as pd
d, library = sys.argv[1], sys.argv[2]
indptr = np.fromfile(d + "/indptr", dtype="<u8").astype(np.int64)
indices = np.fromfile(d + "/indices", dtype="<u4").astype(np.int32)
data = np.fromfile(d + "/data", dtype="<f4")
genes = open(d + "/genes").read().split()
vocab = open(d + "/vocab").read().split()
x = sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, len(genes)))
import warnings; warnings.filterwarnings("ignore", message="Variable names are not unique")
a = ad.AnnData(X=x, var=pd.DataFrame(index=genes))
if library == "all":
    sc.pp.normalize_total(a, target_sum=1e4)
col = {g: i for i, g in enumerate(genes)}  # the last column of a duplicated name wins
sel = sp.csr_matrix((np.ones(sum(g in col for g in vocab), dtype=np.float32),
                     ([col[g] for g in vocab if g in col], [j for j, g in enumerate(vocab) if g in col])),
                    shape=(len(genes), len(vocab)))
b = ad.AnnData(X=(a.X @ sel).tocsr(), var=pd.DataFrame(index=vocab))
if library == "aligned":
    sc.pp.normalize_total(b, target_sum=1e4)
sc.pp.log1p(b)
b.X.toarray().astype("<f4").tofile(d + "/out")
"#;

fn write<T: Copy, const N: usize>(path: &std::path::Path, v: &[T], le: impl Fn(T) -> [u8; N]) {
    std::fs::write(path, v.iter().flat_map(|&x| le(x)).collect::<Vec<u8>>()).unwrap();
}

#[test]
fn matches_scanpy() {
    let Some(python) = std::env::var_os("INSTRUCTCELL_PYTHON") else {
        eprintln!("skipped: set INSTRUCTCELL_PYTHON to an interpreter with scanpy to run it");
        return;
    };
    let mut rng = Rng(21);
    let vocab = names("G", 300);
    // Shuffled dataset genes: 200 names from the vocabulary (100 of them twice, so the
    // duplicate rule is exercised: both sides keep the last column), 150 others.
    let mut data: Vec<String> = (0..200).map(|i| format!("G{}", i * 3 % 300)).collect();
    data.extend((0..150).map(|i| format!("X{i}")));
    for i in (1..data.len()).rev() {
        data.swap(i, rng.below(i + 1));
    }
    let al = GeneAlignment::new(
        &data,
        &vocab,
        &AlignOptions::default().with_min_overlap(MinOverlap::Count(1)),
    )
    .unwrap();
    let mut rows = random_rows(&mut rng, 120, data.len(), 80);
    for row in &mut rows {
        if !row.0.iter().any(|&c| al.position(c as usize).is_some()) {
            let c = (0..data.len()).find(|&c| al.position(c).is_some()).unwrap();
            *row = (vec![c as u32], vec![2.0]);
        }
    }
    let b = block(&rows, data.len());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("indptr"), &b.indptr, u64::to_le_bytes);
    write(&d.join("indices"), &b.indices, u32::to_le_bytes);
    write(&d.join("data"), &b.data, f32::to_le_bytes);
    std::fs::write(d.join("genes"), data.join("\n")).unwrap();
    std::fs::write(d.join("vocab"), vocab.join("\n")).unwrap();

    for (library, flag) in [
        (LibrarySize::Aligned, "aligned"),
        (LibrarySize::AllGenes, "all"),
    ] {
        let status = Command::new(&python)
            .args(["-c", SCRIPT])
            .arg(d)
            .arg(flag)
            .status()
            .unwrap();
        assert!(status.success(), "the scanpy script failed");
        let bytes = std::fs::read(d.join("out")).unwrap();
        let want: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let o = PreprocessOptions::default().with_library_size(library);
        let mut p = Preprocessor::new(al.clone(), o).unwrap();
        let batch = p.process(&b, 0, None).unwrap();
        assert_eq!(batch.as_slice().len(), want.len());
        let worst = batch
            .as_slice()
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "{flag}: max |rust - scanpy| = {worst}");
        eprintln!("{flag}: max |rust - scanpy| = {worst:e}");
    }
}
