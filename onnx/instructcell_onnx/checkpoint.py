"""Load an InstructCell checkpoint directory in the layout the original ``save_pretrained`` writes.

Weights may be ``model.safetensors``, ``pytorch_model.bin`` or their sharded variants
(``*.index.json`` + shards). Safetensors files store tied tensors once: of the four tied
T5 embeddings only one name is present, so the others are filled from it.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from .config import ModelConfig, load_config
from .errors import ExportError
from .modeling import InstructCellModel

#: Weight files looked for, in order of preference.
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)

#: The four names T5 ties together; ``shared`` is the one kept.
TIED_KEYS = (
    "assistant.base_model.shared.weight",
    "assistant.base_model.encoder.embed_tokens.weight",
    "assistant.base_model.decoder.embed_tokens.weight",
    "assistant.base_model.lm_head.weight",
)

_LIST_LIMIT = 20


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LIST_LIMIT])
    more = f" (and {len(keys) - _LIST_LIMIT} more)" if len(keys) > _LIST_LIMIT else ""
    return shown + more


def _load_one(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ExportError(f"missing weight file: {path}")
    try:
        if path.name.endswith(".safetensors"):
            return load_file(str(path), device="cpu")
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except (
        SafetensorError,
        OSError,
        RuntimeError,
        EOFError,
        ValueError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
    ) as exc:
        raise ExportError(f"cannot read weight file {path}: {exc}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ExportError(f"weight file {path} does not hold a flat name → tensor mapping")
    return state


def _load_sharded(index_path: Path) -> dict[str, torch.Tensor]:
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ExportError(f"cannot read shard index {index_path}: {exc}") from exc
    state: dict[str, torch.Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        state.update(_load_one(index_path.parent / shard))
    listed = set(weight_map)
    missing = sorted(listed - set(state))
    if missing:
        raise ExportError(f"{index_path}: keys listed in the index are absent from the shards: {_names(missing)}")
    return state


def find_weight_file(directory: Path) -> Path:
    """The weight file (or shard index) to load from ``directory``."""
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise ExportError(f"no weights in {directory}: looked for {', '.join(WEIGHT_FILES)}")


def read_state_dict(directory: Path) -> dict[str, torch.Tensor]:
    """All tensors stored in the checkpoint directory, by key."""
    path = find_weight_file(directory)
    return _load_sharded(path) if path.name.endswith(".index.json") else _load_one(path)


def _fill_tied(state: dict[str, torch.Tensor]) -> None:
    present = [k for k in TIED_KEYS if k in state]
    if not present:
        return  # reported as missing keys below
    source = state[present[0]]
    for key in present[1:]:
        if state[key].shape != source.shape or not torch.equal(state[key], source):
            raise ExportError(
                f"tied weights differ: '{key}' is not equal to '{present[0]}' (T5 ties them; "
                "the checkpoint is inconsistent)"
            )
    for key in TIED_KEYS:
        state.setdefault(key, source)


def apply_state_dict(model: InstructCellModel, state: dict[str, torch.Tensor]) -> None:
    """Load ``state`` into ``model`` after checking names and shapes; errors name every bad key."""
    state = dict(state)
    _fill_tied(state)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing keys: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_names(unexpected)}")
    mismatched = [
        f"{k} (checkpoint {tuple(state[k].shape)}, config {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if mismatched:
        problems.append(f"shape mismatches: {_names(mismatched)}")
    not_float = [k for k in expected if k in state and not state[k].is_floating_point()]
    if not_float:
        problems.append(f"non-floating tensors: {_names(not_float)}")
    if problems:
        raise ExportError("checkpoint does not match its config.json: " + "; ".join(problems))
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    model.tie_embeddings()
    model.eval()


def load_checkpoint(directory: Path) -> tuple[ModelConfig, InstructCellModel]:
    """Build the model from ``directory/config.json`` and load its weights."""
    if not directory.is_dir():
        raise ExportError(f"checkpoint directory does not exist: {directory}")
    cfg = load_config(directory / "config.json")
    state = read_state_dict(directory)
    model = InstructCellModel(cfg)
    apply_state_dict(model, state)
    return cfg, model
