"""The cell encoder's input layer, shipped as plain arrays instead of inside the graph.

A cell's profile is mostly zeros (a few hundred to a few thousand of ~20k genes are expressed),
so its first linear layer is a sparse sum: ``x @ W + b = b + sum over expressed genes g of
x[g] * W[g, :]``. A runtime that reads only the rows of expressed genes does a small fraction of
the dense matrix product a graph would do (the dense layer is the largest single weight of the
model). The package therefore stores ``W`` (``[G, W]``, one row per gene) and ``b`` per precision,
and the ``cell_encoder`` graph starts from the layer's output (``input_projection``, before its
activation):

- ``fp32``: ``weight`` float32, ``bias`` float32 ``[1, W]``;
- ``int8``: ``weight`` int8 with a float32 ``scale`` ``[1, W]`` per output column (symmetric:
  ``W[g, j] ≈ weight[g, j] * scale[j]``, ``scale[j] = max_g |W[g, j]| / 127``); activations stay
  float, so this is more accurate than the dynamically quantized graphs;
- ``fp16``: ``weight`` float16; computed in float32 after widening.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .manifest import file_entry

DTYPES = {"fp32": "float32", "int8": "int8", "fp16": "float16"}


def input_layer(model: nn.Module) -> nn.Linear:
    """The cell encoder's first linear layer (genes → key/value tokens)."""
    return model.assistant.feature_encoder.cell_encoder[0].linear


def quantize_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column of ``[G, W]``: ``(q, scale)`` with ``weight ≈ q * scale``."""
    peak = np.abs(weight).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    return q, scale


def _array_entry(root: Path, relative: str, array: np.ndarray) -> dict[str, Any]:
    np.save(root / relative, array)
    return {**file_entry(root, relative), "dtype": str(array.dtype), "shape": list(array.shape)}


def write_cell_input(root: Path, model: nn.Module, precision: str) -> dict[str, Any]:
    """Write ``<precision>/cell_input_*.npy`` and return the manifest entry."""
    layer = input_layer(model)
    weight = layer.weight.detach().to(torch.float32).numpy().T.copy()  # [G, W]
    bias = layer.bias.detach().to(torch.float32).numpy()[None, :].copy()
    entry: dict[str, Any] = {"precision": precision, "genes": weight.shape[0], "width": weight.shape[1]}
    if precision == "int8":
        q, scale = quantize_columns(weight)
        entry["weight"] = _array_entry(root, f"{precision}/cell_input_weight.npy", q)
        entry["scale"] = _array_entry(root, f"{precision}/cell_input_scale.npy", scale[None, :])
    else:
        entry["weight"] = _array_entry(root, f"{precision}/cell_input_weight.npy", weight.astype(DTYPES[precision]))
        entry["scale"] = None
    entry["bias"] = _array_entry(root, f"{precision}/cell_input_bias.npy", bias)
    return entry


def entry_files(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The file entries of one ``cell_input`` manifest entry."""
    return [entry[k] for k in ("weight", "scale", "bias") if entry.get(k)]


def load_projection(root: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, bias)`` as float32 ``[G, W]`` and ``[W]``, dequantized where stored as int8."""
    weight = np.load(root / entry["weight"]["file"], allow_pickle=False).astype(np.float32)
    if entry.get("scale"):
        weight = weight * np.load(root / entry["scale"]["file"], allow_pickle=False).astype(np.float32)
    bias = np.load(root / entry["bias"]["file"], allow_pickle=False).astype(np.float32)[0]
    return weight, bias
