"""Golden fixtures for the engine's parity tests on the bundled TRAINED model (`pbmc-small`).

Loads the PyTorch checkpoint the package was exported from (``save_pretrained`` layout, written
by ``cd onnx && .venv/bin/python -m instructcell_onnx.train --out models/pbmc-small --checkpoint
../target/pbmc-small-instruct --golden-script ../tests/data/golden/make_golden_trained.py``), checks that
it is the one the package holds (token embeddings, the cell input layer, the gene list and the
generator's library prior must be identical; every package file must match its manifest
checksum) and refuses otherwise. Then, on held-out PBMCs (never seen in training) and prompts
built from the model's own templates (``instructcell_onnx.train.templates``), it records what
the Rust engine must reproduce, in the schema of ``tiny_random.json`` (see ``make_golden.py``):

  prompt text and token ids; raw counts (sparse), the preprocessed expression and the cell
  encoder output; greedy ids (cut after the first stop token) and their decoded text; beam-search
  ids (3 beams); teacher-forced logits of the first steps for one case of each task and style;
  the condition (last decoder hidden state at a signal token forced after the greedy content)
  and the generator's ZINB parameters for a fixed latent and log-library.

Every task in both answer styles: annotation without and with a choice list, drug response
(SYNTHETIC SYN-CTX labels) and generation from a cell type (no cell in the prompt), each in the
instruct (bare label) and chat (sentence) style. Each case also records its task, style, cell
barcode, expected label and the smallest top-1/top-2 logit margin along its greedy answer (a
near-tie there would make exact-id parity fragile). Regenerate with:

  PYTHONPATH=onnx onnx/.venv/bin/python tests/data/golden/make_golden_trained.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from instructcell_onnx.cell_input import input_layer
from instructcell_onnx.checkpoint import find_weight_file, load_checkpoint
from instructcell_onnx.manifest import check_files, read_manifest
from instructcell_onnx.samples import choices_text
from instructcell_onnx.tokenizer import from_checkpoint
from instructcell_onnx.train import data as D
from instructcell_onnx.train import examples as E
from instructcell_onnx.train import templates as T
from golden_common import encoder_record, stop_trim

ROOT = Path(__file__).resolve().parents[3]
MAX_NEW = 40
LOGIT_STEPS = 3
BEAMS = 3
LOG_LIBRARY = 6.5
SEED = 11

#: (task, style, with choices, template index) per case, in order. The order interleaves tasks
#: and styles so that any prefix of the list covers several of them.
CELL_CASES = [
    ("annotate", "instruct", False, 0), ("drug", "instruct", False, 0), ("annotate", "chat", False, 2),
    ("drug", "chat", False, 1), ("annotate", "instruct", True, 2), ("annotate", "chat", True, 0),
    ("annotate", "instruct", False, 6), ("drug", "instruct", True, 14), ("annotate", "instruct", True, 7),
    ("annotate", "chat", False, 10), ("drug", "chat", True, 16), ("annotate", "instruct", False, 13),
    ("annotate", "instruct", True, 13), ("drug", "instruct", False, 9), ("annotate", "chat", True, 11),
    ("annotate", "instruct", False, 19), ("drug", "chat", False, 5), ("annotate", "chat", False, 17),
]
GENERATION_CASES = [("instruct", 0), ("chat", 0), ("instruct", 2), ("chat", 8), ("instruct", 13), ("chat", 19)]


def fail(message: str) -> None:
    sys.exit(f"make_golden_trained: {message}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(checkpoint: Path, package: Path) -> tuple[str, str]:
    """Digests of the checkpoint's weights and the package manifest (which pins every package file)."""
    return sha256(find_weight_file(checkpoint)), sha256(package / "manifest.json")


def check_match(checkpoint: Path, package: Path, model: torch.nn.Module) -> dict:
    """The package's manifest after checking that ``package`` was exported from ``checkpoint``."""
    manifest = read_manifest(package)
    bad = check_files(package, manifest)
    if bad:
        fail(f"package {package} is incomplete or being rewritten: {', '.join(bad)}")
    problems = []
    emb = np.load(package / manifest["files"]["token_embeddings"]["file"], allow_pickle=False)
    if not np.array_equal(emb, model.t5.shared.weight.detach().numpy()):
        problems.append("token embeddings differ")
    fp32 = [e for e in manifest.get("cell_input", []) if e["precision"] == "fp32"]
    if not fp32:
        problems.append("no fp32 cell input layer in the package")
    else:
        layer = input_layer(model)
        weight = np.load(package / fp32[0]["weight"]["file"], allow_pickle=False)
        bias = np.load(package / fp32[0]["bias"]["file"], allow_pickle=False)
        if not (np.array_equal(weight, layer.weight.detach().numpy().T)
                and np.array_equal(bias[0], layer.bias.detach().numpy())):
            problems.append("cell input layer differs")
    vae = model.assistant.feature_decoder.base_model
    if manifest["generator"]["library_log_means"] != [float(x) for x in vae.library_log_means.flatten()]:
        problems.append("generator library prior differs")
    if (package / "genes.txt").read_text().split() != (checkpoint / "genes.txt").read_text().split():
        problems.append("gene lists differ")
    if problems:
        fail(f"the checkpoint {checkpoint} is not the one the package {package} was exported from "
             f"({'; '.join(problems)}). Re-export the package from this checkpoint (or point --checkpoint at "
             "the right one), then run this script again.")
    return manifest


def f32(values) -> list[float]:
    """Shortest decimal that reads back as the same float32 (keeps the file small)."""
    arr = np.asarray(values, dtype=np.float32).ravel()
    if not np.isfinite(arr).all():
        fail("non-finite value in a reference output")
    return [float(str(v)) for v in arr]


def pick_cells(data: D.PbmcData, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` held-out cells: one of every type first, then random others (all distinct)."""
    test = data.part("test")
    first = [int(rng.choice(test[data.labels[test] == label])) for label in data.label_set]
    rest = rng.permutation(np.setdiff1d(test, first))[: n - len(first)]
    order = np.array(first + [int(i) for i in rest])
    return order[rng.permutation(len(order))]


def check_heldout(data: D.PbmcData, cells: np.ndarray) -> None:
    """The chosen cells are held out in ``examples/data/pbmc68k_split.tsv`` too."""
    rows = (ROOT / "examples" / "data" / "pbmc68k_split.tsv").read_text().splitlines()[1:]
    split = {r.split("\t")[0]: r.split("\t")[-1] for r in rows}
    for i in cells:
        if split.get(str(data.cells[i])) != "test":
            fail(f"cell {data.cells[i]} is not held out in pbmc68k_split.tsv")


def cell_prompt(task: str, style: str, choices: bool, template: int, label: str, label_set: list[str],
                rng: np.random.Generator) -> str:
    if task == "annotate":
        pool = T.ANNOTATE_CHOICES if choices else T.ANNOTATE
        if choices:
            others = [x for x in label_set if x != label]
            k = int(rng.integers(2, len(others) + 1))
            options = [label] + [str(x) for x in rng.choice(others, size=k, replace=False)]
            rng.shuffle(options)
            text = E._fill(pool[template], rng, choices=choices_text(options))
        else:
            text = E._fill(pool[template], rng)
    else:
        if ("{choices}" in T.DRUG[template]) != choices:
            fail(f"drug template {template} does not match with-choices={choices}")
        options = list(T.DRUG_LABELS)
        rng.shuffle(options)
        text = E._fill(T.DRUG[template], rng, drug=str(rng.choice(T.DRUG_NAMES)), choices=choices_text(options))
    return E.wrap(f"{text} {rng.choice(T.CHAT_SUFFIXES)}" if style == "chat" else text)


def generation_prompt(style: str, template: int, label: str, rng: np.random.Generator) -> str:
    text = E._fill(T.GENERATE[template], rng, celltype=label)
    return E.wrap(f"{text} {rng.choice(T.CHAT_SUFFIXES)}" if style == "chat" else text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=ROOT / "target" / "pbmc-small-instruct")
    ap.add_argument("--package", type=Path, default=ROOT / "onnx" / "models" / "pbmc-small")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "golden" / "pbmc_small.json")
    args = ap.parse_args()
    checkpoint, package = args.checkpoint.resolve(), args.package.resolve()
    for path, what in ((checkpoint, "checkpoint"), (package, "package")):
        if not path.is_dir():
            fail(f"no {what} at {path}")
    torch.set_num_threads(2)
    before = fingerprint(checkpoint, package)
    cfg, model = load_checkpoint(checkpoint)
    tok, _ = from_checkpoint(checkpoint, cfg)
    manifest = check_match(checkpoint, package, model)
    package_tok = Tokenizer.from_file(str(package / manifest["files"]["tokenizer"]["file"]))
    stop = [cfg.t5.eos_token_id, cfg.special.first_signal]
    stop_set = set(stop)
    start = [cfg.decoder_start_token_id]

    data = D.load()
    drug_labels, _ = D.synthetic_drug_labels(data)
    labels = data.label_set
    rng = np.random.default_rng(SEED)
    cells = pick_cells(data, len(CELL_CASES), rng)
    check_heldout(data, cells)

    specs = []
    for (task, style, choices, template), cell in zip(CELL_CASES, cells):
        label = str(data.labels[cell] if task == "annotate" else drug_labels[cell])
        prompt = cell_prompt(task, style, choices, template, str(data.labels[cell]), labels, rng)
        specs.append({"task": task, "style": style, "choices": choices, "cell": int(cell), "label": label,
                      "prompt": prompt})
    for k, (style, template) in enumerate(GENERATION_CASES):
        label = labels[(3 * k + 1) % len(labels)]
        specs.insert(3 + 4 * k, {"task": "generate", "style": style, "choices": False, "cell": None, "label": label,
                                 "prompt": generation_prompt(style, template, label, rng)})

    cases, logged = [], set()
    z_rng = np.random.default_rng(SEED + 1)
    with torch.inference_mode():
        for spec in specs:
            text = spec["prompt"]
            ids = tok.encode(text).ids
            if package_tok.encode(text).ids != ids:
                fail(f"the package tokenizer and the checkpoint tokenizer disagree on {text!r}")
            tid = torch.tensor([ids])
            mask = torch.ones_like(tid)
            case = {"task": spec["task"], "style": spec["style"], "choices": spec["choices"],
                    "label": spec["label"], "prompt": text, "ids": ids}
            if spec["cell"] is not None:
                counts = data.counts[spec["cell"]]
                expr = model.preprocess(torch.from_numpy(counts[None]))
                emb = model.encode_cells(expr)
                embeds, emask = model.splice(tid, mask, emb)
                nz = np.flatnonzero(counts)
                case["cell"] = str(data.cells[spec["cell"]])
                case["counts"] = {"indices": nz.tolist(), "values": [int(v) for v in counts[nz]]}
                case["expression"] = f32(expr[0])
                case["cell_embeddings"] = f32(emb[0])
            else:
                embeds, emask = model.t5.shared(tid), mask
            case.update(encoder_record(model, embeds, emask))
            greedy = stop_trim(model.generate_ids(embeds, emask, MAX_NEW)[0].tolist(), stop_set)
            content = [t for t in greedy if t not in stop_set]
            case["greedy"] = greedy
            case["text"] = tok.decode(content, skip_special_tokens=True)
            beam = model.t5.generate(inputs_embeds=embeds, attention_mask=emask, do_sample=False, num_beams=BEAMS,
                                     max_new_tokens=MAX_NEW, eos_token_id=stop, pad_token_id=cfg.t5.pad_token_id,
                                     decoder_start_token_id=cfg.decoder_start_token_id)[0].tolist()
            case["beam3"] = stop_trim(beam, stop_set)
            logits, _ = model.teacher_forced(embeds, emask, torch.tensor([start + greedy[:-1]]))
            top2 = logits[0].topk(2, dim=-1).values
            margins = (top2[:, 0] - top2[:, 1]).tolist()
            case["greedy_min_margin"] = round(min(margins), 6)
            if (spec["task"], spec["style"]) not in logged and len(greedy) >= LOGIT_STEPS:
                logged.add((spec["task"], spec["style"]))
                case["logits"] = f32(logits[0, :LOGIT_STEPS])
            # Condition at a signal token forced after the greedy content (for generation prompts
            # this is the model's own answer), then the generator on it.
            forced = content + [cfg.special.first_signal]
            _, hidden = model.teacher_forced(embeds, emask, torch.tensor([start + forced]))
            cond = hidden[0, -1]
            z = z_rng.standard_normal((1, cfg.generator.n_latent)).astype(np.float32)
            lib = np.array([[LOG_LIBRARY]], np.float32)
            mu, theta, zi = model.generator_params(cond[None], torch.from_numpy(z), torch.from_numpy(lib))
            case["signal_sequence"] = forced
            case["condition"] = f32(cond)
            case["z"] = f32(z[0])
            case["log_library"] = LOG_LIBRARY
            case["mu"] = f32(mu[0])
            case["theta"] = f32(theta[0])
            case["zi_logits"] = f32(zi[0])
            cases.append(case)

    if fingerprint(checkpoint, package) != before:
        fail("the checkpoint or the package changed while this script ran; run it again")
    try:
        where = str(package.relative_to(ROOT))
    except ValueError:
        where = str(package)
    # The embeddings' digest identifies the weights: the tests refuse a package it does not match.
    golden = {"package": where, "token_embeddings_sha256": manifest["files"]["token_embeddings"]["sha256"],
              "checkpoint_sha256": before[0], "max_new_tokens": MAX_NEW, "logit_steps": LOGIT_STEPS, "stop": stop,
              "cases": cases}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    tmp.replace(args.out)

    kinds: dict[str, int] = {}
    for c in cases:
        key = f"{c['task']}/{c['style']}" + ("+choices" if c["choices"] else "")
        kinds[key] = kinds.get(key, 0) + 1
    print(f"{len(cases)} cases written to {args.out} ({args.out.stat().st_size} bytes)")
    print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())))
    for i, c in enumerate(cases):
        hit = "" if c["task"] == "generate" else (" ok" if c["label"] in c["text"] else " WRONG")
        flag = "  NEAR-TIE" if c["greedy_min_margin"] < 1e-2 else ""
        print(f"  {i:2d} {c['task']:8s} {c['style']:8s} margin {c['greedy_min_margin']:8.4f}{flag} "
              f"{c['text']!r} (expected {c['label']!r}){hit}")


if __name__ == "__main__":
    main()
