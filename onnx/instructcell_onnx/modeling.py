"""The InstructCell architecture in PyTorch, with the parameter names of the original checkpoints.

Module paths mirror what ``save_pretrained`` stores (``assistant.base_model.*``,
``assistant.feature_encoder.*``, ``assistant.feature_decoder.*``) so a state dict loads
without renaming. The language model is ``transformers``' T5 and the cell encoder is built on
``transformers``' BLIP-2 Q-Former; the generator is written here.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from transformers import Blip2QFormerModel, T5ForConditionalGeneration

from .config import NORMALIZE_TARGET_SUM, ModelConfig

# The training-only parts of the generator (posterior encoders of z and of the library size)
# are present in checkpoints but never used at inference or exported.
TRAINING_ONLY_PREFIXES = (
    "assistant.feature_decoder.base_model.z_encoder.",
    "assistant.feature_decoder.base_model.l_encoder.",
    "assistant.feature_decoder.base_model.decoder.px_r_decoder.",
)


class MlpBlock(nn.Module):
    """``GELU(Linear(x))``, plus ``x`` when the block is residual."""

    def __init__(self, n_in: int, n_out: int, residual: bool):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.linear(x))
        return x + y if self.residual else y


class CellEncoder(Blip2QFormerModel):
    """Expression profile → ``num_query_tokens`` embeddings of width ``d_model``.

    An MLP (first block plain, the others residual) maps the preprocessed profile to
    ``num_key_value_tokens`` vectors; learned query tokens cross-attend to them through the
    Q-Former layers (which start with a LayerNorm on the queries).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg.qformer_config())
        enc = cfg.cell_encoder
        width = enc.num_key_value_tokens * cfg.d_model
        self.cell_encoder = nn.Sequential(
            *[MlpBlock(enc.count_dim if i == 0 else width, width, residual=i > 0) for i in range(enc.num_blocks)]
        )
        self.query_tokens = nn.Parameter(torch.zeros(1, enc.num_query_tokens, cfg.d_model))
        nn.init.normal_(self.query_tokens, std=self.config.initializer_range)

    def forward(self, expression: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Encode preprocessed profiles ``[B, G]`` into cell embeddings ``[B, Q, D]``."""
        return self.from_projection(self.cell_encoder[0].linear(expression))

    def from_projection(self, projection: torch.Tensor) -> torch.Tensor:
        """The encoder after its first linear layer: ``projection [B, W]`` (before the activation)."""
        batch = projection.shape[0]
        x = F.gelu(projection)
        for block in self.cell_encoder[1:]:
            x = block(x)
        kv = x.reshape(batch, -1, self.config.hidden_size)
        queries = self.query_tokens.expand(batch, -1, -1)
        return Blip2QFormerModel.forward(self, query_embeds=queries, encoder_hidden_states=kv).last_hidden_state


class FcStack(nn.Module):
    """Linear → (LayerNorm without affine) → GELU per layer, named like scVI's ``FCLayers``."""

    def __init__(self, dims: list[int], layer_norm: bool):
        super().__init__()
        layers = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(dims)):
            parts: list[tuple[str, nn.Module]] = [("0", nn.Linear(n_in, n_out))]
            if layer_norm:
                parts.append(("norm", nn.LayerNorm(n_out, elementwise_affine=False)))
            parts.append(("act", nn.GELU()))
            layers.append((f"Layer {i}", nn.Sequential(OrderedDict(parts))))
        self.fc_layers = nn.Sequential(OrderedDict(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_layers(x)


class PosteriorEncoder(nn.Module):
    """Training-only encoder kept so checkpoints load with exactly their keys."""

    def __init__(self, n_in: int, n_out: int, n_layers: int, n_hidden: int, layer_norm: bool):
        super().__init__()
        self.encoder = FcStack([n_in] + [n_hidden] * n_layers, layer_norm)
        self.mean_encoder = nn.Linear(n_hidden, n_out)
        self.var_encoder = nn.Linear(n_hidden, n_out)


class ExpressionDecoder(nn.Module):
    """``[z, c]`` → hidden → gene proportions (softmax) and zero-inflation logits."""

    def __init__(self, n_in: int, n_genes: int, n_layers: int, n_hidden: int, layer_norm: bool):
        super().__init__()
        self.px_decoder = FcStack([n_in] + [n_hidden] * n_layers, layer_norm)
        self.px_scale_decoder = nn.Sequential(nn.Linear(n_hidden, n_genes), nn.Softmax(dim=-1))
        self.px_r_decoder = nn.Linear(n_hidden, n_genes)  # used only for per-cell dispersion; kept for the keys
        self.px_dropout_decoder = nn.Linear(n_hidden, n_genes)


class ConditionalVae(nn.Module):
    """The generative half of the conditional VAE, plus its training-only encoders."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        g = cfg.generator
        n_genes = cfg.cell_encoder.count_dim
        c = g.condition_input_dim
        self.px_r = nn.Parameter(torch.randn(n_genes))
        self.register_buffer("library_log_means", torch.zeros(1, 1))
        self.register_buffer("library_log_vars", torch.ones(1, 1))
        self.z_encoder = PosteriorEncoder(n_genes + c, g.n_latent, g.n_layers, g.n_hidden, g.layer_norm_encoder)
        self.l_encoder = PosteriorEncoder(n_genes + c, 1, 1, g.n_hidden, g.layer_norm_encoder)
        self.decoder = ExpressionDecoder(g.n_latent + c, n_genes, g.n_layers, g.n_hidden, g.layer_norm_decoder)
        self.adaptive_library = g.adaptive_library
        if g.adaptive_library:
            self.library_decoder = nn.Sequential(
                nn.Linear(c + 1, (c + 1) // 2), nn.GELU(), nn.Dropout(g.dropout_rate), nn.Linear((c + 1) // 2, 1)
            )


class CellGenerator(nn.Module):
    """Condition hidden state → ZINB parameters of a pseudo-cell's counts."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.mapping_layer = nn.Linear(cfg.d_model, cfg.generator.condition_input_dim)
        self.base_model = ConditionalVae(cfg)

    def forward(
        self, condition: torch.Tensor, z: torch.Tensor, log_library: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(mu, theta, zi_logits)``, each ``[B, G]``, for latent ``z`` and log-library ``[B, 1]``."""
        vae = self.base_model
        c = self.mapping_layer(condition)
        size = vae.library_decoder(torch.cat([log_library, c], dim=-1)) if vae.adaptive_library else log_library
        hidden = vae.decoder.px_decoder(torch.cat([z, c], dim=-1))
        scale = vae.decoder.px_scale_decoder(hidden)
        mu = torch.exp(size) * scale
        theta = torch.exp(vae.px_r).expand_as(mu)
        zi_logits = vae.decoder.px_dropout_decoder(hidden)
        return mu, theta, zi_logits


class Assistant(nn.Module):
    """Container whose attribute names reproduce the checkpoint key prefixes."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.base_model = T5ForConditionalGeneration(cfg.t5)
        self.feature_encoder = CellEncoder(cfg)
        self.feature_decoder = CellGenerator(cfg)


class InstructCellModel(nn.Module):
    """T5 + cell encoder + cell generator, with the reference inference behaviour.

    This is the PyTorch side that verification compares the ONNX graphs against.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.assistant = Assistant(cfg)
        self.eval()

    @property
    def t5(self) -> T5ForConditionalGeneration:
        """The language model."""
        return self.assistant.base_model

    def tie_embeddings(self) -> None:
        """Point the encoder/decoder embeddings and the LM head at ``shared.weight``."""
        shared = self.t5.shared.weight
        self.t5.encoder.embed_tokens.weight = shared
        self.t5.decoder.embed_tokens.weight = shared
        self.t5.lm_head.weight = shared

    def preprocess(self, counts: torch.Tensor) -> torch.Tensor:
        """Raw counts → ``log1p(counts / total * 1e4)`` as configured."""
        x = counts.to(torch.float32)
        if self.cfg.normalize_total:
            x = x / x.sum(dim=-1, keepdim=True) * NORMALIZE_TARGET_SUM
        if self.cfg.log1p:
            x = torch.log1p(x)
        return x

    def encode_cells(self, expression: torch.Tensor) -> torch.Tensor:
        """Preprocessed profiles ``[B, G]`` → cell embeddings ``[B, Q, D]``."""
        return self.assistant.feature_encoder(expression)

    def splice(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, cells: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Replace each row's placeholder token by that row's ``Q`` cell embeddings.

        Rows are right-padded; every row must hold exactly one placeholder. The result is
        right-padded to the longest spliced row, with zero embeddings and mask at padding
        (the original code also zeroes the embeddings of pad tokens).
        """
        placeholder = self.cfg.special.placeholder
        embeds = self.t5.shared(input_ids)
        rows, masks = [], []
        for b in range(input_ids.shape[0]):
            where = (input_ids[b] == placeholder).nonzero().flatten()
            if where.numel() != 1:
                raise ValueError(f"row {b} has {where.numel()} placeholder tokens, expected 1")
            p = int(where[0])
            keep = attention_mask[b].clone()
            row = embeds[b] * (input_ids[b] != self.cfg.t5.pad_token_id).unsqueeze(-1)
            rows.append(torch.cat([row[:p], cells[b], row[p + 1 :]]))
            masks.append(torch.cat([keep[:p], torch.ones(cells.shape[1], dtype=keep.dtype), keep[p + 1 :]]))
        length = max(r.shape[0] for r in rows)
        out = embeds.new_zeros(len(rows), length, embeds.shape[-1])
        out_mask = attention_mask.new_zeros(len(rows), length)
        for b, (r, m) in enumerate(zip(rows, masks, strict=True)):
            out[b, : r.shape[0]] = r
            out_mask[b, : m.shape[0]] = m
        return out, out_mask

    @torch.inference_mode()
    def generate_ids(
        self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int
    ) -> torch.Tensor:
        """Greedy decoding with the original stop set ``{eos, first signal token}``.

        Returns the generated ids including the leading decoder start token.
        """
        stop = [self.cfg.t5.eos_token_id, self.cfg.special.first_signal]
        return self.t5.generate(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            do_sample=False,
            num_beams=1,
            max_new_tokens=max_new_tokens,
            eos_token_id=stop,
            pad_token_id=self.cfg.t5.pad_token_id,
            decoder_start_token_id=self.cfg.decoder_start_token_id,
        )

    @torch.inference_mode()
    def teacher_forced(
        self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, decoder_input_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Full forward pass: ``(logits [B,T,V], last decoder hidden state [B,T,D])``."""
        out = self.t5(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            output_hidden_states=True,
            return_dict=True,
        )
        return out.logits, out.decoder_hidden_states[-1]

    @torch.inference_mode()
    def condition_embedding(
        self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, generated_ids: torch.Tensor
    ) -> torch.Tensor:
        """Last decoder hidden state at the signal token appended after ``generated_ids`` ``[B, D]``.

        This is how the original code obtains the generator's condition once the decoder has
        emitted the signal token (it re-runs the decoder teacher-forced on the ids).
        """
        signal = torch.full((generated_ids.shape[0], 1), self.cfg.special.first_signal, dtype=generated_ids.dtype)
        ids = torch.cat([generated_ids, signal], dim=1)
        _, hidden = self.teacher_forced(inputs_embeds, attention_mask, ids)
        return hidden[:, -1]

    @torch.inference_mode()
    def generator_params(
        self, condition: torch.Tensor, z: torch.Tensor, log_library: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ZINB parameters ``(mu, theta, zi_logits)`` for the given condition, latent and log-library."""
        return self.assistant.feature_decoder(condition, z, log_library)
