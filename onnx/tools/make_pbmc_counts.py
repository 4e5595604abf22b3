"""Write ``onnx/data/pbmc68k_counts.npz``: the training data of the ``pbmc-small`` model.

Reads scanpy's bundled ``pbmc68k_reduced`` (700 PBMCs) and recovers the integer UMI counts of
its 765 ``.raw`` genes exactly as ``examples/data/make_pbmc.py`` does
(``round(expm1(raw.X) * n_counts / 1e4)``). The split is the project's existing stratified
split, read from ``examples/data/pbmc68k_split.tsv``; the gene order is checked against
``examples/data/pbmc68k_genes.txt`` (the order of the bundled held-out store).

The archive holds ``counts`` (uint16 ``[700, 765]``), ``cells``, ``labels`` (``bulk_labels``),
``split`` (``train``/``test``) and ``genes``, so training needs only NumPy.

Run (needs scanpy; the project's data venv has it):
    target/venv-data/bin/python onnx/tools/make_pbmc_counts.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scanpy as sc

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
OUT = ROOT / "onnx" / "data" / "pbmc68k_counts.npz"


def main() -> None:
    adata = sc.datasets.pbmc68k_reduced()
    norm = adata.raw.X.toarray().astype(np.float64)
    counts = np.expm1(norm) * (adata.obs["n_counts"].to_numpy(np.float64)[:, None] / 1e4)
    err = np.abs(counts - np.round(counts)).max()
    if err > 0.25:
        raise SystemExit(f"counts do not round-trip to integers (max deviation {err})")
    counts = np.round(counts).astype(np.uint16)

    genes = [g.strip() for g in (DATA / "pbmc68k_genes.txt").read_text().splitlines() if g.strip()]
    if list(adata.raw.var_names) != genes:
        raise SystemExit("gene order differs from examples/data/pbmc68k_genes.txt")
    rows = [line.split("\t") for line in (DATA / "pbmc68k_split.tsv").read_text().splitlines()[1:]]
    split = {cell: (label, part) for cell, label, part in rows}
    cells = list(adata.obs_names)
    labels = adata.obs["bulk_labels"].astype(str).to_numpy()
    if set(cells) != set(split) or any(split[c][0] != l for c, l in zip(cells, labels)):
        raise SystemExit("cells or labels differ from examples/data/pbmc68k_split.tsv")
    parts = np.array([split[c][1] for c in cells])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, counts=counts, cells=np.array(cells), labels=labels.astype(str),
                        split=parts, genes=np.array(genes))
    print(f"{OUT}: {counts.shape[0]} cells ({(parts == 'test').sum()} test), {counts.shape[1]} genes, "
          f"{OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
