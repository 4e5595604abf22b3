"""Sizes of the ``pbmc-small`` model and the checkpoint directory it is saved to.

The checkpoint uses the layout the loader (``checkpoint.py``) accepts from the original
``save_pretrained``: ``config.json`` (``model_type: instructcell``), ``model.safetensors`` with
the tied T5 embedding stored once, ``tokenizer.json`` (``tokenizer_use_fast: true``) and
``genes.txt``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

from ..checkpoint import TIED_KEYS
from ..config import CELL_TOKEN_TEXTS, ModelConfig, parse_config
from ..genes import write_gene_list
from ..modeling import InstructCellModel


def raw_config(n_tokens: int, n_genes: int) -> dict[str, Any]:
    """``config.json`` of the small model; ``n_tokens`` is the tokenizer size without the 4 cell tokens."""
    first_cell = n_tokens
    rows = (n_tokens + 4 + 7) // 8 * 8
    base = {
        "model_type": "t5",
        "vocab_size": rows,
        "d_model": 128,
        "d_kv": 32,
        "d_ff": 512,
        "num_layers": 2,
        "num_decoder_layers": 2,
        "num_heads": 4,
        "dropout_rate": 0.1,
        "decoder_start_token_id": 0,
        "special_tokens_dict": dict(CELL_TOKEN_TEXTS),
        "special_tokens_index_dict": {
            "start_tag": first_cell,
            "end_tag": first_cell + 1,
            "placeholder": first_cell + 2,
            "first_signal_token": first_cell + 3,
        },
        "num_signal_tokens": 1,
        "ignore_index": -100,
    }
    encoder = {
        "is_q_former_encoder": True,
        "count_dim": n_genes,
        "cross_attention_frequency": 1,
        "num_hidden_layers": 2,
        "num_key_value_tokens": 4,
        "num_blocks": 2,
        "num_query_tokens": 4,
        "hidden_dropout_prob": 0.1,
    }
    generator = {
        "use_layer_norm": "both",
        "use_batch_norm": "none",
        "n_latent": 16,
        "condition_input_dim": 64,
        "log_variational": True,
        "n_layers": 2,
        "n_hidden": 256,
        "dropout_rate": 0.1,
        "adaptive_library": True,
    }
    return {
        "model_type": "instructcell",
        "architectures": ["InstructCell"],
        "base_model_config": base,
        "feature_encoder_config": encoder,
        "feature_decoder_config": generator,
        "tokenizer_use_fast": True,
        "normalize_total": True,
        "log_variational": True,
    }


def build_model(raw: dict[str, Any], seed: int) -> tuple[ModelConfig, InstructCellModel]:
    """A freshly initialised model (PyTorch default initialisation under ``seed``)."""
    cfg = parse_config(raw)
    torch.manual_seed(seed)
    model = InstructCellModel(cfg)
    model.tie_embeddings()
    with torch.no_grad():
        model.t5.shared.weight.normal_(0.0, 1.0)
    return cfg, model


def save_checkpoint(
    directory: Path, raw: dict[str, Any], model: InstructCellModel, tok: Tokenizer, genes: list[str]
) -> None:
    """Write the checkpoint directory the exporter loads."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if k not in TIED_KEYS[1:]}
    save_file(state, str(directory / "model.safetensors"))
    tok.save(str(directory / "tokenizer.json"))
    write_gene_list(genes, directory / "genes.txt")
