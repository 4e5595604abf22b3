"""The PBMC training data: integer counts, the fixed train/test split and SYNTHETIC drug labels.

``instructcell_onnx/data/pbmc68k_counts.npz`` (package data) is written by
``tools/make_pbmc_counts.py`` from scanpy's bundled ``pbmc68k_reduced`` (765 genes in the order
of the repository's ``examples/data/pbmc68k_genes.txt``; split from
``examples/data/pbmc68k_split.tsv``, 178 held-out cells never used in training).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

#: The bundled training data: ``pbmc68k_counts.npz`` in the package's ``data`` directory.
DATA_FILE = resources.files("instructcell_onnx") / "data" / "pbmc68k_counts.npz"

#: The gene program behind the SYNTHETIC drug labels: a cytotoxicity signature.
DRUG_PROGRAM = ["GZMA", "GZMB", "GZMH", "PRF1", "NKG7", "CST7", "GNLY", "CCL5"]


@dataclass
class PbmcData:
    """Counts ``[cells, genes]`` (float32), labels, split and gene symbols."""

    counts: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    genes: list[str]
    cells: np.ndarray

    @property
    def label_set(self) -> list[str]:
        """The distinct cell types, sorted."""
        return sorted(set(self.labels.tolist()))

    def part(self, name: str) -> np.ndarray:
        """Indices of the ``train`` or ``test`` cells."""
        return np.flatnonzero(self.split == name)


def load(path: Path | None = None) -> PbmcData:
    """Read the archive written by ``tools/make_pbmc_counts.py`` (default: the bundled :data:`DATA_FILE`)."""
    if path is None:
        with resources.as_file(DATA_FILE) as bundled:
            return _read(bundled)
    return _read(path)


def _read(path: Path) -> PbmcData:
    with np.load(path, allow_pickle=False) as z:
        return PbmcData(
            counts=z["counts"].astype(np.float32),
            labels=z["labels"].astype(str),
            split=z["split"].astype(str),
            genes=[str(g) for g in z["genes"]],
            cells=z["cells"].astype(str),
        )


def lognorm(counts: np.ndarray) -> np.ndarray:
    """``log1p(counts / total * 1e4)`` per cell, the model's input preprocessing."""
    total = np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    return np.log1p(counts / total * 1e4).astype(np.float32)


def program_score(data: PbmcData, counts: np.ndarray) -> np.ndarray:
    """Mean log-normalised expression of :data:`DRUG_PROGRAM` per cell."""
    cols = [data.genes.index(g) for g in DRUG_PROGRAM]
    return lognorm(counts)[:, cols].mean(axis=1)


def synthetic_drug_labels(data: PbmcData) -> tuple[np.ndarray, float]:
    """SYNTHETIC sensitivity labels: ``sensitive`` when the program score exceeds the training median.

    Returns the labels of every cell and the threshold (computed on training cells only).
    These labels are made up from a gene program to exercise the task; they say nothing
    about any real compound.
    """
    score = program_score(data, data.counts)
    threshold = float(np.median(score[data.part("train")]))
    return np.where(score > threshold, "sensitive", "resistant"), threshold
