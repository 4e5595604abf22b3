"""Write a complete model package atomically: build it in a temporary sibling directory,
verify it there, and rename it into place only when everything succeeded.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from .cell_input import write_cell_input
from .config import ModelConfig
from .errors import ExportError
from .genes import check_gene_count, write_gene_list
from .graphs import example_inputs, graph_modules, graph_specs
from .int8_weights import unsigned_entries
from .leftovers import publish, temp_sibling
from .manifest import EMBEDDINGS_NAME, GENES_NAME, TOKENIZER_NAME, build_manifest, graph_entry, write_manifest
from .modeling import InstructCellModel
from .onnx_export import PRECISIONS, convert_fp16, export_fp32, quantize_int8
from .verify import verify_package

VERIFICATION_NAME = "verification.json"
VARIANTS = ("chat", "instruct")


def parse_precisions(text: str) -> list[str]:
    """``"fp32,int8"`` → ``["fp32", "int8"]``; fp32 is always included (it is the reference)."""
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown:
        raise ExportError(f"unknown precision(s) {', '.join(unknown)}; choose from {', '.join(PRECISIONS)}")
    return [p for p in PRECISIONS if p in wanted or p == "fp32"]


def _prepare_destination(out: Path, overwrite: bool) -> Path:
    if out.exists() and not overwrite:
        raise ExportError(f"output {out} already exists (pass --overwrite to replace it)")
    if out.exists() and not out.is_dir():
        raise ExportError(f"output {out} exists and is not a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_sibling(out, "partial")
        tmp.mkdir()
        return tmp
    except OSError as exc:
        raise ExportError(f"cannot write to {out.parent}: {exc}") from exc


def _write_graphs(
    root: Path, model: InstructCellModel, precisions: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    specs = graph_specs(model)
    modules = graph_modules(model)
    examples = example_inputs(model)
    entries = []
    for precision in precisions:
        (root / precision).mkdir()
    for name, spec in specs.items():
        start = time.time()
        fp32_path = root / "fp32" / f"{name}.onnx"
        export_fp32(modules[name], spec, examples[name], fp32_path)
        entries.append(graph_entry(root, f"fp32/{name}.onnx", spec, "fp32"))
        for precision in precisions[1:]:
            rel = f"{precision}/{name}.onnx"
            (quantize_int8 if precision == "int8" else convert_fp16)(fp32_path, root / rel)
            entries.append(graph_entry(root, rel, spec, precision))
            if precision == "int8":
                entries[-1]["int8_weights"] = "signed"
                entries += unsigned_entries(root, [entries[-1]])
        log(f"  {name}: {', '.join(precisions)} in {time.time() - start:.1f}s")
    return entries


def export_package(
    out: Path,
    model: InstructCellModel,
    tokenizer: Tokenizer,
    genes: list[str],
    variant: str,
    source: dict[str, Any],
    precisions: list[str],
    verify: bool = True,
    overwrite: bool = False,
    n_pairs: int = 20,
    max_new_tokens: int = 16,
    threads: int = 2,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Export ``model`` to the package directory ``out``; returns the manifest.

    Nothing appears at ``out`` unless export and (when asked) verification both succeed.
    """
    cfg: ModelConfig = model.cfg
    if variant not in VARIANTS:
        raise ExportError(f"unknown variant '{variant}' (choose {' or '.join(VARIANTS)})")
    check_gene_count(genes, cfg.cell_encoder.count_dim, "(gene list)")
    tmp = _prepare_destination(out, overwrite)
    try:
        tokenizer.save(str(tmp / TOKENIZER_NAME))
        write_gene_list(genes, tmp / GENES_NAME)
        np.save(tmp / EMBEDDINGS_NAME, model.t5.shared.weight.detach().numpy().astype(np.float32))
        graphs = _write_graphs(tmp, model, precisions, log)
        cell_input = [write_cell_input(tmp, model, p) for p in precisions]
        vae = model.assistant.feature_decoder.base_model
        manifest = build_manifest(
            cfg,
            variant,
            source,
            tmp,
            graphs,
            library_log_means=[float(x) for x in vae.library_log_means.flatten()],
            library_log_vars=[float(x) for x in vae.library_log_vars.flatten()],
            n_tokenizer=tokenizer.get_vocab_size(with_added_tokens=True),
            n_genes=len(genes),
            cell_input=cell_input,
        )
        write_manifest(manifest, tmp)
        if verify:
            log("verifying ...")
            result = verify_package(
                tmp, model, precisions, n_pairs=n_pairs, max_new_tokens=max_new_tokens, threads=threads
            )
            (tmp / VERIFICATION_NAME).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        publish(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"cannot write package {out}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
