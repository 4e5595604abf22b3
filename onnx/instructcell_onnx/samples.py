"""Deterministic prompt/cell pairs used by verification.

Prompts follow the package's prompt contract (``User:\\n{text}\\n\\nAssistant:\\n`` around an
instruction in which ``{input}`` became ``<CELL><CELL0></CELL>``); cells are sparse
overdispersed counts. The wording here is made up for testing, not taken from the model's
training templates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import ModelConfig

PROMPT_WRAPPER = "User:\n{prompt}\n\nAssistant:\n"
CHOICES_OPEN, CHOICES_SEPARATOR, CHOICES_CLOSE = "(", ", ", ")"

_INSTRUCTIONS = [
    "Which cell type is {input}? It comes from {species} {tissue}. Choose from {choices}.",
    "Annotate {input} sequenced with {method}. Possible answers: {choices}",
    "Is {input} sensitive or resistant to {drug}? {choices}",
    "Describe the {species} cell {input} in one sentence.",
    "{input} was profiled by {method}; name its type.",
    "Generate a {species} {celltype} from {tissue}, please.",
]
_SPECIES = ["human", "mouse"]
_TISSUES = ["pancreas", "liver", "skin", "blood", "lung"]
_METHODS = ["10x Genomics", "Smart-seq2", "Drop-seq"]
_DRUGS = ["cisplatin", "erlotinib", "a BET inhibitor"]
_LABELS = ["Alpha", "Beta", "Delta", "Ductal", "T cell", "B cell", "Macrophage", "Sensitive", "Resistant"]


@dataclass
class Pair:
    """One verification input: prompt text (already wrapped) and raw counts for its cell."""

    prompt: str
    counts: np.ndarray


def choices_text(labels: list[str]) -> str:
    """Label list in the format the model was trained with: ``(a, b, c)``."""
    return CHOICES_OPEN + CHOICES_SEPARATOR.join(labels) + CHOICES_CLOSE


def make_pairs(cfg: ModelConfig, n: int, seed: int = 0) -> list[Pair]:
    """``n`` prompt/cell pairs, each prompt holding exactly one cell placeholder."""
    rng = np.random.default_rng(seed)
    sp = cfg.special.texts
    cell = f"{sp['start_tag']}{sp['placeholder']}{sp['end_tag']}"
    pairs = []
    for i in range(n):
        template = _INSTRUCTIONS[i % len(_INSTRUCTIONS)]
        if "{input}" not in template:
            template = "{input} " + template
        labels = list(rng.choice(_LABELS, size=int(rng.integers(2, 5)), replace=False))
        text = template.format(
            input=cell,
            species=rng.choice(_SPECIES),
            tissue=rng.choice(_TISSUES),
            method=rng.choice(_METHODS),
            drug=rng.choice(_DRUGS),
            choices=choices_text(labels),
            celltype=rng.choice(_LABELS),
        )
        pairs.append(Pair(PROMPT_WRAPPER.format(prompt=text), random_counts(cfg.cell_encoder.count_dim, rng)))
    return pairs


def random_counts(n_genes: int, rng: np.random.Generator) -> np.ndarray:
    """Sparse negative-binomial-like counts with a random depth; never all zero."""
    depth = rng.uniform(500, 5000)
    weights = rng.gamma(0.3, 1.0, size=n_genes)
    rates = depth * weights / weights.sum()
    counts = rng.poisson(rng.gamma(2.0, rates / 2.0 + 1e-12)).astype(np.float32)
    if counts.sum() == 0:
        counts[rng.integers(n_genes)] = 1.0
    return counts
