"""Turn cells into instruction/answer examples using :mod:`templates` and the package prompt contract."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..samples import PROMPT_WRAPPER, choices_text
from . import templates as T

CELL_TEXT = "<CELL><CELL0></CELL>"
SIGNAL = "<CELL1>"


@dataclass
class Example:
    """One training or evaluation example.

    ``cell`` is the index of the cell spliced at ``{input}`` (``None`` when the prompt has
    none); ``target_cell`` is the cell the generator reconstructs (generation examples only).
    """

    task: str
    prompt: str
    answer: str
    cell: int | None
    target_cell: int | None = None


def _fill(template: str, rng: np.random.Generator, **fields: str) -> str:
    context = {
        "species": str(rng.choice(T.SPECIES)),
        "tissue": str(rng.choice(T.TISSUES)),
        "method": str(rng.choice(T.METHODS)),
        "input": CELL_TEXT,
        **fields,
    }
    return template.format(**context)


def wrap(instruction: str) -> str:
    """The package wrapper around a formatted instruction."""
    return PROMPT_WRAPPER.format(prompt=instruction)


def _chat_suffix(instruction: str, rng: np.random.Generator) -> str:
    return f"{instruction} {rng.choice(T.CHAT_SUFFIXES)}"


def annotation(
    cell: int, label: str, label_set: list[str], rng: np.random.Generator, with_choices: bool, chat: bool
) -> Example:
    """A cell type question; ``with_choices`` lists a shuffled subset of labels holding the answer."""
    if with_choices:
        others = [x for x in label_set if x != label]
        k = int(rng.integers(1, len(others) + 1))
        options = [label] + list(rng.choice(others, size=k, replace=False))
        rng.shuffle(options)
        text = _fill(str(rng.choice(T.ANNOTATE_CHOICES)), rng, choices=choices_text(options))
    else:
        text = _fill(str(rng.choice(T.ANNOTATE)), rng)
    if chat:
        return Example(
            "annotate",
            wrap(_chat_suffix(text, rng)),
            str(rng.choice(T.ANNOTATE_CHAT_ANSWERS)).format(label=label),
            cell,
        )
    return Example("annotate", wrap(text), label, cell)


def generation(target: int, label: str, rng: np.random.Generator, chat: bool) -> Example:
    """A request for a pseudo-cell of type ``label``; the answer ends with the signal token."""
    tissue = str(rng.choice(T.TISSUES))
    text = _fill(str(rng.choice(T.GENERATE)), rng, celltype=label, tissue=tissue)
    if chat:
        answer = str(rng.choice(T.GENERATE_CHAT_ANSWERS)).format(celltype=label, tissue=tissue)
        return Example("generate", wrap(_chat_suffix(text, rng)), answer, None, target)
    return Example(
        "generate", wrap(text), str(rng.choice(T.GENERATE_INSTRUCT_ANSWERS)).format(celltype=label), None, target
    )


def drug(cell: int, label: str, rng: np.random.Generator, chat: bool) -> Example:
    """A sensitivity question about the SYNTHETIC compound."""
    name = str(rng.choice(T.DRUG_NAMES))
    options = list(T.DRUG_LABELS)
    rng.shuffle(options)
    text = _fill(str(rng.choice(T.DRUG)), rng, drug=name, choices=choices_text(options))
    if chat:
        return Example(
            "drug",
            wrap(_chat_suffix(text, rng)),
            str(rng.choice(T.DRUG_CHAT_ANSWERS)).format(label=label, drug=name),
            cell,
        )
    return Example("drug", wrap(text), label, cell)


def tokenizer_corpus(label_set: list[str], rng: np.random.Generator, n: int = 3000) -> list[str]:
    """Filled prompts and answers (cell text removed) for training the tokenizer."""
    texts = []
    for i in range(n):
        label = label_set[i % len(label_set)]
        chat = bool(i % 3 == 0)
        for ex in (
            annotation(0, label, label_set, rng, bool(i % 2), chat),
            generation(0, label, rng, chat),
            drug(0, str(rng.choice(T.DRUG_LABELS)), rng, chat),
        ):
            texts.append(ex.prompt.replace(CELL_TEXT, " "))
            texts.append(ex.answer.replace(SIGNAL, " "))
    return texts
