"""The gene vocabulary: one symbol per model input position."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import ExportError

#: Files a checkpoint directory may carry its gene list in, in order of preference.
CHECKPOINT_GENE_FILES = ("genes.json", "genes.txt", "gene_vocab.txt", "gene_vocab.json", "gene_vocab.npy")


def read_gene_vocab(path: Path) -> list[str]:
    """Read a gene list from ``.txt`` (one per line), ``.json`` (a list) or ``.npy`` (strings)."""
    if not path.is_file():
        raise ExportError(f"gene vocabulary file not found: {path}")
    try:
        if path.suffix == ".json":
            genes = json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".npy":
            genes = np.load(path, allow_pickle=False).tolist()
        else:
            genes = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            while genes and genes[-1] == "":
                genes.pop()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ExportError(f"cannot read gene vocabulary {path}: {exc}") from exc
    if not isinstance(genes, list) or not all(isinstance(g, str) for g in genes):
        raise ExportError(f"gene vocabulary {path} must be a list of strings")
    validate_genes(genes, str(path))
    return genes


def validate_genes(genes: list[str], where: str) -> None:
    """Reject empty lists, blank symbols, symbols with line breaks and duplicates."""
    if not genes:
        raise ExportError(f"gene vocabulary {where} is empty")
    bad = [i for i, g in enumerate(genes) if not g.strip() or "\n" in g or "\r" in g]
    if bad:
        raise ExportError(f"gene vocabulary {where}: blank or multi-line symbol at position(s) {bad[:10]}")
    seen: set[str] = set()
    dups = [g for g in genes if g in seen or seen.add(g)]
    if dups:
        raise ExportError(f"gene vocabulary {where}: duplicate symbols {sorted(set(dups))[:10]}")


def checkpoint_gene_vocab(directory: Path) -> list[str] | None:
    """The gene list stored next to a checkpoint, if any."""
    for name in CHECKPOINT_GENE_FILES:
        if (directory / name).is_file():
            return read_gene_vocab(directory / name)
    return None


def synthetic_genes(n: int) -> list[str]:
    """Placeholder symbols ``GENE00001`` … for random-weight packages."""
    return [f"GENE{i:05d}" for i in range(1, n + 1)]


def check_gene_count(genes: list[str], count_dim: int, where: str) -> None:
    """The list must have exactly one symbol per cell-encoder input."""
    if len(genes) != count_dim:
        raise ExportError(
            f"gene vocabulary {where} has {len(genes)} symbols but the model's cell encoder takes {count_dim} genes"
        )


def write_gene_list(genes: list[str], path: Path) -> None:
    """Write one symbol per line (UTF-8, ``\\n`` line ends)."""
    path.write_text("".join(g + "\n" for g in genes), encoding="utf-8")
