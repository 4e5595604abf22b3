"""Reference outputs of the Hugging Face logits warpers on fixed score rows.

For each configuration (temperature, top-k, top-p) and each row, records the processed scores
(`-inf` written as null) of transformers' TemperatureLogitsWarper → TopKLogitsWarper →
TopPLogitsWarper — the order `generate` applies them. The Rust processors must reproduce them.

Run: PYTHONPATH=onnx onnx/.venv/bin/python tests/data/golden/make_processors.py
"""

import json
import math
from pathlib import Path

import numpy as np
import torch
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

OUT = Path(__file__).resolve().parent / "processors.json"


def main() -> None:
    rng = np.random.default_rng(5)
    rows = [rng.standard_normal(40).astype(np.float32) * s for s in (0.5, 1.0, 3.0)]
    rows.append(np.array([2.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.0, -1.0], dtype=np.float32))  # ties
    configs = [(1.0, 0, 1.0), (0.7, 0, 1.0), (1.0, 5, 1.0), (1.0, 0, 0.9), (1.0, 0, 0.5),
               (1.3, 10, 0.95), (0.5, 3, 0.8), (1.0, 1, 1.0), (2.0, 0, 0.3), (1.0, 2, 1.0)]
    cases = []
    for temperature, top_k, top_p in configs:
        for row in rows:
            scores = torch.from_numpy(row[None].copy())
            ids = torch.zeros((1, 1), dtype=torch.long)
            if temperature != 1.0:
                scores = TemperatureLogitsWarper(temperature)(ids, scores)
            if top_k > 0:
                scores = TopKLogitsWarper(top_k)(ids, scores)
            if top_p < 1.0:
                scores = TopPLogitsWarper(top_p)(ids, scores)
            out = [None if math.isinf(v) else v for v in scores[0].tolist()]
            cases.append({"temperature": temperature, "top_k": top_k, "top_p": top_p,
                          "scores": row.tolist(), "expected": out})
    OUT.write_text(json.dumps({"cases": cases}) + "\n")
    print(f"{len(cases)} cases written")


if __name__ == "__main__":
    main()
