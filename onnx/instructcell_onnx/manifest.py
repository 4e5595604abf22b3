"""The package manifest (``manifest.json``): everything a runtime needs besides the files themselves.

Each field is documented in ``onnx/README.md``; keep the two in step.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnxruntime
import torch
import transformers

from . import PACKAGE_FORMAT_VERSION, __version__
from .config import NORMALIZE_TARGET_SUM, ModelConfig
from .graphs import GraphSpec
from .samples import CHOICES_CLOSE, CHOICES_OPEN, CHOICES_SEPARATOR, PROMPT_WRAPPER

MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"
GENES_NAME = "genes.txt"
EMBEDDINGS_NAME = "token_embeddings.npy"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(root: Path, relative: str) -> dict[str, Any]:
    """``{"file", "bytes", "sha256"}`` for a file inside the package."""
    path = root / relative
    return {"file": relative, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _io(items: list[tuple[str, str, list]]) -> list[dict[str, Any]]:
    return [{"name": n, "dtype": t, "shape": s} for n, t, s in items]


def graph_entry(root: Path, relative: str, spec: GraphSpec, precision: str) -> dict[str, Any]:
    """Manifest entry of one graph file."""
    return {
        "name": spec.name,
        "precision": precision,
        **file_entry(root, relative),
        "inputs": _io(spec.inputs),
        "outputs": _io(spec.outputs),
    }


def build_manifest(
    cfg: ModelConfig,
    variant: str,
    source: dict[str, Any],
    root: Path,
    graphs: list[dict[str, Any]],
    library_log_means: list[float],
    library_log_vars: list[float],
    n_tokenizer: int,
    n_genes: int,
    cell_input: list[dict[str, Any]],
) -> dict[str, Any]:
    """Assemble the manifest from the config, the written files and the generator's prior."""
    t5 = cfg.t5
    sp = cfg.special
    return {
        "format": "instructcell-model-package",
        "format_version": PACKAGE_FORMAT_VERSION,
        "variant": variant,
        "source": source,
        "producer": {
            "name": "instructcell_onnx",
            "version": __version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opset": 17,
        },
        "model": {
            "d_model": t5.d_model,
            "d_kv": t5.d_kv,
            "d_ff": t5.d_ff,
            "num_heads": t5.num_heads,
            "num_encoder_layers": t5.num_layers,
            "num_decoder_layers": t5.num_decoder_layers,
            "vocab_size": t5.vocab_size,
            "tokenizer_size": n_tokenizer,
            "relative_attention_num_buckets": t5.relative_attention_num_buckets,
            "relative_attention_max_distance": t5.relative_attention_max_distance,
            "layer_norm_epsilon": t5.layer_norm_epsilon,
            "feed_forward_proj": t5.feed_forward_proj,
            "num_query_tokens": cfg.cell_encoder.num_query_tokens,
            "num_genes": n_genes,
            "n_latent": cfg.generator.n_latent,
        },
        "special_tokens": {
            "pad": t5.pad_token_id,
            "eos": t5.eos_token_id,
            "decoder_start": cfg.decoder_start_token_id,
            "cell_start": sp.start_tag,
            "cell_end": sp.end_tag,
            "placeholder": sp.placeholder,
            "signal": list(sp.signal_tokens),
            "stop": [t5.eos_token_id, sp.first_signal],
            "texts": {
                "cell_start": sp.texts["start_tag"],
                "cell_end": sp.texts["end_tag"],
                "placeholder": sp.texts["placeholder"],
                "signal": list(sp.texts["signal_tokens"]),
            },
        },
        "preprocess": {"normalize_total": cfg.normalize_total, "target_sum": NORMALIZE_TARGET_SUM, "log1p": cfg.log1p},
        "prompt": {
            "wrapper": PROMPT_WRAPPER,
            "input_field": "{input}",
            "cell_text": sp.texts["start_tag"] + sp.texts["placeholder"] + sp.texts["end_tag"],
            "choices": {"open": CHOICES_OPEN, "separator": CHOICES_SEPARATOR, "close": CHOICES_CLOSE},
            "add_eos": True,
        },
        "generator": {
            "likelihood": "zinb",
            "dispersion": "gene",
            "n_latent": cfg.generator.n_latent,
            "adaptive_library": cfg.generator.adaptive_library,
            "library_log_means": library_log_means,
            "library_log_vars": library_log_vars,
        },
        "files": {
            "tokenizer": file_entry(root, TOKENIZER_NAME),
            "genes": {**file_entry(root, GENES_NAME), "count": n_genes},
            "token_embeddings": {
                **file_entry(root, EMBEDDINGS_NAME),
                "dtype": "float32",
                "shape": [t5.vocab_size, t5.d_model],
            },
        },
        "cell_input": cell_input,
        "graphs": graphs,
    }


def write_manifest(manifest: dict[str, Any], root: Path) -> None:
    """Write ``manifest.json`` (UTF-8, indented, keys in insertion order)."""
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_manifest(root: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` of a package directory."""
    from .errors import ExportError

    path = root / MANIFEST_NAME
    if not path.is_file():
        raise ExportError(f"not a model package (no {MANIFEST_NAME}): {root}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc


def check_files(root: Path, manifest: dict[str, Any]) -> list[str]:
    """Files whose size or SHA-256 differ from the manifest (empty when the package is intact)."""
    entries = list(manifest["files"].values()) + list(manifest["graphs"])
    for entry in manifest.get("cell_input", []):
        entries += [entry[k] for k in ("weight", "scale", "bias") if entry.get(k)]
    bad = []
    for entry in entries:
        path = root / entry["file"]
        if not path.is_file():
            bad.append(f"{entry['file']} (missing)")
        elif path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
            bad.append(f"{entry['file']} (checksum mismatch)")
    return bad
