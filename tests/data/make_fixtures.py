"""Writes the AnnData fixture stores used by the Rust IO tests (tests/io_*.rs).

Every store is written by the real Python `anndata` package (versions pinned in
requirements.txt), so the Rust readers are checked against what users actually have on disk.
Malformed stores start from a valid anndata-written store and then break one thing with
`zarr`, the way a truncated copy or a buggy tool would.

Run from the repository root:

    python tests/data/make_fixtures.py            # rewrites tests/data/fixtures/

The output is deterministic apart from compressor framing; the Rust tests check values, not bytes.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import zarr

warnings.filterwarnings("ignore")

OUT = Path(__file__).resolve().parent / "fixtures"
N_OBS, N_VARS, N_RAW_VARS = 20, 12, 14
ZERO_CELLS = (2, 7)  # cells with no counts at all: readers must keep them as empty rows


def counts(n_obs: int, n_vars: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.8, size=(n_obs, n_vars)).astype(np.float32)
    x[list(ZERO_CELLS), :] = 0
    return x


def base() -> ad.AnnData:
    """The shared dataset: every obs/var column kind anndata writes."""
    x = counts(N_OBS, N_VARS, seed=0)
    cell_type = pd.Categorical(
        ["T", "B", "NK", None] + ["T", "B", "NK", "T"] * 4, categories=["B", "NK", "T"]
    )
    obs = pd.DataFrame(
        {
            "cell_type": cell_type,
            "stage": pd.Categorical(
                (["early", "mid", "late"] * 7)[:N_OBS],
                categories=["early", "mid", "late"],
                ordered=True,
            ),
            "barcode": [f"BC{i:03d}-1" for i in range(N_OBS)],
            "n_counts": x.sum(axis=1).astype(np.float64),
            "n_genes": (x > 0).sum(axis=1).astype(np.int64),
            "f32": np.linspace(-1, 1, N_OBS, dtype=np.float32),
            "u16": np.arange(N_OBS, dtype=np.uint16),
            "is_doublet": np.arange(N_OBS) % 5 == 0,
            "batch_int": pd.array([i % 3 if i != 4 else None for i in range(N_OBS)], dtype="Int64"),
            "qc_pass": pd.array([i % 2 == 0 if i != 5 else None for i in range(N_OBS)], dtype="boolean"),
            "note": pd.array([f"n{i}" if i != 6 else None for i in range(N_OBS)], dtype="string"),
        },
        index=[f"cell{i}" for i in range(N_OBS)],
    )
    var = pd.DataFrame(
        {
            "gene_ids": [f"ENSG{i:05d}" for i in range(N_VARS)],
            "highly_variable": np.arange(N_VARS) % 2 == 0,
            "feature_types": pd.Categorical(["Gene Expression"] * N_VARS),
        },
        index=[f"GENE{i}" for i in range(N_VARS)],
    )
    a = ad.AnnData(sp.csr_matrix(x), obs=obs, var=var)
    a.layers["counts"] = sp.csr_matrix(x.astype(np.int64))
    raw_x = counts(N_OBS, N_RAW_VARS, seed=1).astype(np.float64)
    raw = ad.AnnData(
        sp.csr_matrix(raw_x),
        var=pd.DataFrame(index=[f"RAW{i}" for i in range(N_RAW_VARS)]),
        obs=obs[[]],
    )
    a.raw = raw
    return a


def lean(a: ad.AnnData) -> ad.AnnData:
    """The same matrix with little metadata: keeps the encoding-specific fixtures small."""
    b = ad.AnnData(a.X.copy(), obs=a.obs[["cell_type"]].copy(), var=a.var[["gene_ids"]].copy())
    return b


def write_zarr(a: ad.AnnData, path: Path, version: int, **kw) -> None:
    with ad.settings.override(zarr_write_format=version, allow_write_nullable_strings=True):
        a.write_zarr(path, convert_strings_to_categoricals=False, **kw)


def write_h5ad(a: ad.AnnData, path: Path, **kw) -> None:
    with ad.settings.override(allow_write_nullable_strings=True):
        a.write_h5ad(path, convert_strings_to_categoricals=False, **kw)


def small_chunks(path: Path, version: int, shards: int | None = None) -> None:
    """Rewrites X with several small chunks (and shards) so readers must pick chunks."""
    a = ad.read_zarr(path)
    g = zarr.open_group(path, mode="r+", use_consolidated=False)
    kwargs = {"chunks": (8,)}
    if shards is not None:
        kwargs["shards"] = (shards,)
    with ad.settings.override(zarr_write_format=version):
        ad.io.write_elem(g, "X", a.X, dataset_kwargs=kwargs)
    zarr.consolidate_metadata(path)


def write_10x(a: ad.AnnData, path: Path, gz: bool) -> None:
    import gzip

    import scipy.io
    import scanpy as sc

    path.mkdir()
    opener = (lambda p: gzip.open(str(p) + ".gz", "wb")) if gz else (lambda p: open(p, "wb"))
    with opener(path / "matrix.mtx") as f:
        scipy.io.mmwrite(f, sp.coo_matrix(a.X.T.astype(np.int64)), field="integer")
    genes = "".join(
        f"{gid}\t{sym}" + ("\tGene Expression" if gz else "") + "\n"
        for gid, sym in zip(a.var["gene_ids"], a.var_names)
    )
    with opener(path / ("features.tsv" if gz else "genes.tsv")) as f:
        f.write(genes.encode())
    with opener(path / "barcodes.tsv") as f:
        f.write("".join(f"{b}\n" for b in a.obs["barcode"]).encode())
    back = sc.read_10x_mtx(path, var_names="gene_symbols")
    np.testing.assert_array_equal(back.X.toarray(), a.X.toarray())
    assert list(back.var_names) == list(a.var_names)


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    a = base()

    # Zarr v2 / v3, CSR with int32 indices and float32 data; X split into several chunks.
    write_zarr(a, OUT / "v2_csr.zarr", 2)
    small_chunks(OUT / "v2_csr.zarr", 2)
    write_zarr(a, OUT / "v3_csr.zarr", 3)
    small_chunks(OUT / "v3_csr.zarr", 3)
    # Sharded v3: 8-element inner chunks inside 24-element shards.
    with ad.settings.override(auto_shard_zarr_v3=True):
        write_zarr(a, OUT / "v3_sharded.zarr", 3)
    small_chunks(OUT / "v3_sharded.zarr", 3, shards=24)

    # Index/data dtypes: int64 indices + float64 data; unsigned (minimal) indices + int data.
    b = lean(a)
    b.X = sp.csr_matrix(b.X.astype(np.float64))
    b.X.indices = b.X.indices.astype(np.int64)
    b.X.indptr = b.X.indptr.astype(np.int64)
    write_zarr(b, OUT / "v2_csr_i64_f64.zarr", 2)
    c = lean(a)
    c.X = sp.csr_matrix(c.X.astype(np.int32))
    with ad.settings.override(write_csr_csc_indices_with_min_possible_dtype=True):
        write_zarr(c, OUT / "v3_csr_uint_int.zarr", 3)

    # CSC and dense X.
    d = lean(a)
    d.X = sp.csc_matrix(d.X)
    write_zarr(d, OUT / "v2_csc.zarr", 2)
    write_zarr(d, OUT / "v3_csc.zarr", 3)
    e = lean(a)
    e.X = np.asarray(e.X.todense())
    write_zarr(e, OUT / "v2_dense.zarr", 2, chunks=(6, 5))
    write_zarr(e, OUT / "v3_dense.zarr", 3, chunks=(6, 5))

    # h5ad: gzip, lzf, uncompressed; CSC and dense.
    write_h5ad(a, OUT / "csr_gzip.h5ad", compression="gzip")
    write_h5ad(lean(a), OUT / "csr_lzf.h5ad", compression="lzf")
    write_h5ad(lean(a), OUT / "csr_plain.h5ad")
    write_h5ad(b, OUT / "csr_i64_f64.h5ad")
    write_h5ad(d, OUT / "csc.h5ad", compression="gzip")
    write_h5ad(e, OUT / "dense.h5ad", compression="gzip")

    # Bad values: stores that are well formed but hold values counts cannot have.
    small = lean(a)[:6, :5].copy()
    neg = small.copy()
    neg.X = sp.csr_matrix(np.where(np.eye(6, 5) > 0, -3.0, neg.X.toarray()).astype(np.float32))
    write_zarr(neg, OUT / "bad_negative.zarr", 2)
    nan = small.copy()
    x = nan.X.toarray()
    x[1, 1] = np.nan
    nan.X = sp.csr_matrix(x)
    write_zarr(nan, OUT / "bad_nan.zarr", 3)
    write_h5ad(neg, OUT / "bad_negative.h5ad")

    # Malformed stores: a valid small store, then one thing broken.
    def broken(name: str, version: int, edit) -> None:
        p = OUT / name
        write_zarr(small, p, version)
        g = zarr.open_group(p, mode="r+", use_consolidated=False)
        edit(g)
        if (p / ".zmetadata").exists() or version == 3:
            zarr.consolidate_metadata(p)

    def rewrite(g, key, values):
        old = g[key]
        del g[key]
        g.create_array(key, data=np.asarray(values, dtype=old.dtype), chunks=old.chunks)

    def bad_indptr(g):
        ip = g["X/indptr"][:]
        ip[3], ip[4] = ip[4], ip[3] - 1  # row 3 ends before it starts
        rewrite(g, "X/indptr", ip)

    def bad_index(g):
        idx = g["X/indices"][:]
        idx[-1] = 999  # column 999 of a 5-gene matrix
        rewrite(g, "X/indices", idx)

    def short_data(g):
        rewrite(g, "X/data", g["X/data"][:-2])

    broken("bad_indptr.zarr", 2, bad_indptr)
    broken("bad_index.zarr", 3, bad_index)
    broken("bad_data_len.zarr", 2, short_data)
    broken("bad_shape_attr.zarr", 2, lambda g: g["X"].attrs.update({"shape": [6, 50]}))
    broken("bad_encoding.zarr", 3, lambda g: g["X"].attrs.update({"encoding-type": "coo_matrix"}))
    broken("bad_var_len.zarr", 2, lambda g: rewrite(g, "var/_index", np.array(["A", "B"], dtype=object)))

    def no_x(g):
        del g["X"]

    broken("no_x.zarr", 2, no_x)

    # 10x Genomics Matrix Market directories (genes x cells): CellRanger v3 layout, gzipped,
    # and the older v2 layout (genes.tsv), plain text. scanpy must read back the same matrix.
    write_10x(a, OUT / "tenx_v3", gz=True)
    write_10x(a, OUT / "tenx_v2", gz=False)

    manifest = {
        "anndata": ad.__version__ if hasattr(ad, "__version__") else "",
        "n_obs": N_OBS,
        "n_vars": N_VARS,
        "n_raw_vars": N_RAW_VARS,
        "zero_cells": list(ZERO_CELLS),
        "X": a.X.toarray().tolist(),
        "raw_X": a.raw.X.toarray().tolist(),
    }
    (OUT / "expected.json").write_text(json.dumps(manifest) + "\n")
    print(f"wrote fixtures to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
