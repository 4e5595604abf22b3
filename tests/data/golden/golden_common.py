"""Pieces shared by both golden fixture scripts.

Of the text encoder's output the full hidden states would dominate the fixture files, so each
case keeps three complete rows (the first two positions and the last real one) and the sum of
every row.
"""

from __future__ import annotations

import torch


def encoder_record(model: torch.nn.Module, embeds: torch.Tensor, mask: torch.Tensor) -> dict:
    """``{"encoder_rows": {"positions": [...], "values": [...]}, "encoder_row_sums": [...]}`` of row 0."""
    with torch.no_grad():
        hidden = model.t5.encoder(inputs_embeds=embeds, attention_mask=mask).last_hidden_state[0]
    real = int(mask[0].sum())
    positions = sorted({0, min(1, real - 1), real - 1})
    return {
        "encoder_rows": {"positions": positions,
                         "values": hidden[positions].flatten().to(torch.float32).tolist()},
        "encoder_row_sums": hidden[:real].to(torch.float64).sum(-1).tolist(),
    }


def stop_trim(seq: list[int], stop: set[int]) -> list[int]:
    """Generated tokens without the start token, cut after the first stop token."""
    out = []
    for t in seq[1:]:
        out.append(t)
        if t in stop:
            break
    return out
