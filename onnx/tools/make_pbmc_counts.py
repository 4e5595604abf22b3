"""Write ``pbmc68k_counts.npz``: the training data of the ``pbmc-small`` model.

Reads scanpy's bundled ``pbmc68k_reduced`` (700 PBMCs) and recovers the integer UMI counts of
its 765 ``.raw`` genes exactly as ``examples/data/make_pbmc.py`` does
(``round(expm1(raw.X) * n_counts / 1e4)``). The split is the project's existing stratified
split, read from ``--split`` (the repository's ``examples/data/pbmc68k_split.tsv``); the gene
order is checked against ``--genes`` (``examples/data/pbmc68k_genes.txt``, the order of the
bundled held-out store). The package ships the result as
``instructcell_onnx/data/pbmc68k_counts.npz``.

The archive holds ``counts`` (uint16 ``[700, 765]``), ``cells``, ``labels`` (``bulk_labels``),
``split`` (``train``/``test``) and ``genes``, so training needs only NumPy.

Run from the repository root (needs scanpy; the project's data venv has it):
    target/venv-data/bin/python onnx/tools/make_pbmc_counts.py --genes examples/data/pbmc68k_genes.txt \
        --split examples/data/pbmc68k_split.tsv --out onnx/instructcell_onnx/data/pbmc68k_counts.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--genes",
        type=Path,
        required=True,
        help="expected gene order, one symbol per line (examples/data/pbmc68k_genes.txt)",
    )
    p.add_argument(
        "--split",
        type=Path,
        required=True,
        help="cell, label, part table with a header line (examples/data/pbmc68k_split.tsv)",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="archive to write (onnx/instructcell_onnx/data/pbmc68k_counts.npz)"
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    for path in (args.genes, args.split):
        if not path.is_file():
            raise SystemExit(f"no file {path}")
    import scanpy as sc

    adata = sc.datasets.pbmc68k_reduced()
    norm = adata.raw.X.toarray().astype(np.float64)
    counts = np.expm1(norm) * (adata.obs["n_counts"].to_numpy(np.float64)[:, None] / 1e4)
    err = np.abs(counts - np.round(counts)).max()
    if err > 0.25:
        raise SystemExit(f"counts do not round-trip to integers (max deviation {err})")
    counts = np.round(counts).astype(np.uint16)

    genes = [g.strip() for g in args.genes.read_text().splitlines() if g.strip()]
    if list(adata.raw.var_names) != genes:
        raise SystemExit(f"gene order differs from {args.genes}")
    rows = [line.split("\t") for line in args.split.read_text().splitlines()[1:]]
    split = {cell: (label, part) for cell, label, part in rows}
    cells = list(adata.obs_names)
    labels = adata.obs["bulk_labels"].astype(str).to_numpy()
    if set(cells) != set(split) or any(split[c][0] != lab for c, lab in zip(cells, labels, strict=True)):
        raise SystemExit(f"cells or labels differ from {args.split}")
    parts = np.array([split[c][1] for c in cells])
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, counts=counts, cells=np.array(cells), labels=labels.astype(str), split=parts, genes=np.array(genes)
    )
    print(
        f"{out}: {counts.shape[0]} cells ({(parts == 'test').sum()} test), {counts.shape[1]} genes, "
        f"{out.stat().st_size} bytes"
    )


if __name__ == "__main__":
    main()
