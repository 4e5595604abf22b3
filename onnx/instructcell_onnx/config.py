"""Model configuration: parse an InstructCell ``config.json`` and define the presets.

``save_pretrained`` writes the nested T5 config as a *diff* against ``T5Config``'s defaults,
so absent T5 fields take the values of ``transformers.T5Config`` itself. The feature encoder
and decoder sections are plain dicts; absent keys take the defaults of the original
``InstructCellConfig`` (the published full-size values), listed below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import Blip2QFormerConfig, T5Config

from .errors import ExportError

#: Defaults of the original configuration class for the cell encoder section.
CELL_ENCODER_DEFAULTS: dict[str, Any] = {
    "is_q_former_encoder": True,
    "count_dim": 18961,
    "cross_attention_frequency": 1,
    "num_hidden_layers": 4,
    "num_key_value_tokens": 6,
    "num_blocks": 3,
    "num_query_tokens": 8,
    "hidden_dropout_prob": 0.1,
}

#: Defaults of the original configuration class for the cell generator section.
CELL_GENERATOR_DEFAULTS: dict[str, Any] = {
    "use_layer_norm": "both",
    "use_batch_norm": "none",
    "n_latent": 256,
    "condition_input_dim": 256,
    "log_variational": True,
    "n_layers": 4,
    "n_hidden": 1024,
    "dropout_rate": 0.1,
    "adaptive_library": True,
}

#: Names of the four added special tokens, in the order the original code adds them.
CELL_TOKEN_TEXTS = {
    "start_tag": "<CELL>",
    "end_tag": "</CELL>",
    "placeholder": "<CELL0>",
    "signal_tokens": ["<CELL1>"],
}

#: Target sum of the per-cell normalisation applied before ``log1p``.
NORMALIZE_TARGET_SUM = 1e4


@dataclass
class CellEncoderConfig:
    """Sizes of the cell encoder: an MLP to key/value tokens, then a BLIP-2 Q-Former."""

    count_dim: int
    num_blocks: int
    num_hidden_layers: int
    num_key_value_tokens: int
    num_query_tokens: int
    cross_attention_frequency: int
    hidden_dropout_prob: float


@dataclass
class CellGeneratorConfig:
    """Sizes of the conditional ZINB generator (an scVI-style conditional VAE)."""

    n_latent: int
    condition_input_dim: int
    n_layers: int
    n_hidden: int
    dropout_rate: float
    adaptive_library: bool
    layer_norm_encoder: bool
    layer_norm_decoder: bool
    log_variational: bool


@dataclass
class SpecialTokens:
    """Ids and texts of the cell tokens added to the T5 vocabulary."""

    start_tag: int
    end_tag: int
    placeholder: int
    signal_tokens: list[int]
    texts: dict[str, Any] = field(default_factory=lambda: dict(CELL_TOKEN_TEXTS))

    @property
    def first_signal(self) -> int:
        """Id of the signal token whose emission triggers cell generation."""
        return self.signal_tokens[0]


@dataclass
class ModelConfig:
    """Everything needed to build the PyTorch model and describe it in a manifest."""

    t5: T5Config
    cell_encoder: CellEncoderConfig
    generator: CellGeneratorConfig
    special: SpecialTokens
    normalize_total: bool = True
    log1p: bool = True
    tokenizer_use_fast: bool = False

    @property
    def d_model(self) -> int:
        """Width of the language model (and of the cell embeddings)."""
        return self.t5.d_model

    @property
    def decoder_start_token_id(self) -> int:
        """First decoder input; T5 uses the pad token when the config leaves it unset."""
        start = getattr(self.t5, "decoder_start_token_id", None)
        return self.t5.pad_token_id if start is None else int(start)

    def qformer_config(self) -> Blip2QFormerConfig:
        """The Q-Former configuration exactly as the original model derives it."""
        cfg = Blip2QFormerConfig(
            vocab_size=0,
            hidden_size=self.t5.d_model,
            hidden_dropout_prob=self.cell_encoder.hidden_dropout_prob,
            num_hidden_layers=self.cell_encoder.num_hidden_layers,
            num_attention_heads=self.t5.num_heads,
            intermediate_size=self.t5.d_model * 4,
            pad_token_id=self.t5.pad_token_id,
            cross_attention_frequency=self.cell_encoder.cross_attention_frequency,
            encoder_hidden_size=self.t5.d_model,
        )
        # Plain PyTorch attention traces to ONNX reliably; the fused kernels do not.
        cfg._attn_implementation = "eager"
        return cfg


def _require(section: dict[str, Any], key: str, where: str) -> Any:
    if key not in section:
        raise ExportError(f"config.json: {where} lacks the required field '{key}'")
    return section[key]


def build_t5_config(fields: dict[str, Any]) -> T5Config:
    """Build a ``T5Config`` from the saved non-default fields; defaults fill the rest."""
    fields = dict(fields)
    model_type = fields.pop("model_type", "t5")
    if model_type != "t5":
        raise ExportError(f"config.json: base_model_config.model_type is '{model_type}'; only 't5' is supported")
    if fields.get("tie_word_embeddings", True) is False:
        raise ExportError(
            "config.json: base_model_config.tie_word_embeddings is false; InstructCell ties the "
            "LM head to the token embeddings and untied heads are not supported"
        )
    # Bookkeeping fields of the original code: kept out of T5Config.
    for key in (
        "special_tokens_dict",
        "special_tokens_index_dict",
        "num_signal_tokens",
        "ignore_index",
        "_attn_implementation_autoset",
    ):
        fields.pop(key, None)
    try:
        cfg = T5Config(**fields)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"config.json: base_model_config is not a valid T5 config: {exc}") from exc
    cfg._attn_implementation = "eager"
    return cfg


def _special_tokens(base: dict[str, Any]) -> SpecialTokens:
    index = base.get("special_tokens_index_dict")
    if not index:
        raise ExportError(
            "config.json: base_model_config.special_tokens_index_dict is missing or null; the "
            "checkpoint has no cell tokens (<CELL>, </CELL>, <CELL0>, <CELL1>)"
        )
    texts = dict(CELL_TOKEN_TEXTS)
    if base.get("special_tokens_dict"):
        texts.update(base["special_tokens_dict"])
    num_signal = base.get("num_signal_tokens") or len(texts["signal_tokens"])
    where = "base_model_config.special_tokens_index_dict"
    first = int(_require(index, "first_signal_token", where))
    return SpecialTokens(
        start_tag=int(_require(index, "start_tag", where)),
        end_tag=int(_require(index, "end_tag", where)),
        placeholder=int(_require(index, "placeholder", where)),
        signal_tokens=[first + i for i in range(int(num_signal))],
        texts=texts,
    )


def _norm_flags(value: str, what: str) -> tuple[bool, bool]:
    allowed = ("encoder", "decoder", "none", "both")
    if value not in allowed:
        raise ExportError(f"config.json: feature_decoder_config.{what} must be one of {allowed}, got '{value}'")
    return value in ("encoder", "both"), value in ("decoder", "both")


def parse_config(raw: dict[str, Any]) -> ModelConfig:
    """Validate and complete a parsed InstructCell ``config.json``."""
    model_type = raw.get("model_type")
    if model_type != "instructcell":
        raise ExportError(f"config.json: model_type is '{model_type}', expected 'instructcell'")
    base = raw.get("base_model_config")
    if not isinstance(base, dict):
        raise ExportError("config.json: base_model_config is missing")
    t5 = build_t5_config(base)

    enc = {**CELL_ENCODER_DEFAULTS, **(raw.get("feature_encoder_config") or {})}
    if not enc["is_q_former_encoder"]:
        raise ExportError(
            "config.json: feature_encoder_config.is_q_former_encoder is false; "
            "only the Q-Former cell encoder is supported"
        )
    gen = {**CELL_GENERATOR_DEFAULTS, **(raw.get("feature_decoder_config") or {})}
    _, bn_decoder = _norm_flags(gen["use_batch_norm"], "use_batch_norm")
    if gen["use_batch_norm"] != "none":
        raise ExportError(
            "config.json: feature_decoder_config.use_batch_norm must be 'none' (batch norm is not supported)"
        )
    ln_enc, ln_dec = _norm_flags(gen["use_layer_norm"], "use_layer_norm")

    return ModelConfig(
        t5=t5,
        cell_encoder=CellEncoderConfig(
            count_dim=int(enc["count_dim"]),
            num_blocks=int(enc["num_blocks"]),
            num_hidden_layers=int(enc["num_hidden_layers"]),
            num_key_value_tokens=int(enc["num_key_value_tokens"]),
            num_query_tokens=int(enc["num_query_tokens"]),
            cross_attention_frequency=int(enc["cross_attention_frequency"]),
            hidden_dropout_prob=float(enc["hidden_dropout_prob"]),
        ),
        generator=CellGeneratorConfig(
            n_latent=int(gen["n_latent"]),
            condition_input_dim=int(gen["condition_input_dim"]),
            n_layers=int(gen["n_layers"]),
            n_hidden=int(gen["n_hidden"]),
            dropout_rate=float(gen["dropout_rate"]),
            adaptive_library=bool(gen["adaptive_library"]),
            layer_norm_encoder=ln_enc,
            layer_norm_decoder=ln_dec,
            log_variational=bool(gen["log_variational"]),
        ),
        special=_special_tokens(base),
        normalize_total=bool(raw.get("normalize_total", True)),
        log1p=bool(raw.get("log_variational", True)),
        tokenizer_use_fast=bool(raw.get("tokenizer_use_fast", False)),
    )


def load_config(path: Path) -> ModelConfig:
    """Read and parse ``config.json``; every problem becomes an :class:`ExportError`."""
    if not path.is_file():
        raise ExportError(f"missing file: {path}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ExportError(f"{path}: expected a JSON object")
    return parse_config(raw)


def preset_raw_config(name: str, vocab_size: int, n_genes: int) -> dict[str, Any]:
    """A ``config.json``-shaped dict for a named preset (``tiny`` or ``base``).

    ``vocab_size`` is the tokenizer's length (base vocabulary + the four cell tokens), which
    fixes the special-token ids; the embedding rows are rounded up to a multiple of 8 as the
    original ``resize_token_embeddings(pad_to_multiple_of=8)`` does.
    """
    first_cell = vocab_size - 4
    rows = (vocab_size + 7) // 8 * 8
    special = {
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
    if name == "base":
        base = {
            "vocab_size": rows,
            "d_model": 768,
            "d_kv": 64,
            "d_ff": 3072,
            "num_layers": 12,
            "num_decoder_layers": 12,
            "num_heads": 12,
            "decoder_start_token_id": 0,
        }
        enc = {**CELL_ENCODER_DEFAULTS, "count_dim": n_genes}
        gen = dict(CELL_GENERATOR_DEFAULTS)
    elif name == "tiny":
        base = {
            "vocab_size": rows,
            "d_model": 64,
            "d_kv": 16,
            "d_ff": 128,
            "num_layers": 2,
            "num_decoder_layers": 2,
            "num_heads": 4,
            "decoder_start_token_id": 0,
        }
        enc = {
            **CELL_ENCODER_DEFAULTS,
            "count_dim": n_genes,
            "num_hidden_layers": 2,
            "num_key_value_tokens": 3,
            "num_blocks": 2,
            "num_query_tokens": 4,
        }
        gen = {**CELL_GENERATOR_DEFAULTS, "n_latent": 16, "condition_input_dim": 16, "n_layers": 2, "n_hidden": 64}
    else:
        raise ExportError(f"unknown preset '{name}' (choose 'tiny' or 'base')")
    return {
        "model_type": "instructcell",
        "base_model_config": {"model_type": "t5", **base, **special},
        "feature_encoder_config": enc,
        "feature_decoder_config": gen,
        "tokenizer_use_fast": False,
        "normalize_total": True,
        "log_variational": True,
    }


#: Per-preset sizes of the synthetic tokenizer and gene list used with ``--random-init``.
PRESET_SIZES = {
    "tiny": {"base_pieces": 1000, "n_genes": 300},
    "base": {"base_pieces": 32000, "n_genes": 18961},
}
