"""Golden fixtures for the engine's parity tests, from the PyTorch reference.

Exports the seeded random `tiny` package into tests/data/tiny-random/ (fp32 + int8), then runs the
PyTorch model (transformers' T5 `generate`) on fixed prompt/cell pairs and records what the Rust
engine must reproduce:

  prompt token ids; the preprocessed expression; the cell encoder output; greedy ids; beam-search
  ids (3 beams); teacher-forced logits of the first steps; the condition (last decoder hidden state
  at a signal token forced after the greedy answer); the generator's ZINB parameters for a fixed
  latent and log-library.

Random weights: outputs are meaningless text; they exist to prove the engine computes the same
thing as the reference. Regenerate with:

  PYTHONPATH=onnx onnx/.venv/bin/python tests/data/golden/make_golden.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from instructcell_onnx.random_init import random_model
from instructcell_onnx.samples import PROMPT_WRAPPER, make_pairs
from golden_common import encoder_record, stop_trim

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "tests" / "data" / "tiny-random"
OUT = Path(__file__).resolve().parent / "tiny_random.json"
MAX_NEW = 16
N_CELL_PAIRS = 24
LOGIT_STEPS = 3
LOGIT_PAIRS = 4


def export() -> None:
    # The tiny preset takes 300 genes: use the first 300 of the bundled PBMC store, so that the
    # examples can run the whole pipeline (store → alignment → model) on real cells.
    genes = (ROOT / "examples" / "data" / "pbmc68k_genes.txt").read_text().split()[:300]
    with tempfile.TemporaryDirectory() as tmp:
        vocab = Path(tmp) / "genes.txt"
        vocab.write_text("\n".join(genes) + "\n")
        cmd = [sys.executable, "-m", "instructcell_onnx", "export", "--random-init", "--preset", "tiny", "--seed",
               "0", "--out", str(PACKAGE), "--precision", "fp32,int8,fp16", "--overwrite", "--gene-vocab", str(vocab)]
        subprocess.run(cmd, check=True, cwd=ROOT)
    # The verification report is large and records timings; the tests do not need it.
    (PACKAGE / "verification.json").unlink(missing_ok=True)


def main() -> None:
    export()
    torch.set_num_threads(2)
    cfg, model, tok, _genes = random_model("tiny", 0)
    stop = [cfg.t5.eos_token_id, cfg.special.first_signal]
    pairs = make_pairs(cfg, N_CELL_PAIRS, seed=7)
    texts = ["Name three genes that mark {species} B cells.", "Write a short note about {tissue}.",
             "Generate a {species} T cell from {tissue}.", "What does a drug screen measure?"]
    no_cell = [PROMPT_WRAPPER.format(prompt=t.format(species="human", tissue="lung")) for t in texts]
    cases = []
    rng = np.random.default_rng(3)
    with torch.inference_mode():
        for i, p in enumerate(pairs + [None] * len(no_cell)):
            text = p.prompt if p is not None else no_cell[i - len(pairs)]
            ids = tok.encode(text).ids
            tid = torch.tensor([ids])
            mask = torch.ones_like(tid)
            case = {"prompt": text, "ids": ids}
            if p is not None:
                counts = torch.from_numpy(p.counts[None])
                expr = model.preprocess(counts)
                cells = model.encode_cells(expr)
                embeds, emask = model.splice(tid, mask, cells)
                nz = np.flatnonzero(p.counts)
                case["counts"] = {"indices": nz.tolist(), "values": p.counts[nz].tolist()}
                case["expression"] = expr[0].tolist()
                case["cell_embeddings"] = cells[0].flatten().tolist()
            else:
                embeds, emask = model.t5.shared(tid), mask
            case.update(encoder_record(model, embeds, emask))
            greedy = model.generate_ids(embeds, emask, MAX_NEW)[0].tolist()
            case["greedy"] = stop_trim(greedy, set(stop))
            beam = model.t5.generate(inputs_embeds=embeds, attention_mask=emask, do_sample=False, num_beams=3,
                                     max_new_tokens=MAX_NEW, eos_token_id=stop, pad_token_id=cfg.t5.pad_token_id,
                                     decoder_start_token_id=cfg.decoder_start_token_id)[0].tolist()
            case["beam3"] = stop_trim(beam, set(stop))
            start = [cfg.decoder_start_token_id]
            if i < LOGIT_PAIRS:
                seq = torch.tensor([start + case["greedy"][:LOGIT_STEPS - 1]])
                logits, _ = model.teacher_forced(embeds, emask, seq)
                case["logits"] = logits[0, :LOGIT_STEPS].flatten().tolist()
            # Condition at a signal token forced after the greedy content, as if the model had asked
            # for a cell there; then the generator on it.
            content = [t for t in case["greedy"] if t not in stop]
            forced = content + [cfg.special.first_signal]
            _, hidden = model.teacher_forced(embeds, emask, torch.tensor([start + forced]))
            cond = hidden[0, -1]
            z = rng.standard_normal((1, cfg.generator.n_latent)).astype(np.float32)
            lib = np.array([[7.5]], np.float32)
            mu, theta, zi = model.generator_params(cond[None], torch.from_numpy(z), torch.from_numpy(lib))
            case["signal_sequence"] = forced
            case["condition"] = cond.tolist()
            case["z"] = z[0].tolist()
            case["log_library"] = 7.5
            case["mu"] = mu[0].tolist()
            case["theta"] = theta[0].tolist()
            case["zi_logits"] = zi[0].tolist()
            cases.append(case)
    golden = {"package": "tests/data/tiny-random", "max_new_tokens": MAX_NEW, "logit_steps": LOGIT_STEPS,
              "stop": stop, "cases": cases}
    OUT.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"{len(cases)} cases written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
