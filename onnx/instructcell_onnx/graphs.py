"""The exported graphs as plain tensor functions over the model's weights.

The T5 encoder and the single-step decoder are written out here (attention with an explicit
key/value cache) instead of calling ``transformers``' forward, so the traced graphs have no
cache objects or mask helpers in them; they read the same parameters as the reference model,
and verification compares them against ``transformers``' own forward and ``generate``.

Shapes: ``B`` batch, ``S`` encoder length, ``T`` new decoder tokens, ``P`` cached decoder
tokens (0 on the first step), ``L`` decoder layers, ``H`` heads, ``K`` head size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.models.t5.modeling_t5 import T5Attention

from .modeling import InstructCellModel

_MASKED = torch.finfo(torch.float32).min


def _heads(x: torch.Tensor, n_heads: int, d_kv: int) -> torch.Tensor:
    """``[B, N, H*K]`` → ``[B, H, N, K]``."""
    return x.reshape(x.shape[0], x.shape[1], n_heads, d_kv).transpose(1, 2)


def _merge(x: torch.Tensor, n_heads: int, d_kv: int) -> torch.Tensor:
    """``[B, H, N, K]`` → ``[B, N, H*K]``.

    The target shape reads the transposed tensor's own leading dims and a constant width, so
    ONNX Runtime folds it into a constant ``[0, 0, H*K]``; computed from the input's dims it
    stays a chain of shape operations executed on every call.
    """
    y = x.transpose(1, 2)
    return y.reshape(y.shape[0], y.shape[1], n_heads * d_kv)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    # T5 does not scale the dot product; position bias and mask are additive.
    scores = torch.matmul(q, k.transpose(-1, -2)) + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def _padding_bias(mask: torch.Tensor) -> torch.Tensor:
    """``[B, S]`` 0/1 mask → additive ``[B, 1, 1, S]`` bias."""
    return (1.0 - mask.to(torch.float32))[:, None, None, :] * _MASKED


def bucket_table(bidirectional: bool, num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5's bucket of every relative position in ``[-max_distance, max_distance]``.

    Buckets saturate beyond ``max_distance``, so clamping a distance into that range and
    looking it up reproduces ``transformers``' computation exactly, with no floating point
    inside the graph (an fp16 graph would otherwise round bucket boundaries differently).
    """
    rel = torch.arange(-max_distance, max_distance + 1)
    return T5Attention._relative_position_bucket(
        rel, bidirectional=bidirectional, num_buckets=num_buckets, max_distance=max_distance
    )


def _position_bias(
    table: nn.Embedding,
    query_pos: torch.Tensor,
    key_pos: torch.Tensor,
    bidirectional: bool,
    num_buckets: int,
    max_distance: int,
) -> torch.Tensor:
    """Relative position bias ``[1, H, Tq, Tk]`` from the layer-0 bucket table."""
    rel = torch.clamp(key_pos[None, :] - query_pos[:, None], -max_distance, max_distance) + max_distance
    buckets = bucket_table(bidirectional, num_buckets, max_distance)[rel]
    return table(buckets).permute(2, 0, 1).unsqueeze(0)


@dataclass
class GraphSpec:
    """Names and symbolic shapes of one graph's inputs and outputs (as written in the manifest)."""

    name: str
    inputs: list[tuple[str, str, list]]
    outputs: list[tuple[str, str, list]]


class CellEncoderGraph(nn.Module):
    """``input_projection [B, W]`` → ``cell_embeddings [B, Q, D]``.

    The input is the encoder's first linear layer applied to the preprocessed profile (before
    its activation); that layer ships as arrays (see ``cell_input``) so runtimes can compute it
    sparsely.
    """

    def __init__(self, model: InstructCellModel):
        super().__init__()
        self.encoder = model.assistant.feature_encoder

    def forward(self, input_projection: torch.Tensor) -> torch.Tensor:
        return self.encoder.from_projection(input_projection)


def cache_names(prefix: str, layers: int) -> list[str]:
    """Per-layer tensor names: ``prefix_0`` … ``prefix_{L-1}``."""
    return [f"{prefix}_{i}" for i in range(layers)]


class TextEncoderGraph(nn.Module):
    """``inputs_embeds [B, S, D]``, ``attention_mask [B, S]`` → hidden states and per-layer cross K/V.

    Outputs ``encoder_hidden_states [B, S, D]``, then ``cross_key_0`` … ``cross_key_{L-1}`` and
    ``cross_value_0`` … ``cross_value_{L-1}``, each ``[B, H, S, K]``: the decoder's
    cross-attention keys/values, computed once per sequence. One tensor per layer, so that the
    decoder reads each layer's cache where it lies instead of slicing a stacked tensor (ONNX
    Runtime would copy every slice on every step).
    """

    def __init__(self, model: InstructCellModel):
        super().__init__()
        t5 = model.t5
        self.encoder = t5.encoder
        self.decoder_blocks = t5.decoder.block
        self.cfg = t5.config

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor):
        cfg = self.cfg
        h, dk = cfg.num_heads, cfg.d_kv
        length = inputs_embeds.shape[1]
        pos = torch.arange(length, device=inputs_embeds.device)
        first = self.encoder.block[0].layer[0].SelfAttention
        bias = _position_bias(
            first.relative_attention_bias,
            pos,
            pos,
            True,
            cfg.relative_attention_num_buckets,
            cfg.relative_attention_max_distance,
        ) + _padding_bias(attention_mask)
        x = inputs_embeds
        for block in self.encoder.block:
            sa = block.layer[0]
            att = sa.SelfAttention
            n = sa.layer_norm(x)
            out = _attend(_heads(att.q(n), h, dk), _heads(att.k(n), h, dk), _heads(att.v(n), h, dk), bias)
            x = x + att.o(_merge(out, h, dk))
            x = block.layer[1](x)
        x = self.encoder.final_layer_norm(x)
        keys = [_heads(b.layer[1].EncDecAttention.k(x), h, dk) for b in self.decoder_blocks]
        values = [_heads(b.layer[1].EncDecAttention.v(x), h, dk) for b in self.decoder_blocks]
        return (x, *keys, *values)


class DecoderGraph(nn.Module):
    """One decoding step (or a block of ``T`` tokens) with a self-attention KV cache.

    Inputs: ``input_ids [B, T]``, ``encoder_attention_mask [B, S]``, then per layer ``i``:
    ``past_key_i``, ``past_value_i`` ``[B, H, P, K]`` (``P`` may be 0), ``cross_key_i``,
    ``cross_value_i`` ``[B, H, S, K]`` (all past keys first, then past values, cross keys, cross
    values). Outputs: ``logits [B, T, V]``, ``hidden [B, T, D]`` (the last decoder layer after
    its final norm: the generator's condition at the signal token), ``present_key_i`` then
    ``present_value_i`` ``[B, H, P+T, K]``.
    """

    def __init__(self, model: InstructCellModel):
        super().__init__()
        t5 = model.t5
        self.decoder = t5.decoder
        self.embed = t5.shared
        self.lm_head = t5.lm_head
        self.cfg = t5.config

    def forward(self, input_ids, encoder_attention_mask, *caches):
        cfg = self.cfg
        h, dk = cfg.num_heads, cfg.d_kv
        n = len(self.decoder.block)
        if len(caches) != 4 * n:
            raise ValueError(f"expected {4 * n} cache tensors, got {len(caches)}")
        past_key, past_value, cross_key, cross_value = (caches[i * n : (i + 1) * n] for i in range(4))
        past = past_key[0].shape[2]
        new = input_ids.shape[1]
        query_pos = torch.arange(new, device=input_ids.device) + past
        key_pos = torch.arange(new + past, device=input_ids.device)
        first = self.decoder.block[0].layer[0].SelfAttention
        causal = (key_pos[None, :] > query_pos[:, None]).to(torch.float32) * _MASKED
        self_bias = (
            _position_bias(
                first.relative_attention_bias,
                query_pos,
                key_pos,
                False,
                cfg.relative_attention_num_buckets,
                cfg.relative_attention_max_distance,
            )
            + causal
        )
        cross_bias = _padding_bias(encoder_attention_mask)
        x = self.embed(input_ids)
        keys, values = [], []
        for i, block in enumerate(self.decoder.block):
            sa = block.layer[0]
            att = sa.SelfAttention
            n = sa.layer_norm(x)
            k = torch.cat([past_key[i], _heads(att.k(n), h, dk)], dim=2)
            v = torch.cat([past_value[i], _heads(att.v(n), h, dk)], dim=2)
            keys.append(k)
            values.append(v)
            x = x + att.o(_merge(_attend(_heads(att.q(n), h, dk), k, v, self_bias), h, dk))
            ca = block.layer[1]
            cross = ca.EncDecAttention
            n = ca.layer_norm(x)
            attended = _attend(_heads(cross.q(n), h, dk), cross_key[i], cross_value[i], cross_bias)
            x = x + cross.o(_merge(attended, h, dk))
            x = block.layer[2](x)
        hidden = self.decoder.final_layer_norm(x)
        scaled = hidden * (cfg.d_model**-0.5) if cfg.scale_decoder_outputs else hidden
        logits = self.lm_head(scaled)
        return (logits, hidden, *keys, *values)


class GeneratorGraph(nn.Module):
    """``condition [B, D]``, ``z [B, n_latent]``, ``log_library [B, 1]``
    → ``mu``, ``theta``, ``zi_logits`` ``[B, G]``."""

    def __init__(self, model: InstructCellModel):
        super().__init__()
        self.generator = model.assistant.feature_decoder

    def forward(self, condition, z, log_library):
        return self.generator(condition, z, log_library)


def graph_specs(model: InstructCellModel) -> dict[str, GraphSpec]:
    """Interface of every graph: names, element types and symbolic shapes."""
    cfg = model.cfg
    t5 = cfg.t5
    d, layers, heads, dk = t5.d_model, t5.num_decoder_layers, t5.num_heads, t5.d_kv
    genes, q, latent = cfg.cell_encoder.count_dim, cfg.cell_encoder.num_query_tokens, cfg.generator.n_latent
    width = model.assistant.feature_encoder.cell_encoder[0].linear.out_features
    kv_enc = ["batch", heads, "encoder_length", dk]
    kv_past = ["batch", heads, "past_length", dk]
    kv_total = ["batch", heads, "total_length", dk]
    per_layer = lambda prefix, shape: [(n, "float32", shape) for n in cache_names(prefix, layers)]  # noqa: E731
    return {
        "cell_encoder": GraphSpec(
            "cell_encoder",
            [("input_projection", "float32", ["batch", width])],
            [("cell_embeddings", "float32", ["batch", q, d])],
        ),
        "text_encoder": GraphSpec(
            "text_encoder",
            [
                ("inputs_embeds", "float32", ["batch", "encoder_length", d]),
                ("attention_mask", "int64", ["batch", "encoder_length"]),
            ],
            [
                ("encoder_hidden_states", "float32", ["batch", "encoder_length", d]),
                *per_layer("cross_key", kv_enc),
                *per_layer("cross_value", kv_enc),
            ],
        ),
        "decoder": GraphSpec(
            "decoder",
            [
                ("input_ids", "int64", ["batch", "new_tokens"]),
                ("encoder_attention_mask", "int64", ["batch", "encoder_length"]),
                *per_layer("past_key", kv_past),
                *per_layer("past_value", kv_past),
                *per_layer("cross_key", kv_enc),
                *per_layer("cross_value", kv_enc),
            ],
            [
                ("logits", "float32", ["batch", "new_tokens", t5.vocab_size]),
                ("hidden", "float32", ["batch", "new_tokens", d]),
                *per_layer("present_key", kv_total),
                *per_layer("present_value", kv_total),
            ],
        ),
        "generator": GraphSpec(
            "generator",
            [
                ("condition", "float32", ["batch", d]),
                ("z", "float32", ["batch", latent]),
                ("log_library", "float32", ["batch", 1]),
            ],
            [
                ("mu", "float32", ["batch", genes]),
                ("theta", "float32", ["batch", genes]),
                ("zi_logits", "float32", ["batch", genes]),
            ],
        ),
    }


def graph_modules(model: InstructCellModel) -> dict[str, nn.Module]:
    """The four exportable modules, by graph name, in inference mode.

    A fresh ``nn.Module`` starts in training mode, and the exporter restores that mode on the
    whole tree afterwards, which would switch the wrapped model's dropout on.
    """
    modules = {
        "cell_encoder": CellEncoderGraph(model),
        "text_encoder": TextEncoderGraph(model),
        "decoder": DecoderGraph(model),
        "generator": GeneratorGraph(model),
    }
    return {name: m.eval() for name, m in modules.items()}


def example_inputs(
    model: InstructCellModel, batch: int = 2, enc_len: int = 7, past: int = 3, new: int = 2, seed: int = 0
) -> dict[str, tuple[torch.Tensor, ...]]:
    """Random inputs for every graph (used for tracing and for per-graph checks)."""
    gen = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    t5 = cfg.t5
    layers, heads, dk, d = t5.num_decoder_layers, t5.num_heads, t5.d_kv, t5.d_model
    mask = torch.ones(batch, enc_len, dtype=torch.int64)
    if batch > 1:
        mask[-1, enc_len - 2 :] = 0
    expression = torch.log1p(torch.rand(batch, cfg.cell_encoder.count_dim, generator=gen) * 20)
    embeds = torch.randn(batch, enc_len, d, generator=gen) * t5_embed_scale(model)
    kv = lambda n: tuple(torch.randn(batch, heads, n, dk, generator=gen) for _ in range(layers))  # noqa: E731
    return {
        "cell_encoder": (model.assistant.feature_encoder.cell_encoder[0].linear(expression).detach(),),
        "text_encoder": (embeds, mask),
        "decoder": (
            torch.randint(0, t5.vocab_size, (batch, new), generator=gen),
            mask,
            *kv(past),
            *kv(past),
            *kv(enc_len),
            *kv(enc_len),
        ),
        "generator": (
            torch.randn(batch, d, generator=gen),
            torch.randn(batch, cfg.generator.n_latent, generator=gen),
            torch.randn(batch, 1, generator=gen) * 0.5 + 7.0,
        ),
    }


def t5_embed_scale(model: InstructCellModel) -> float:
    """Typical magnitude of a token embedding entry, to draw realistic encoder inputs."""
    return float(model.t5.shared.weight.detach().std())
