#!/usr/bin/env python3
"""Side-by-side timing of the scanpy/anndata preprocessing path and the Rust sparse core.

Both run in this one process tree, on the same synthetic data: the Rust example
`preprocess_throughput` writes the cells (30,000 genes, 2,000 stored counts per cell, half of the
genes in an 18,961-gene vocabulary; see benches/synthetic/mod.rs) to a temporary directory and
times its core on them; this script then loads the same files and times, per Python variant,

  align to the vocabulary -> sc.pp.normalize_total(target_sum=1e4) -> sc.pp.log1p -> dense float32

and prints cells/s for each and the ratio. It also checks that the outputs agree.

Python variants:
  reference-style  the vocabulary-ordered matrix is filled column block by column block through a
                   scipy LIL matrix, as the reference pipeline's gene unification does;
  vectorized       the alignment is one sparse product with a 0/1 selection matrix (the fastest
                   plain scipy way we know).

Usage (from the repository root):
  target/venv-data/bin/python benches/compare_scanpy.py [--cells 4000] [--threads 1,2]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rust(cells, threads, batch, out_dir, repeat):
    exe = os.path.join(ROOT, "target", "release", "examples", "preprocess_throughput")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "preprocess_throughput"],
        cwd=ROOT,
        check=True,
    )
    res = subprocess.run(
        [exe, "write", out_dir, "--cells", str(cells), "--threads", str(threads),
         "--batch", str(batch), "--repeat", str(repeat)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def load(d, cells):
    indptr = np.fromfile(os.path.join(d, "indptr.u64"), dtype="<u8").astype(np.int64)
    indices = np.fromfile(os.path.join(d, "indices.u32"), dtype="<u4").astype(np.int32)
    data = np.fromfile(os.path.join(d, "data.f32"), dtype="<f4")
    genes = open(os.path.join(d, "genes.txt")).read().split()
    vocab = open(os.path.join(d, "vocab.txt")).read().split()
    x = sp.csr_matrix((data, indices, indptr), shape=(cells, len(genes)))
    return ad.AnnData(X=x, var=pd.DataFrame(index=genes)), vocab


def align_reference_style(adata, vocab):
    """Vocabulary-ordered copy through a LIL matrix (missing genes zero, extra genes dropped)."""
    col_of = {g: i for i, g in enumerate(adata.var_names)}
    dst = np.array([i for i, g in enumerate(vocab) if g in col_of])
    src = np.array([col_of[vocab[i]] for i in dst])
    lil = sp.lil_matrix((adata.n_obs, len(vocab)), dtype=np.float32)
    lil[:, dst] = adata.X[:, src]
    return ad.AnnData(X=lil.tocsr(), var=pd.DataFrame(index=vocab), obs=adata.obs)


def align_vectorized(adata, vocab):
    """Vocabulary-ordered copy as X @ S with S the 0/1 column selection matrix."""
    col_of = {g: i for i, g in enumerate(adata.var_names)}
    pairs = [(col_of[g], j) for j, g in enumerate(vocab) if g in col_of]
    rows, cols = zip(*pairs)
    s = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), (rows, cols)),
        shape=(adata.n_vars, len(vocab)),
    )
    return ad.AnnData(X=(adata.X @ s).tocsr(), var=pd.DataFrame(index=vocab), obs=adata.obs)


def scanpy_path(adata, vocab, align):
    t = time.perf_counter()
    a = align(adata, vocab)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    dense = a.X.toarray().astype(np.float32, copy=False)
    return time.perf_counter() - t, dense


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cells", type=int, default=4000)
    p.add_argument("--threads", default="1,2", help="comma-separated Rust thread counts")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5, help="Rust passes over the data (best kept)")
    a = p.parse_args()

    threads = [int(t) for t in a.threads.split(",")]
    with tempfile.TemporaryDirectory() as d:
        # The same seed writes the same files on every call.
        runs = {t: rust(a.cells, t, a.batch, d, a.repeat) for t in threads}
        adata, vocab = load(d, a.cells)
        kept = runs[threads[0]]["kept"]
        rust_first = np.fromfile(os.path.join(d, "rust_first.f32"), dtype="<f4").reshape(kept, -1)

    print(f"data: {a.cells} cells x {adata.n_vars} genes, {adata.X.nnz // a.cells} stored "
          f"counts/cell, vocabulary {len(vocab)} genes")
    for t, r in runs.items():
        print(f"rust core, {t} thread(s), batch {a.batch}, best of {a.repeat}: "
              f"{r['cells_per_s']:,.0f} cells/s")
    for name, align in [("reference-style", align_reference_style), ("vectorized", align_vectorized)]:
        secs, dense = scanpy_path(adata, vocab, align)
        diff = float(np.max(np.abs(dense[:kept] - rust_first)))
        rate = a.cells / secs
        ratios = ", ".join(f"{r['cells_per_s'] / rate:,.0f}x with {t} thread(s)" for t, r in runs.items())
        print(f"scanpy path, {name} alignment: {rate:,.0f} cells/s -> rust is {ratios} "
              f"(max |difference| over the first {kept} cells: {diff:.2e})")
        del dense
    return 0


if __name__ == "__main__":
    sys.exit(main())
