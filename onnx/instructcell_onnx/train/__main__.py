"""``python -m instructcell_onnx.train``: train, save the checkpoint, export + verify, evaluate.

Every location is an argument: the package directory (``--out``), the checkpoint directory
(``--checkpoint``) and, optionally, the golden-fixture script to run on the result
(``--golden-script``). From ``onnx/`` in a checkout of the repository, this reproduces the
committed ``models/pbmc-small`` package and regenerates the Rust golden fixtures of that package::

    .venv/bin/python -m instructcell_onnx.train --out models/pbmc-small \
        --checkpoint ../target/pbmc-small-instruct \
        --golden-script ../tests/data/golden/make_golden_trained.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m instructcell_onnx.train", description=__doc__.splitlines()[0])
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="package directory (replaced); the repository's is onnx/models/pbmc-small",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        help="where the trained checkpoint is saved (save_pretrained layout); the repository's "
        "golden-fixture script expects target/pbmc-small-instruct",
    )
    p.add_argument(
        "--golden-script",
        type=Path,
        default=None,
        help="golden-fixture script run on the new checkpoint and package afterwards (the repository's "
        "tests/data/golden/make_golden_trained.py); without it no fixtures are regenerated",
    )
    p.add_argument("--epochs", type=int, default=None, help="override the number of epochs (joint phase)")
    p.add_argument(
        "--generator-steps",
        type=int,
        default=None,
        help="override the number of steps of the generator-only phase (0 skips it)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=1, help="torch and ONNX Runtime threads (results were produced with 1)"
    )
    p.add_argument("--skip-train", action="store_true", help="export and evaluate an existing --checkpoint")
    p.add_argument("--skip-fixtures", action="store_true", help="do not run --golden-script afterwards")
    return p


def _check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse missing inputs before spending minutes on training."""
    if args.skip_train and not args.checkpoint.is_dir():
        p.error(f"--skip-train needs an existing --checkpoint: no directory {args.checkpoint}")
    if args.golden_script is not None and not args.skip_fixtures and not args.golden_script.is_file():
        p.error(f"--golden-script: no file {args.golden_script}")


def _fixtures(args: argparse.Namespace, log) -> int:
    """Run the golden-fixture script (``--golden-script``) on the new checkpoint and package."""
    import subprocess

    if args.skip_fixtures or args.golden_script is None:
        log("golden fixtures not regenerated" + ("" if args.skip_fixtures else " (no --golden-script)"))
        return 0
    script = args.golden_script.resolve()
    # The script imports instructcell_onnx: give it this process's import path, so that it runs this very code.
    import_path = [os.path.abspath(entry) for entry in sys.path]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(import_path)}
    cmd = [
        sys.executable,
        str(script),
        "--checkpoint",
        str(args.checkpoint.resolve()),
        "--package",
        str(args.out.resolve()),
    ]
    log(f"regenerating golden fixtures with {script} ...")
    return subprocess.run(cmd, env=env, cwd=script.parent).returncode


def _train(args: argparse.Namespace, log) -> dict[str, object]:
    from .. import tokenizer as tokenization
    from . import data as D
    from . import examples as E
    from . import setup as S
    from . import vocab as V
    from .generator_phase import condition_bank, train_generator
    from .loop import TrainSettings, train

    pbmc = D.load()
    drug_labels, threshold = D.synthetic_drug_labels(pbmc)
    tok = V.train_tokenizer(E.tokenizer_corpus(pbmc.label_set, np.random.default_rng(args.seed)), 1000)
    raw = S.raw_config(tok.get_vocab_size(with_added_tokens=True), len(pbmc.genes))
    cfg, model = S.build_model(raw, args.seed)
    tokenization.add_cell_tokens(tok, cfg)
    settings = TrainSettings(seed=args.seed)
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.generator_steps is not None:
        settings.generator_steps = args.generator_steps
    stats = train(model, tok, pbmc, drug_labels, settings, log)
    if settings.generator_steps > 0:
        t = time.time()
        bank = condition_bank(
            model,
            tok,
            pbmc,
            settings.generator_prompts_per_type,
            settings.chat_fraction,
            np.random.default_rng([settings.seed, 2]),
        )
        stats["generator_phase"] = train_generator(
            model,
            bank,
            pbmc,
            settings.generator_steps,
            settings.generator_batch_size,
            settings.generator_lr,
            settings.generator_kl_weight,
            settings.weight_decay,
            settings.seed + 2,
            log,
        )
        stats["generator_phase"]["seconds_with_conditions"] = round(time.time() - t, 1)
    log_lib = np.log(pbmc.counts[pbmc.part("train")].sum(axis=1))
    vae = model.assistant.feature_decoder.base_model
    with torch.no_grad():
        vae.library_log_means.fill_(float(log_lib.mean()))
        vae.library_log_vars.fill_(float(log_lib.var()))
    S.save_checkpoint(args.checkpoint, raw, model, tok, pbmc.genes)
    params = sum(p.numel() for p in model.parameters())
    return {
        **stats,
        "parameters": params,
        "settings": vars(settings),
        "drug_threshold": round(threshold, 4),
        "tokenizer_size": tok.get_vocab_size(with_added_tokens=True),
    }


def _add_label_sets(out: Path, cell_types: list[str]) -> None:
    """Record the label sets the model was trained to answer with in its manifest (the engine's
    default label sets; the package checksums cover the files the manifest names, not itself).

    Scored probabilities are calibrated afterwards, on cells never seen in training:
    ``cargo run --release --example calibrate -- PACKAGE STORE --write``."""
    from .templates import DRUG_LABELS

    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["label_sets"] = {"cell_type": list(cell_types), "drug_response": list(DRUG_LABELS)}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Run the whole pipeline; exit status as ``python -m instructcell_onnx export``."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    import transformers

    from ..cli import main as cli_main
    from . import data as D
    from .evaluate import evaluate_package

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    start = time.time()
    report: dict[str, object] = {}
    if not args.skip_train:
        report["training"] = _train(args, log)
    else:  # keep the record of how the existing checkpoint was trained
        previous = args.out / "metrics.json"
        if previous.is_file():
            training = json.loads(previous.read_text(encoding="utf-8")).get("training")
            if training is not None:
                report["training"] = training
    card = args.out / "README.md"
    card_text = card.read_text(encoding="utf-8") if card.is_file() else None
    t = time.time()
    rc = cli_main(
        [
            "export",
            "--checkpoint",
            str(args.checkpoint),
            "--out",
            str(args.out),
            "--precision",
            "fp32,int8",
            "--variant",
            "instruct",
            "--overwrite",
            "--threads",
            str(args.threads),
        ]
    )
    if rc != 0:
        return rc
    report["export_seconds"] = round(time.time() - t, 1)
    pbmc = D.load()
    _add_label_sets(args.out, pbmc.label_set)
    if card_text is not None:  # the model card is hand-written; export replaces the directory
        card.write_text(card_text, encoding="utf-8")
    drug_labels, _ = D.synthetic_drug_labels(pbmc)
    t = time.time()
    report["heldout"] = {p: evaluate_package(args.out, pbmc, drug_labels, p, args.threads) for p in ("fp32", "int8")}
    report["evaluation_seconds"] = round(time.time() - t, 1)
    report["total_seconds"] = round(time.time() - start, 1)
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log(
        json.dumps(
            {
                p: {k: v for k, v in r.items() if k != "generation"}
                | {"generation": {k: v for k, v in r["generation"].items() if k != "per_type"}}
                for p, r in report["heldout"].items()
            },
            indent=1,
        )
    )
    return _fixtures(args, log)


if __name__ == "__main__":
    sys.exit(main())
