"""The engine next to the PyTorch reference, in one run, on a full-size random-weight package.

1. Parity: greedy decoding of >= 20 prompt/cell pairs by PyTorch (transformers `generate`) and by
   the Rust engine (examples/engine_bench.rs, fp32 graphs) must agree token for token.
2. Speed on this machine's threads: cells/s for batch 1 and 16 with 5 and 40 forced new tokens and
   prompts of 97 encoder positions after splicing (cell encoder + text encoder + decoding, cells
   given as preprocessed expression), for PyTorch and for the engine (fp32, and int8 in both
   weight encodings: signed is exact only on CPUs with VNNI, unsigned everywhere).

The package must come from `python -m instructcell_onnx export --random-init --preset base`
(its manifest names the seed, so the same weights are rebuilt here).

Run (after `cargo build --release --example engine_bench`):
  PYTHONPATH=onnx onnx/.venv/bin/python benches/compare_engine.py --package target/models/base
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from instructcell_onnx.int8_weights import preferred_weights
from instructcell_onnx.random_init import random_model
from instructcell_onnx.samples import make_pairs

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "examples" / "engine_bench"


def engine(*args: str) -> str:
    out = subprocess.run([str(BIN), *args], check=True, capture_output=True, text=True)
    return out.stdout


def parity(model, tok, package: Path, pairs: int, max_new: int, threads: int) -> tuple[int, int]:
    cfg = model.cfg
    stop = {cfg.t5.eos_token_id, cfg.special.first_signal}
    cases, reference = [], []
    with torch.inference_mode():
        for p in make_pairs(cfg, pairs, seed=11):
            ids = torch.tensor([tok.encode(p.prompt).ids])
            expr = model.preprocess(torch.from_numpy(p.counts[None]))
            embeds, mask = model.splice(ids, torch.ones_like(ids), model.encode_cells(expr))
            seq = model.generate_ids(embeds, mask, max_new)[0].tolist()[1:]
            for i, t in enumerate(seq):
                if t in stop:
                    seq = seq[: i + 1]
                    break
            reference.append(seq)
            cases.append({"prompt": p.prompt, "expression": expr[0].tolist()})
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps({"max_new_tokens": max_new, "cases": cases}))
        engine("parity", str(package), "fp32", str(threads), str(src), str(dst))
        got = json.loads(dst.read_text())
    same = sum(int(a == b) for a, b in zip(got, reference))
    distinct = len({tuple(r) for r in reference})
    print(f"parity: {same}/{len(reference)} prompts token-identical ({distinct} distinct reference outputs)")
    return same, len(reference)


def torch_speed(model, tok, positions: int, new_tokens: int, batch: int, cells: int) -> float:
    cfg = model.cfg
    q = cfg.cell_encoder.num_query_tokens
    cell = cfg.special.texts["start_tag"] + cfg.special.texts["placeholder"] + cfg.special.texts["end_tag"]
    words = ["which", "cell", "type", "is", "this", "human", "blood", "sample"]
    body, i = f"Cell {cell}.", 0
    while True:
        text = f"User:\n{body}\n\nAssistant:\n"
        n = len(tok.encode(text).ids) - 1 + q
        if n >= positions:
            break
        body += " " + words[i % len(words)]
        i += 1
    ids = tok.encode(text).ids
    rng = np.random.default_rng(1)
    genes = cfg.cell_encoder.count_dim
    expr = np.where(rng.random((cells, genes)) < 0.1, rng.random((cells, genes)) * 5, 0).astype(np.float32)

    def run(lo: int, hi: int) -> None:
        tid = torch.tensor([ids] * (hi - lo))
        with torch.inference_mode():
            emb, mask = model.splice(tid, torch.ones_like(tid), model.encode_cells(torch.from_numpy(expr[lo:hi])))
            model.t5.generate(inputs_embeds=emb, attention_mask=mask, do_sample=False, num_beams=1,
                              min_new_tokens=new_tokens, max_new_tokens=new_tokens,
                              eos_token_id=[cfg.t5.eos_token_id, cfg.special.first_signal],
                              pad_token_id=cfg.t5.pad_token_id, decoder_start_token_id=cfg.decoder_start_token_id)

    run(0, min(batch, cells))
    start = time.perf_counter()
    for lo in range(0, cells, batch):
        run(lo, min(lo + batch, cells))
    return cells / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--skip-torch-speed", action="store_true")
    ap.add_argument("--tie-margin", type=float,
                    help="also time int8 whose near-ties under this many nats are re-decided in fp32 "
                         "(random weights: nearly every answer is a near-tie, so this is the worst case)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    manifest = json.loads((args.package / "manifest.json").read_text())
    src = manifest["source"]
    if src.get("kind") != "random-init":
        raise SystemExit("this comparison rebuilds the weights from the manifest's random-init seed")
    t = time.time()
    cfg, model, tok, _ = random_model(src["preset"], int(src["seed"]))
    print(f"reference model rebuilt in {time.time() - t:.0f} s")
    same, total = parity(model, tok, args.package, args.pairs, 16, args.threads)
    rows = []
    for batch, cells in [(1, 6), (16, 32)]:
        for new in (5, 40):
            line = {"batch": batch, "new_tokens": new}
            if not args.skip_torch_speed:
                line["pytorch"] = torch_speed(model, tok, 97, new, batch, cells)
            precisions = ["fp32", "int8-signed", "int8-unsigned"]
            if args.tie_margin is not None:
                precisions.append(f"int8+ties={args.tie_margin}")
            for precision in precisions:
                out = json.loads(engine("speed", str(args.package), precision, str(args.threads), "97", str(new),
                                        str(batch), str(cells)))
                line[precision] = out["cells_per_s"]
                if "+ties=" in precision:
                    line["redecided"] = f"{out['redecided']}/{cells}"
            rows.append(line)
            print(json.dumps(line))
    exact = preferred_weights()
    print(f"\n{'batch':>5} {'new':>4} {'PyTorch':>9} {'engine fp32':>12} {'int8 signed':>12} {'int8 unsigned':>14}"
          f" (cells/s, {args.threads} threads; int8 as loaded by default here: {exact})")
    for r in rows:
        pt = f"{r['pytorch']:.2f}" if "pytorch" in r else "-"
        ties = "".join(f"  {k}: {v:.2f} ({r['redecided']} re-decided)" for k, v in r.items() if "+ties=" in k)
        print(f"{r['batch']:>5} {r['new_tokens']:>4} {pt:>9} {r['fp32']:>12.2f} {r['int8-signed']:>12.2f}"
              f" {r['int8-unsigned']:>14.2f}{ties}")
    if same != total:
        raise SystemExit(f"parity failed: {total - same} of {total} prompts differ")


if __name__ == "__main__":
    main()
