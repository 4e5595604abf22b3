"""End-to-end annotation of a store: `instructcell annotate` next to the per-cell PyTorch loop.

Both sides annotate the same synthetic store (default 2,000 cells x 30,000 genes, ~8 % of values
non-zero, integer counts, zarr v2 written by anndata; the package's genes are among its genes, in
another order) with the full-size random-weight package
(`python -m instructcell_onnx export --random-init --preset base`), 10 labels, on the same threads:

* engine: `instructcell annotate --mode constrained` (read -> align -> preprocess -> encode ->
  constrained decode -> write a new store), fp32 and int8, batches of 16, run under
  `/usr/bin/time -v`: wall time of the whole process (model load and write-back included), peak RSS,
  and the split the tool logs (time in the model's graphs vs the rest);
* reference: what users run today: anndata reads the store, then one predict-style call per cell
  (align the row to the vocabulary, normalise + log1p, encode the cell, splice it into the prompt,
  greedy `generate` in PyTorch, decode, find the label), in a child process under `/usr/bin/time -v`.
  Its answers get as many new tokens as the longest label needs (what constrained decoding needs at
  most), so it does no more decoding than the engine. It is timed on the first `--reference-cells`
  cells (its rate does not depend on the cell).

Run (needs anndata in the exporter's environment: `onnx/.venv/bin/pip install anndata==0.12.19`):
  cargo build --release --bin instructcell
  PYTHONPATH=onnx onnx/.venv/bin/python benches/e2e_annotate.py --package target/models/base
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "instructcell"
LABELS = ["CD14+ Monocyte", "CD19+ B", "CD34+", "CD4+/CD25 T Reg", "CD4+/CD45RA+/CD25- Naive T",
          "CD4+/CD45RO+ Memory", "CD56+ NK", "CD8+ Cytotoxic T", "CD8+/CD45RA+ Naive Cytotoxic", "Dendritic"]
TEMPLATE = "Which cell type is this cell? {input} Choose one of {choices}."


def make_store(path: Path, genes: list[str], n_cells: int, n_genes: int, density: float, seed: int) -> None:
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    names = list(genes) + [f"EXTRA{i:05d}" for i in range(max(0, n_genes - len(genes)))]
    names = [names[i] for i in rng.permutation(len(names))]
    nnz_per_cell = rng.binomial(len(names), density, n_cells)
    indptr = np.concatenate([[0], np.cumsum(nnz_per_cell)]).astype(np.int64)
    indices = np.concatenate([np.sort(rng.choice(len(names), k, replace=False)) for k in nnz_per_cell]).astype(np.int32)
    data = (1 + rng.geometric(0.4, indptr[-1]) - 1).astype(np.float32)
    x = sp.csr_matrix((data, indices, indptr), shape=(n_cells, len(names)))
    a = ad.AnnData(X=x, obs=pd.DataFrame(index=[f"cell{i}" for i in range(n_cells)]),
                   var=pd.DataFrame(index=names))
    a.write_zarr(path)


def timed(cmd: list[str]) -> tuple[str, str, float, float]:
    """Runs `cmd` under /usr/bin/time -v: (stdout, stderr, wall seconds, peak RSS in MB)."""
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    return out.stdout, out.stderr, wall, rss


def engine(package: Path, store: Path, precision: str, threads: int, out: Path) -> dict:
    _, err, wall, rss = timed([str(BIN), "annotate", "--model", str(package), "--input", str(store),
                            "--labels", ",".join(LABELS), "--mode", "constrained", "--precision", precision,
                            "--threads", str(threads), "--batch-size", "16", "--output", str(out), "--overwrite"])
    m = re.search(r"answered (\d+) cells in ([\d.]+) s .*model ([\d.]+) s, reading and preprocessing outside "
                  r"the model ([\d.]+) s", err)
    n, task, model, rest = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
    return {"side": f"engine {precision}", "cells": n, "wall_s": wall, "cells_per_s": n / wall,
            "task_cells_per_s": n / task, "peak_rss_mb": rss, "inference_s": model, "io_preprocess_s": rest,
            "other_s": wall - task}


def reference(package: Path, store: Path, cells: int, threads: int) -> None:
    """The child process: the per-cell PyTorch loop; prints one JSON line."""
    import anndata as ad
    import torch

    from instructcell_onnx.random_init import random_model

    torch.set_num_threads(threads)
    manifest = json.loads((package / "manifest.json").read_text())
    src = manifest["source"]
    cfg, model, tok, _ = random_model(src["preset"], int(src["seed"]))
    model.eval()
    genes = (package / manifest["files"]["genes"]["file"]).read_text().split("\n")[: cfg.cell_encoder.count_dim]
    p = manifest["prompt"]
    choices = p["choices"]["open"] + p["choices"]["separator"].join(LABELS) + p["choices"]["close"]
    text = p["wrapper"].replace("{prompt}", TEMPLATE.replace("{input}", p["cell_text"]).replace("{choices}", choices))
    ids = torch.tensor([tok.encode(text).ids])
    max_new = 1 + max(len(tok.encode(label, add_special_tokens=False).ids) for label in LABELS)
    stop = [cfg.t5.eos_token_id, cfg.special.first_signal]
    t0 = time.perf_counter()
    adata = ad.read_zarr(store)
    position = {g: i for i, g in enumerate(adata.var_names)}
    cols = np.array([position.get(g, -1) for g in genes])
    io_s = time.perf_counter() - t0
    pre_s = infer_s = 0.0
    found = 0
    for i in range(cells):
        t = time.perf_counter()
        row = adata.X[i].toarray()[0]
        counts = np.where(cols >= 0, row[np.maximum(cols, 0)], 0).astype(np.float32)
        with torch.inference_mode():
            expr = model.preprocess(torch.from_numpy(counts[None]))
            t1 = time.perf_counter()
            emb, mask = model.splice(ids, torch.ones_like(ids), model.encode_cells(expr))
            out = model.t5.generate(inputs_embeds=emb, attention_mask=mask, do_sample=False, num_beams=1,
                                    max_new_tokens=max_new, eos_token_id=stop, pad_token_id=cfg.t5.pad_token_id,
                                    decoder_start_token_id=cfg.decoder_start_token_id)
        answer = tok.decode(out[0].tolist(), skip_special_tokens=True)
        found += any(label.lower() in answer.lower() for label in LABELS)
        t2 = time.perf_counter()
        pre_s += t1 - t
        infer_s += t2 - t1
    total = time.perf_counter() - t0
    print(json.dumps({"cells": cells, "loop_s": total, "io_s": io_s, "preprocess_s": pre_s, "inference_s": infer_s,
                      "max_new_tokens": max_new, "labels_found": found}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", type=Path, required=True)
    ap.add_argument("--cells", type=int, default=2000)
    ap.add_argument("--genes", type=int, default=30000)
    ap.add_argument("--density", type=float, default=0.08)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference-cells", type=int, default=100)
    ap.add_argument("--store", type=Path, default=ROOT / "target" / "bench" / "e2e_2000x30k.zarr")
    ap.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference_only:
        reference(args.package, args.store, args.reference_cells, args.threads)
        return
    manifest = json.loads((args.package / "manifest.json").read_text())
    genes = (args.package / manifest["files"]["genes"]["file"]).read_text().split()
    if not args.store.exists():
        args.store.parent.mkdir(parents=True, exist_ok=True)
        t = time.time()
        make_store(args.store, genes, args.cells, args.genes, args.density, 0)
        print(f"store {args.store} written in {time.time() - t:.0f} s")
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "target") as tmp:
        for precision in ("fp32", "int8"):
            rows.append(engine(args.package, args.store, precision, args.threads, Path(tmp) / f"out-{precision}.zarr"))
            print(json.dumps(rows[-1]), flush=True)
    std, _, wall, rss = timed([sys.executable, __file__, "--package", str(args.package), "--store",
                               str(args.store), "--reference-cells", str(args.reference_cells), "--threads",
                               str(args.threads), "--reference-only"])
    ref = json.loads(std.strip().splitlines()[-1])
    n = ref["cells"]
    per_cell = ref["loop_s"] - ref["io_s"]
    rows.append({"side": "PyTorch, one call per cell", "cells": n, "wall_s": wall,
                 "cells_per_s": n / per_cell, "task_cells_per_s": n / per_cell, "peak_rss_mb": rss,
                 "inference_s": ref["inference_s"], "io_preprocess_s": ref["io_s"] + ref["preprocess_s"],
                 "other_s": wall - ref["loop_s"]})
    print(json.dumps(rows[-1] | {"max_new_tokens": ref["max_new_tokens"], "labels_found": ref["labels_found"]}))
    print(f"\n{args.cells} cells x {args.genes} genes, {args.threads} threads; reference timed on {n} cells")
    print("| run | cells/s (whole process) | cells/s (annotation) | peak RSS (MB) | inference (s) "
          "| reading + preprocessing outside inference (s) | load, write, rest (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        whole = f"{r['cells'] / r['wall_s']:.2f}"
        print(f"| {r['side']} | {whole} | {r['task_cells_per_s']:.2f} | {r['peak_rss_mb']:.0f} "
              f"| {r['inference_s']:.1f} | {r['io_preprocess_s']:.1f} | {r['other_s']:.1f} |")
    base = rows[-1]["task_cells_per_s"]
    for r in rows[:-1]:
        print(f"{r['side']}: {r['task_cells_per_s'] / base:.1f}x the per-cell PyTorch loop")


if __name__ == "__main__":
    main()
