"""Command line: ``python -m instructcell_onnx export|verify|add-unsigned-int8 ...``
(installed, also ``instructcell-export export|verify|add-unsigned-int8 ...``).

Exit status: 0 success, 2 bad input or unwritable output, 3 verification failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .errors import ExportError, VerificationError

EXIT_INPUT = 2
EXIT_VERIFY = 3
#: The console script declared in ``pyproject.toml``.
SCRIPT_NAME = "instructcell-export"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=SCRIPT_NAME if Path(sys.argv[0]).name == SCRIPT_NAME else "python -m instructcell_onnx",
        description="Export InstructCell checkpoints to ONNX model packages and verify them.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export", help="write a model package (and verify it)")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="checkpoint directory written by save_pretrained")
    src.add_argument("--random-init", action="store_true", help="random weights of a preset size")
    e.add_argument("--preset", choices=["tiny", "base"], default="tiny", help="size for --random-init")
    e.add_argument("--seed", type=int, default=0, help="seed for --random-init")
    e.add_argument("--out", type=Path, required=True, help="package directory to create")
    e.add_argument("--precision", default="fp32,int8", help="comma list of fp32,int8,fp16 (fp32 always written)")
    e.add_argument("--gene-vocab", type=Path, help="gene list (.txt one per line, .json list or .npy)")
    e.add_argument(
        "--variant",
        choices=["chat", "instruct"],
        help="model variant (default: from the checkpoint directory name; 'instruct' for --random-init)",
    )
    e.add_argument("--overwrite", action="store_true", help="replace an existing package")
    _verify_options(e)

    v = sub.add_parser("verify", help="compare a package's graphs with the PyTorch model")
    v.add_argument("--package", type=Path, required=True, help="package directory")
    v.add_argument("--checkpoint", type=Path, help="checkpoint to compare with (default: the manifest's source)")
    v.add_argument("--precision", help="comma list of precisions to check (default: all in the package)")
    v.add_argument("--report", type=Path, help="also write the report as JSON here")
    _verify_options(v)

    u = sub.add_parser(
        "add-unsigned-int8", help="add the unsigned-weight int8 graphs (exact on CPUs without VNNI) to an older package"
    )
    u.add_argument("--package", type=Path, required=True, help="package directory")
    return p


def _verify_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pairs", type=int, default=20, help="prompt/cell pairs for greedy decoding (at least 20)")
    p.add_argument("--max-new-tokens", type=int, default=16, help="greedy decoding length")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime and torch threads")


def _variant_from_name(path: Path) -> str:
    name = path.resolve().name.lower()
    found = [v for v in ("chat", "instruct") if v in name]
    if len(found) != 1:
        raise ExportError(f"cannot tell the variant from '{path.name}': pass --variant chat or --variant instruct")
    return found[0]


def _load_checkpoint_bundle(directory: Path, gene_vocab: Path | None):
    from . import tokenizer as tokenization
    from .checkpoint import load_checkpoint
    from .genes import check_gene_count, checkpoint_gene_vocab, read_gene_vocab

    cfg, model = load_checkpoint(directory)
    genes = read_gene_vocab(gene_vocab) if gene_vocab else checkpoint_gene_vocab(directory)
    if genes is None:
        raise ExportError(f"no gene list in {directory}: pass --gene-vocab FILE")
    check_gene_count(genes, cfg.cell_encoder.count_dim, str(gene_vocab or directory))
    tok, tok_source = tokenization.from_checkpoint(directory, cfg)
    if tok_source == "spiece":
        extra_ids, legacy, added = tokenization.slow_tokenizer_settings(directory)
        known = {a.id for a in added}
        added += [
            tokenization.AddedSpec(i, tok.id_to_token(i))
            for i in (
                cfg.t5.pad_token_id,
                cfg.t5.eos_token_id,
                cfg.special.start_tag,
                cfg.special.end_tag,
                cfg.special.placeholder,
                *cfg.special.signal_tokens,
            )
            if i not in known
        ]
        ref = tokenization.SentencePieceReference(directory / "spiece.model", added, legacy, cfg.t5.eos_token_id)
        tokenization.check_against_slow(tok, ref)
    return cfg, model, tok, genes, tok_source


def _export(args: argparse.Namespace) -> int:
    from .exporter import export_package, parse_precisions
    from .genes import read_gene_vocab
    from .random_init import random_model

    precisions = parse_precisions(args.precision)
    if args.pairs < 20:
        raise ExportError("--pairs must be at least 20")
    start = time.time()
    if args.random_init:
        cfg, model, tok, genes = random_model(args.preset, args.seed)
        if args.gene_vocab:
            genes = read_gene_vocab(args.gene_vocab)
        source: dict[str, Any] = {"kind": "random-init", "preset": args.preset, "seed": args.seed}
        variant = args.variant or "instruct"
    else:
        cfg, model, tok, genes, tok_source = _load_checkpoint_bundle(args.checkpoint, args.gene_vocab)
        source = {"kind": "checkpoint", "path": str(args.checkpoint.resolve()), "tokenizer": tok_source}
        variant = args.variant or _variant_from_name(args.checkpoint)
    print(f"model ready in {time.time() - start:.1f}s; exporting {', '.join(precisions)} to {args.out}")
    export_package(
        args.out,
        model,
        tok,
        genes,
        variant,
        source,
        precisions,
        verify=True,
        overwrite=args.overwrite,
        n_pairs=args.pairs,
        max_new_tokens=args.max_new_tokens,
        threads=args.threads,
    )
    print(f"package written to {args.out} in {time.time() - start:.1f}s; verification passed")
    return 0


def _model_for_package(package: Path, checkpoint: Path | None):
    from .checkpoint import load_checkpoint
    from .manifest import read_manifest
    from .random_init import random_model

    source = read_manifest(package)["source"]
    if checkpoint is not None:
        return load_checkpoint(checkpoint)[1]
    if source["kind"] == "random-init":
        return random_model(source["preset"], int(source["seed"]))[1]
    return load_checkpoint(Path(source["path"]))[1]


def _summary(result: dict[str, Any]) -> str:
    lines = []
    for precision, rep in result["precisions"].items():
        lines.append(
            f"[{precision}] {'enforced' if rep['enforced'] else 'reported'}"
            + (f"  ERROR: {rep['error']}" if rep["error"] else "")
        )
        for c in rep["checks"]:
            if c["name"].startswith("graph.") and c["passed"]:
                continue
            limit = f" (limit {c['limit']:g})" if c["limit"] is not None else ""
            flag = "" if c["passed"] else "  FAILED"
            lines.append(f"  {c['name']}: {c['value']:.4g}{limit} {c['detail']}{flag}")
        graph_checks = [c for c in rep["checks"] if c["name"].startswith("graph.")]
        if graph_checks:
            worst = max(graph_checks, key=lambda c: c["value"])
            lines.append(
                f"  per-graph random inputs: {len(graph_checks)} outputs, worst {worst['name']} = {worst['value']:.3g}"
            )
        if rep["stats"]:
            lines.append(f"  {rep['stats']}")
    return "\n".join(lines)


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify_package

    if args.pairs < 20:
        raise ExportError("--pairs must be at least 20")
    model = _model_for_package(args.package, args.checkpoint)
    precisions = [p.strip() for p in args.precision.split(",")] if args.precision else None
    try:
        result = verify_package(
            args.package,
            model,
            precisions,
            n_pairs=args.pairs,
            max_new_tokens=args.max_new_tokens,
            threads=args.threads,
        )
    except VerificationError as exc:
        if exc.result:
            print(_summary(exc.result))
        raise
    print(_summary(result))
    if args.report:
        args.report.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"verification passed in {result['seconds']}s")
    return 0


def _add_unsigned(args: argparse.Namespace) -> int:
    from .int8_weights import add_unsigned

    for entry in add_unsigned(args.package):
        print(f"  {entry['file']}: {entry['bytes']} bytes")
    print(f"unsigned int8 graphs added to {args.package}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the command, map errors to exit codes."""
    args = _parser().parse_args(argv)
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(max(1, getattr(args, "threads", 1)))
    try:
        if args.command == "add-unsigned-int8":
            return _add_unsigned(args)
        return _export(args) if args.command == "export" else _verify(args)
    except VerificationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_VERIFY
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
