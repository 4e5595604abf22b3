"""Write the bundled PBMC example stores from scanpy's packaged ``pbmc68k_reduced`` dataset.

The dataset's ``.raw`` holds ``log1p`` of library-size-normalised values (target 1e4 over the
full transcriptome) for 765 genes, and ``obs['n_counts']`` holds each cell's original total.
Undoing both steps recovers the integer UMI counts of those 765 genes, which is what a user's
raw-count store looks like.

Outputs (next to this script):
  pbmc68k_split.tsv        every cell with its split ("train" / "test"), stratified by bulk_labels
  pbmc68k_heldout.zarr     the held-out cells, AnnData zarr format v2
  pbmc68k_heldout.v3.zarr  the same cells, AnnData zarr format v3
  pbmc68k_genes.txt        the 765 gene symbols, one per line, in store order

Run: python examples/data/make_pbmc.py   (needs scanpy and anndata; see tests/data/requirements.txt)
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import scanpy as sc
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
SEED = 20250108
TEST_FRACTION = 0.25


def recover_counts(adata: ad.AnnData) -> sp.csr_matrix:
    """Integer counts of the ``.raw`` genes, from the stored log-normalised values."""
    norm = adata.raw.X.tocsr().astype(np.float64)
    norm.data = np.expm1(norm.data)
    scale = adata.obs["n_counts"].to_numpy(dtype=np.float64) / 1e4
    counts = (sp.diags(scale) @ norm).tocsr()
    # Stored as float32 logs, so values land within ~0.1 of an integer.
    err = np.abs(counts.data - np.round(counts.data)).max()
    if err > 0.25:
        raise SystemExit(f"counts do not round-trip to integers (max deviation {err})")
    counts.data = np.round(counts.data)
    counts.eliminate_zeros()
    return counts.astype(np.float32)


def stratified_split(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of held-out cells: ceil(25%) of every label, seeded."""
    rng = np.random.default_rng(SEED)
    test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        test[idx[: math.ceil(TEST_FRACTION * len(idx))]] = True
    return test


def write_atomic(adata: ad.AnnData, path: Path, zarr_format: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with ad.settings.override(zarr_write_format=zarr_format):
        adata.write_zarr(tmp)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def main() -> None:
    # anndata announces future default changes on every write; the formats here are explicit.
    warnings.filterwarnings("ignore", category=UserWarning)
    full = sc.datasets.pbmc68k_reduced()
    counts = recover_counts(full)
    labels = full.obs["bulk_labels"].astype(str).to_numpy()
    test = stratified_split(labels)

    with open(HERE / "pbmc68k_split.tsv", "w") as fh:
        fh.write("cell\tbulk_labels\tsplit\n")
        for name, label, t in zip(full.obs_names, labels, test):
            fh.write(f"{name}\t{label}\t{'test' if t else 'train'}\n")

    obs = full.obs.loc[test, ["bulk_labels", "louvain", "phase", "n_counts", "n_genes", "percent_mito"]].copy()
    held = ad.AnnData(X=counts[test], obs=obs, var=full.raw.var[[]].copy())
    held.obs["species"] = "human"
    held.obs["tissue"] = "peripheral blood"
    held.obs["sequencing_method"] = "10x Genomics"
    held.uns["source"] = "scanpy.datasets.pbmc68k_reduced, integer counts recovered from .raw"

    (HERE / "pbmc68k_genes.txt").write_text("\n".join(held.var_names) + "\n")
    write_atomic(held, HERE / "pbmc68k_heldout.zarr", 2)
    write_atomic(held, HERE / "pbmc68k_heldout.v3.zarr", 3)
    print(f"{test.sum()} held-out cells of {len(test)}; {held.n_vars} genes; nnz {held.X.nnz}")


if __name__ == "__main__":
    main()
