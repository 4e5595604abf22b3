"""Drive a model package with ONNX Runtime from Python, the way a runtime is expected to.

Tokenization, splicing, the decode loop and the stop rule live here, outside the graphs; this
is the reference the Rust side can be compared with, and what verification runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from .cell_input import load_projection
from .errors import ExportError
from .graphs import cache_names
from .int8_weights import entry_weights, preferred_weights
from .manifest import read_manifest


class PackageRunner:
    """ONNX Runtime sessions for one precision of a package, plus its tokenizer and embeddings."""

    def __init__(self, root: Path, precision: str = "fp32", threads: int = 2, int8_weights: str | None = None):
        """``int8_weights`` picks the int8 set (``signed`` or ``unsigned``); by default the one
        this CPU multiplies exactly (:func:`~.int8_weights.preferred_weights`) where the package
        has it."""
        self.root = root
        self.manifest = read_manifest(root)
        graphs = [g for g in self.manifest["graphs"] if g["precision"] == precision]
        if precision == "int8":
            have = {entry_weights(g) for g in graphs}
            if int8_weights is None:
                preferred = preferred_weights()
                int8_weights = preferred if preferred in have else "signed"
            graphs = [g for g in graphs if entry_weights(g) == int8_weights]
        #: The int8 weight encoding in use (``None`` for other precisions).
        self.int8_weights = int8_weights if precision == "int8" else None
        entries = {g["name"]: g for g in graphs}
        if len(entries) != 4:
            what = f"{precision} ({int8_weights} weights)" if precision == "int8" else precision
            raise ExportError(f"package {root} has no complete set of {what} graphs")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Verification alternates ONNX Runtime and PyTorch on the same cores; spinning pool
        # threads would keep burning CPU between runs and slow PyTorch down several-fold.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.sessions = {
            name: ort.InferenceSession(str(root / e["file"]), opts, providers=["CPUExecutionProvider"])
            for name, e in entries.items()
        }
        files = self.manifest["files"]
        self.embeddings = np.load(root / files["token_embeddings"]["file"], allow_pickle=False)
        self.tokenizer = Tokenizer.from_file(str(root / files["tokenizer"]["file"]))
        self.special = self.manifest["special_tokens"]
        cell_input = next((e for e in self.manifest.get("cell_input", []) if e["precision"] == precision), None)
        if cell_input is None:
            raise ExportError(f"package {root} has no {precision} cell input layer")
        self.input_weight, self.input_bias = load_projection(root, cell_input)
        model = self.manifest["model"]
        self.layers, self.heads, self.d_kv = model["num_decoder_layers"], model["num_heads"], model["d_kv"]

    def run(self, graph: str, **inputs: np.ndarray) -> list[np.ndarray]:
        """Run one graph by name with named numpy inputs."""
        return self.sessions[graph].run(None, inputs)

    def encode_cells(self, expression: np.ndarray) -> np.ndarray:
        """Preprocessed profiles ``[B, G]`` → cell embeddings ``[B, Q, D]``.

        The input layer is computed here from the package's arrays (as a runtime does, though
        densely), then the graph runs on its output.
        """
        projection = expression.astype(np.float32) @ self.input_weight + self.input_bias
        return self.run("cell_encoder", input_projection=projection.astype(np.float32))[0]

    def splice(self, token_ids: list[list[int]], cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token rows (one placeholder each) + cells → right-padded ``inputs_embeds`` and mask."""
        placeholder = self.special["placeholder"]
        rows = []
        for ids, cell in zip(token_ids, cells, strict=True):
            if ids.count(placeholder) != 1:
                raise ValueError(f"expected one placeholder token, found {ids.count(placeholder)}")
            p = ids.index(placeholder)
            rows.append(np.concatenate([self.embeddings[ids[:p]], cell, self.embeddings[ids[p + 1 :]]]))
        length = max(len(r) for r in rows)
        embeds = np.zeros((len(rows), length, self.embeddings.shape[1]), np.float32)
        mask = np.zeros((len(rows), length), np.int64)
        for b, r in enumerate(rows):
            embeds[b, : len(r)] = r
            mask[b, : len(r)] = 1
        return embeds, mask

    def encode_text(self, embeds: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Text encoder → the decoder's per-layer cross-attention keys and values, by input name."""
        _, *cross = self.run("text_encoder", inputs_embeds=embeds, attention_mask=mask)
        names = cache_names("cross_key", self.layers) + cache_names("cross_value", self.layers)
        return dict(zip(names, cross, strict=True))

    def empty_cache(self, batch: int) -> dict[str, np.ndarray]:
        """Zero-length self-attention caches ``[B, H, 0, K]`` for every layer, by input name."""
        empty = np.zeros((batch, self.heads, 0, self.d_kv), np.float32)
        return {n: empty for n in cache_names("past_key", self.layers) + cache_names("past_value", self.layers)}

    def step(
        self, ids: np.ndarray, mask: np.ndarray, past: dict[str, np.ndarray], cross: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One decoder call: logits, hidden and the grown caches (named as the next call's inputs)."""
        logits, hidden, *present = self.run("decoder", input_ids=ids, encoder_attention_mask=mask, **past, **cross)
        names = cache_names("past_key", self.layers) + cache_names("past_value", self.layers)
        return logits, hidden, dict(zip(names, present, strict=True))

    def greedy(self, embeds: np.ndarray, mask: np.ndarray, max_new_tokens: int) -> np.ndarray:
        """Greedy decoding until every row emitted a stop token; finished rows continue with pad.

        Returns ``[B, 1 + n]`` ids starting with the decoder start token, like ``generate``.
        """
        batch = embeds.shape[0]
        cross = self.encode_text(embeds, mask)
        past = self.empty_cache(batch)
        ids = np.full((batch, 1), self.special["decoder_start"], np.int64)
        done = np.zeros(batch, bool)
        stop = np.array(self.special["stop"])
        for _ in range(max_new_tokens):
            logits, _, past = self.step(ids[:, -1:], mask, past, cross)
            nxt = np.where(done, self.special["pad"], logits[:, -1].argmax(-1))
            ids = np.concatenate([ids, nxt[:, None]], axis=1)
            done |= np.isin(nxt, stop)
            if done.all():
                break
        return ids

    def teacher_forced(
        self, embeds: np.ndarray, mask: np.ndarray, ids: np.ndarray, block: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Logits ``[B, T, V]`` and hidden ``[B, T, D]`` along ``ids``, fed ``block`` tokens per step."""
        cross = self.encode_text(embeds, mask)
        past = self.empty_cache(ids.shape[0])
        logits, hidden = [], []
        for start in range(0, ids.shape[1], block):
            lo, hi, past = self.step(ids[:, start : start + block], mask, past, cross)
            logits.append(lo)
            hidden.append(hi)
        return np.concatenate(logits, axis=1), np.concatenate(hidden, axis=1)

    def condition(self, embeds: np.ndarray, mask: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Decoder hidden state at a signal token appended after ``ids``: ``[B, D]``."""
        signal = np.full((ids.shape[0], 1), self.special["signal"][0], np.int64)
        _, hidden = self.teacher_forced(embeds, mask, np.concatenate([ids, signal], axis=1))
        return hidden[:, -1]

    def generator(
        self, condition: np.ndarray, z: np.ndarray, log_library: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mu, theta, zi_logits)`` from the generator graph."""
        mu, theta, zi = self.run(
            "generator",
            condition=condition.astype(np.float32),
            z=z.astype(np.float32),
            log_library=log_library.astype(np.float32),
        )
        return mu, theta, zi
