"""Examples → model inputs: tokenised prompts with cell embeddings spliced in, decoder targets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tokenizers import Tokenizer

from ..modeling import InstructCellModel
from .data import lognorm
from .examples import Example

IGNORE = -100


@dataclass
class Batch:
    """Encoder embeddings and mask, decoder inputs and labels, and generation targets."""

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    decoder_input_ids: torch.Tensor
    labels: torch.Tensor
    gen_rows: torch.Tensor
    gen_positions: torch.Tensor
    gen_counts: torch.Tensor


def thin(counts: np.ndarray, rng: np.random.Generator, low: float = 0.5) -> np.ndarray:
    """Binomial down-sampling of each cell to a random fraction in ``[low, 1]`` (augmentation)."""
    keep = rng.uniform(low, 1.0, size=(counts.shape[0], 1))
    return rng.binomial(counts.astype(np.int64), keep).astype(np.float32)


def splice_rows(
    model: InstructCellModel, ids: list[list[int]], cells: dict[int, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embed each prompt and replace its placeholder (if any) by that row's cell embeddings; right-pad."""
    placeholder = model.cfg.special.placeholder
    rows = []
    for b, row_ids in enumerate(ids):
        emb = model.t5.shared(torch.tensor(row_ids))
        if b in cells:
            p = row_ids.index(placeholder)
            emb = torch.cat([emb[:p], cells[b], emb[p + 1 :]])
        rows.append(emb)
    length = max(r.shape[0] for r in rows)
    out = rows[0].new_zeros(len(rows), length, rows[0].shape[-1])
    mask = torch.zeros(len(rows), length, dtype=torch.long)
    for b, r in enumerate(rows):
        out[b, : r.shape[0]] = r
        mask[b, : r.shape[0]] = 1
    return out, mask


def make_batch(
    model: InstructCellModel,
    tok: Tokenizer,
    examples: list[Example],
    counts: np.ndarray,
    rng: np.random.Generator | None,
) -> Batch:
    """Build a batch; ``rng`` enables count thinning of the input cells (training only)."""
    prompt_ids = [e.ids for e in tok.encode_batch([ex.prompt for ex in examples])]
    with_cell = [b for b, ex in enumerate(examples) if ex.cell is not None]
    cells: dict[int, torch.Tensor] = {}
    if with_cell:
        raw = counts[[examples[b].cell for b in with_cell]]
        if rng is not None:
            raw = thin(raw, rng)
        emb = model.encode_cells(torch.from_numpy(lognorm(raw)))
        cells = {b: emb[i] for i, b in enumerate(with_cell)}
    embeds, mask = splice_rows(model, prompt_ids, cells)

    answers = [e.ids for e in tok.encode_batch([ex.answer for ex in examples])]
    length = max(len(a) for a in answers)
    labels = torch.full((len(examples), length), IGNORE, dtype=torch.long)
    dec = torch.full((len(examples), length), model.cfg.t5.pad_token_id, dtype=torch.long)
    for b, a in enumerate(answers):
        labels[b, : len(a)] = torch.tensor(a)
        dec[b, 0] = model.cfg.decoder_start_token_id
        dec[b, 1 : len(a)] = torch.tensor(a[:-1])

    signal = model.cfg.special.first_signal
    gen = [b for b, ex in enumerate(examples) if ex.target_cell is not None]
    positions = [answers[b].index(signal) + 1 for b in gen]  # decoder input position holding the signal
    gen_counts = torch.from_numpy(counts[[examples[b].target_cell for b in gen]]) if gen else torch.zeros(0)
    return Batch(
        embeds,
        mask,
        dec,
        labels,
        torch.tensor(gen, dtype=torch.long),
        torch.tensor(positions, dtype=torch.long),
        gen_counts,
    )
