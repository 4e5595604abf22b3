"""Random-weight models for tests and benchmarks (``--random-init --preset tiny|base``).

Standard T5 initialisation makes greedy decoding degenerate: attention is nearly uniform and
the next token depends almost only on the current one. Here the attention projections are
scaled up and the token embeddings down, so the encoder input (and thus the cell) changes
what is generated. Everything is drawn from one seeded generator, so a preset and a seed
rebuild the same weights bit for bit.
"""

from __future__ import annotations

import math

import torch
from tokenizers import Tokenizer
from torch import nn

from . import tokenizer as tokenization
from .config import PRESET_SIZES, ModelConfig, parse_config, preset_raw_config
from .errors import ExportError
from .genes import synthetic_genes
from .modeling import InstructCellModel

#: Multipliers on the usual ``1/sqrt(fan_in)`` scale, chosen so random outputs vary.
EMBEDDING_STD = 0.3
ATTENTION_QK_GAIN = 1.0
RELATIVE_BIAS_STD = 1.0
LIBRARY_LOG_MEAN = 8.0
LIBRARY_LOG_VAR = 0.25
#: Norm gain on the eos and signal-token embedding rows, so random decoding sometimes stops.
STOP_ROW_GAIN = 2.5


def _normal_(t: torch.Tensor, std: float, gen: torch.Generator) -> None:
    with torch.no_grad():
        t.copy_(torch.randn(t.shape, generator=gen) * std)


def _init_linear(lin: nn.Linear, gen: torch.Generator, gain: float = 1.0) -> None:
    _normal_(lin.weight, gain / math.sqrt(lin.in_features), gen)
    if lin.bias is not None:
        _normal_(lin.bias, 0.02, gen)


def randomize(model: InstructCellModel, seed: int) -> None:
    """Overwrite every parameter of ``model`` deterministically from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            qk = name.endswith((".q", ".k")) and ".base_model." in f".{name}"
            _init_linear(module, gen, ATTENTION_QK_GAIN if qk else 1.0)
        elif isinstance(module, nn.Embedding):
            is_rel = name.endswith("relative_attention_bias")
            _normal_(module.weight, RELATIVE_BIAS_STD if is_rel else EMBEDDING_STD, gen)
        elif isinstance(module, nn.LayerNorm) and module.weight is not None:
            with torch.no_grad():
                module.weight.fill_(1.0)
                module.bias.zero_()
    enc = model.assistant.feature_encoder
    _normal_(enc.query_tokens, 1.0, gen)
    vae = model.assistant.feature_decoder.base_model
    _normal_(vae.px_r, 0.5, gen)
    with torch.no_grad():
        vae.library_log_means.fill_(LIBRARY_LOG_MEAN)
        vae.library_log_vars.fill_(LIBRARY_LOG_VAR)
        # T5 layer norms are scale-only; keep them at 1 like a fresh model.
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight") and ".base_model." in name:
                p.fill_(1.0)
    with torch.no_grad():
        shared = model.t5.shared.weight
        for row in (cfg.t5.eos_token_id, cfg.special.first_signal):
            shared[row] *= STOP_ROW_GAIN
    model.tie_embeddings()
    model.eval()


def random_model(preset: str, seed: int) -> tuple[ModelConfig, InstructCellModel, Tokenizer, list[str]]:
    """Config, seeded random model, synthetic tokenizer and placeholder genes for a preset."""
    if preset not in PRESET_SIZES:
        raise ExportError(f"unknown preset '{preset}' (choose one of {', '.join(PRESET_SIZES)})")
    sizes = PRESET_SIZES[preset]
    tok = tokenization.synthetic(sizes["base_pieces"])
    vocab_with_cells = tok.get_vocab_size(with_added_tokens=True) + 4
    cfg = parse_config(preset_raw_config(preset, vocab_with_cells, sizes["n_genes"]))
    tokenization.add_cell_tokens(tok, cfg)
    torch.manual_seed(seed)
    model = InstructCellModel(cfg)
    randomize(model, seed)
    return cfg, model, tok, synthetic_genes(sizes["n_genes"])
