"""Cross-check a package against the original InstructCell code (optional, manual).

Three steps, because the original code needs transformers 4.x and this project uses 5.x:

  1. (this project's venv)   python tools/crosscheck_original.py make WORKDIR [N_GENES N_LATENT]
  2. (a venv with transformers==4.46.3, "tokenizers<0.21", torch, sentencepiece, protobuf,
      and the original repository's mmllm/ and scvi/ folders on PYTHONPATH)
                             python tools/crosscheck_original.py original WORKDIR CHECKPOINT
  3. (this project's venv)   python tools/crosscheck_original.py compare WORKDIR PACKAGE

Step 2 runs the original tokenizer, splicing, greedy ``generate``, signal-token condition
and ZINB generative pass; step 3 runs the same inputs through the package's ONNX graphs and
prints how many token sequences agree and the largest relative errors.
Works for checkpoints whose first signal token is the config's ``first_signal_token``.
"""

import json
import sys
from pathlib import Path

import numpy as np

N_PAIRS = 24
MAX_NEW = 16


def make(work: Path, n_genes: int, n_latent: int) -> None:
    from instructcell_onnx.samples import _INSTRUCTIONS, choices_text, random_counts

    rng = np.random.default_rng(5)
    instr = []
    for i in range(N_PAIRS):
        t = _INSTRUCTIONS[i % len(_INSTRUCTIONS)]
        t = t if "{input}" in t else "{input} " + t
        for key, value in (
            ("{choices}", choices_text(["Alpha", "Beta", "T cell"])),
            ("{species}", "human"),
            ("{tissue}", "liver"),
            ("{method}", "Smart-seq2"),
            ("{drug}", "cisplatin"),
            ("{celltype}", "B cell"),
        ):
            t = t.replace(key, value)
        if i % 4 == 3:
            t = t.replace("{input} ", "{input}")  # text glued to the closing cell tag
        instr.append(t)
    counts = np.stack([random_counts(n_genes, rng) for _ in range(N_PAIRS)])
    z = rng.standard_normal((N_PAIRS, n_latent)).astype(np.float32)
    lib = rng.normal(7, 0.5, (N_PAIRS, 1)).astype(np.float32)
    work.mkdir(parents=True, exist_ok=True)
    np.savez(work / "inputs.npz", counts=counts, z=z, lib=lib)
    (work / "instructions.json").write_text(json.dumps(instr))


def original(work: Path, checkpoint: Path) -> None:
    import torch
    from mmllm.module import InstructCell  # the original code, on PYTHONPATH

    model = InstructCell.from_pretrained(str(checkpoint))
    a = model.assistant
    a.base_model.lm_head.weight = a.base_model.shared.weight  # its loader does not re-tie the head
    model.eval()
    signal = a.base_model.config.special_tokens_index_dict["first_signal_token"]
    eos = [a.base_model.config.eos_token_id, signal]
    inp = np.load(work / "inputs.npz")
    out = {}
    for i, text in enumerate(json.loads((work / "instructions.json").read_text())):
        x = model.prepare_model_inputs(text, inp["counts"][i])
        ids = x["input_ids"]
        res = model.generate(ids, input_counts=x["input_counts"], do_sample=False, max_new_tokens=MAX_NEW)
        with torch.no_grad():
            c = x["input_counts"]
            feats = a.feature_encoder(torch.log1p(c / c.sum(-1, keepdim=True) * 1e4))
            merged = a._merge_input_ids_with_features(
                ids, a.base_model.get_input_embeddings()(ids), feats, torch.ones_like(ids)
            )
            gen = a.base_model.generate(
                inputs_embeds=merged["inputs_embeds"],
                attention_mask=merged["attention_mask"],
                do_sample=False,
                max_new_tokens=MAX_NEW,
                eos_token_id=eos,
            )
            sig = torch.cat([gen, torch.full((1, 1), signal)], 1)
            last = a.base_model(
                inputs_embeds=merged["inputs_embeds"],
                decoder_input_ids=sig,
                return_dict=True,
                output_hidden_states=True,
            ).decoder_hidden_states[-1]
            cond = a._get_condition_embeds(last, sig)[:, 0]
            px = a.feature_decoder.base_model.generative(
                z=torch.from_numpy(inp["z"][i : i + 1]),
                library=torch.from_numpy(inp["lib"][i : i + 1]),
                batch_ids=torch.zeros(1, 1, dtype=torch.long),
                cont_covs=a.feature_decoder.mapping_layer(cond),
            )["p_gene"]
        for key, value in (
            ("ids", ids),
            ("gen", gen),
            ("feats", feats),
            ("cond", cond),
            ("mu", px.mu),
            ("theta", px.theta),
            ("zi", px.zi_logits),
        ):
            out[f"{key}{i}"] = value.numpy()
        out[f"text{i}"] = np.array(res["texts"][0])
    np.savez(work / "original.npz", **out)


def compare(work: Path, package: Path) -> None:
    from instructcell_onnx.ort_pipeline import PackageRunner
    from instructcell_onnx.samples import PROMPT_WRAPPER
    from instructcell_onnx.verify import preprocess_np, rel_err

    r = PackageRunner(package)
    inp, o = np.load(work / "inputs.npz"), np.load(work / "original.npz")
    cell = r.manifest["prompt"]["cell_text"]
    same_ids = same_gen = same_text = 0
    err = dict.fromkeys(("cells", "condition", "mu", "theta", "zi_logits"), 0.0)
    instr = json.loads((work / "instructions.json").read_text())
    for i, text in enumerate(instr):
        ids = r.tokenizer.encode(PROMPT_WRAPPER.format(prompt=text.format(input=cell))).ids
        same_ids += ids == o[f"ids{i}"][0].tolist()
        cells = r.encode_cells(preprocess_np(inp["counts"][i : i + 1], r.manifest))
        embeds, mask = r.splice([ids], cells)
        gen = r.greedy(embeds, mask, MAX_NEW)
        same_gen += gen[0].tolist() == o[f"gen{i}"][0].tolist()
        same_text += r.tokenizer.decode(gen[0].tolist(), skip_special_tokens=True) == str(o[f"text{i}"])
        mu, theta, zi = r.generator(o[f"cond{i}"], inp["z"][i : i + 1], inp["lib"][i : i + 1])
        for key, got, ref in (
            ("cells", cells, o[f"feats{i}"]),
            ("condition", r.condition(embeds, mask, o[f"gen{i}"]), o[f"cond{i}"]),
            ("mu", mu, o[f"mu{i}"]),
            ("theta", theta, o[f"theta{i}"]),
            ("zi_logits", zi, o[f"zi{i}"]),
        ):
            err[key] = max(err[key], rel_err(got, ref))
    n = len(instr)
    print(
        f"{n} pairs: prompt token ids equal {same_ids}/{n}, greedy ids equal {same_gen}/{n}, "
        f"decoded text equal {same_text}/{n}"
    )
    print("max relative errors: " + ", ".join(f"{k} {v:.2e}" for k, v in err.items()))


if __name__ == "__main__":
    mode, work = sys.argv[1], Path(sys.argv[2])
    if mode == "make":
        make(work, int(sys.argv[3]) if len(sys.argv) > 3 else 500, int(sys.argv[4]) if len(sys.argv) > 4 else 16)
    elif mode == "original":
        original(work, Path(sys.argv[3]))
    elif mode == "compare":
        compare(work, Path(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {mode}")
