"""Prove a package reproduces the PyTorch model.

fp32 must match (limits below, all relative to the reference output's largest magnitude) and
greedy decoding over the ONNX graphs must equal ``transformers``' ``generate`` token for token.
int8 and fp16 are reported (agreement and errors), not failed: they are approximations.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ExportError, VerificationError
from .graphs import example_inputs, graph_modules
from .manifest import check_files, read_manifest
from .modeling import InstructCellModel
from .ort_pipeline import PackageRunner
from .samples import Pair, make_pairs

#: fp32 limit on max |onnx - torch| / max |torch|.
FP32_REL_LIMIT = 1e-4
#: When fp32 PyTorch itself is this far from fp64, the ONNX limit becomes this multiple of it.
NOISE_FACTOR = 3.0
#: Minimum number of prompt/cell pairs for the greedy comparison.
MIN_PAIRS = 20


@dataclass
class Check:
    """One measured comparison."""

    name: str
    value: float
    limit: float | None = None
    detail: str = ""

    @property
    def passed(self) -> bool:
        """True when there is no limit or the value is within it."""
        return self.limit is None or (np.isfinite(self.value) and self.value <= self.limit)


@dataclass
class PrecisionReport:
    """All checks of one precision; ``enforced`` says whether failures fail verification."""

    precision: str
    enforced: bool
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    def add(self, name: str, value: float, limit: float | None = None, detail: str = "") -> None:
        """Record a check (limits only apply where the precision is enforced)."""
        self.checks.append(Check(name, float(value), limit if self.enforced else None, detail))

    def failures(self) -> list[Check]:
        """Checks over their limit."""
        return [c for c in self.checks if not c.passed]


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """``max |got - ref| / max |ref|`` (0 for empty arrays)."""
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64)
    if ref.size == 0:
        return 0.0
    scale = max(float(np.abs(ref).max()), 1e-12)
    return float(np.abs(got - ref).max() / scale)


def preprocess_np(counts: np.ndarray, manifest: dict[str, Any]) -> np.ndarray:
    """The package's preprocessing, as a runtime applies it (numpy, float32)."""
    pre = manifest["preprocess"]
    x = counts.astype(np.float32)
    if pre["normalize_total"]:
        x = x / x.sum(axis=-1, keepdims=True) * np.float32(pre["target_sum"])
    if pre["log1p"]:
        x = np.log1p(x)
    return x.astype(np.float32)


def _per_graph(runner: PackageRunner, model: InstructCellModel, report: PrecisionReport) -> None:
    modules = graph_modules(model)
    for shape_name, kwargs in (
        ("b2_past3_new2", {}),
        ("b1_past0_new1", {"batch": 1, "past": 0, "new": 1}),
        ("b3_past5_new1", {"batch": 3, "past": 5, "new": 1, "enc_len": 11, "seed": 1}),
        ("b1_past40_new1_enc150", {"batch": 1, "past": 40, "new": 1, "enc_len": 150, "seed": 2}),
    ):
        inputs = example_inputs(model, **kwargs)
        for name, module in modules.items():
            spec_inputs = [i["name"] for i in next(g for g in runner.manifest["graphs"] if g["name"] == name)["inputs"]]
            with torch.no_grad():
                ref = module(*inputs[name])
            ref = ref if isinstance(ref, tuple) else (ref,)
            got = runner.run(name, **{n: t.numpy() for n, t in zip(spec_inputs, inputs[name], strict=True)})
            errors = [rel_err(g, r.numpy()) for r, g in zip(ref, got, strict=True)]
            limits, note = [FP32_REL_LIMIT] * len(errors), ""
            if report.enforced and max(errors) > FP32_REL_LIMIT:
                # Both are fp32 approximations of the same function: judge ONNX Runtime by its
                # distance from the fp64 result, against PyTorch fp32's own distance from it.
                ref64 = _graph_fp64(module, inputs[name])
                noise = [rel_err(r.numpy(), r64) for r, r64 in zip(ref, ref64, strict=True)]
                errors = [rel_err(g, r64) for g, r64 in zip(got, ref64, strict=True)]
                limits = [max(FP32_REL_LIMIT, NOISE_FACTOR * n) for n in noise]
                note = f"ONNX vs fp64; PyTorch fp32 vs fp64 {max(noise):.2g}, limit {NOISE_FACTOR:g}x that"
            outputs = next(x for x in runner.manifest["graphs"] if x["name"] == name)["outputs"]
            for out_spec, err, limit in zip(outputs, errors, limits, strict=True):
                report.add(f"graph.{name}.{out_spec['name']}[{shape_name}]", err, limit, note)


def _graph_fp64(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    """The graph function's outputs computed in fp64 (the exact answer both fp32 runs approximate)."""
    module64 = copy.deepcopy(module).double()
    with torch.no_grad():
        ref64 = module64(*[t.double() if t.is_floating_point() else t for t in inputs])
    ref64 = ref64 if isinstance(ref64, tuple) else (ref64,)
    del module64
    return [r.numpy() for r in ref64]


def _tokenize(runner: PackageRunner, pairs: list[Pair]) -> list[list[int]]:
    return [runner.tokenizer.encode(p.prompt).ids for p in pairs]


def _torch_inputs(
    model: InstructCellModel, ids: list[list[int]], counts: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    length = max(len(r) for r in ids)
    pad = model.cfg.t5.pad_token_id
    tid = torch.tensor([r + [pad] * (length - len(r)) for r in ids])
    mask = torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in ids])
    with torch.no_grad():
        cells = model.encode_cells(model.preprocess(torch.from_numpy(counts)))
        embeds, emask = model.splice(tid, mask, cells)
    return embeds, emask, cells


def _strip_after_stop(seq: list[int], stop: set[int]) -> list[int]:
    for i, t in enumerate(seq[1:], start=1):
        if t in stop:
            return seq[: i + 1]
    return seq


def _sequence_checks(
    runner: PackageRunner,
    model: InstructCellModel,
    pairs: list[Pair],
    report: PrecisionReport,
    max_new_tokens: int,
    seed: int,
) -> dict[str, Any]:
    manifest = runner.manifest
    stop = set(manifest["special_tokens"]["stop"])
    ids = _tokenize(runner, pairs)
    rng = np.random.default_rng(seed)
    greedy_equal, cell_err, tf_err, tf_block_err, cond_err, agree, total = 0, 0.0, 0.0, 0.0, 0.0, 0, 0
    mu_err = theta_err = zi_err = e2e_err = cond_e2e = 0.0
    outputs, stops, replay = [], 0, []
    for pair, row in zip(pairs, ids, strict=True):
        counts = pair.counts[None]
        t_embeds, t_mask, t_cells = _torch_inputs(model, [row], counts)
        o_cells = runner.encode_cells(preprocess_np(counts, manifest))
        cell_err = max(cell_err, rel_err(o_cells, t_cells.numpy()))
        o_embeds, o_mask = runner.splice([row], o_cells)
        t_ids = model.generate_ids(t_embeds, t_mask, max_new_tokens)[0].tolist()
        o_ids = runner.greedy(o_embeds, o_mask, max_new_tokens)[0].tolist()
        t_ids, o_ids = _strip_after_stop(t_ids, stop), _strip_after_stop(o_ids, stop)
        greedy_equal += int(t_ids == o_ids)
        outputs.append(t_ids)
        stops += int(t_ids[-1] in stop)
        # Teacher forcing along the reference sequence plus a few random tokens. The enforced
        # comparison feeds both sides the same spliced embeddings, so it measures the text
        # graphs alone; the end-to-end one (ONNX cell embeddings) is reported.
        extra = rng.integers(3, manifest["model"]["tokenizer_size"], size=4).tolist()
        seq = torch.tensor([t_ids + extra])
        t_logits, _ = model.teacher_forced(t_embeds, t_mask, seq)
        same_embeds, same_mask = t_embeds.numpy(), t_mask.numpy()
        o_logits, _ = runner.teacher_forced(same_embeds, same_mask, seq.numpy())
        o_block, _ = runner.teacher_forced(same_embeds, same_mask, seq.numpy(), block=3)
        o_e2e, _ = runner.teacher_forced(o_embeds, o_mask, seq.numpy())
        tf_err = max(tf_err, rel_err(o_logits, t_logits.numpy()))
        tf_block_err = max(tf_block_err, rel_err(o_block, t_logits.numpy()))
        e2e_err = max(e2e_err, rel_err(o_e2e, t_logits.numpy()))
        agree += int((o_e2e.argmax(-1) == t_logits.numpy().argmax(-1)).sum())
        total += seq.shape[1]
        # Condition embedding at the signal token, then the generator on it.
        gen_ids = torch.tensor([t_ids])
        t_cond = model.condition_embedding(t_embeds, t_mask, gen_ids)
        o_cond = runner.condition(same_embeds, same_mask, gen_ids.numpy())
        cond_err = max(cond_err, rel_err(o_cond, t_cond.numpy()))
        replay.append((t_embeds, t_mask, seq, gen_ids, t_logits, t_cond))
        cond_e2e = max(cond_e2e, rel_err(runner.condition(o_embeds, o_mask, gen_ids.numpy()), t_cond.numpy()))
        z = rng.standard_normal((1, manifest["model"]["n_latent"])).astype(np.float32)
        lib = np.array([[manifest["generator"]["library_log_means"][0]]], np.float32)
        t_mu, t_theta, t_zi = (
            x.numpy() for x in model.generator_params(t_cond, torch.from_numpy(z), torch.from_numpy(lib))
        )
        o_mu, o_theta, o_zi = runner.generator(t_cond.numpy(), z, lib)
        mu_err, theta_err, zi_err = (
            max(mu_err, rel_err(o_mu, t_mu)),
            max(theta_err, rel_err(o_theta, t_theta)),
            max(zi_err, rel_err(o_zi, t_zi)),
        )
    n = len(pairs)
    report.add("greedy.sequences_differing", n - greedy_equal, 0, f"{greedy_equal}/{n} equal token for token")
    report.add(
        "greedy.label_agreement",
        agree / total,
        None,
        f"argmax agreement over {total} teacher-forced positions, end to end",
    )
    report.add("cell_embeddings.rel_err", cell_err, FP32_REL_LIMIT)
    limit_tf, limit_cond, note_tf, note_cond = FP32_REL_LIMIT, FP32_REL_LIMIT, "", ""
    if report.enforced and max(tf_err, tf_block_err, cond_err) > FP32_REL_LIMIT:
        noise_tf, noise_cond = _fp32_noise(model, replay)
        limit_tf, limit_cond = (
            max(FP32_REL_LIMIT, NOISE_FACTOR * noise_tf),
            max(FP32_REL_LIMIT, NOISE_FACTOR * noise_cond),
        )
        note_tf = f"; PyTorch fp32 vs fp64 {noise_tf:.2g}, limit {NOISE_FACTOR:g}x that"
        note_cond = f"PyTorch fp32 vs fp64 {noise_cond:.2g}, limit {NOISE_FACTOR:g}x that"
    report.add("teacher_forced.logits.rel_err", tf_err, limit_tf, "one token per step" + note_tf)
    report.add("teacher_forced.logits_block3.rel_err", tf_block_err, limit_tf, "three tokens per step" + note_tf)
    report.add("teacher_forced.logits_end_to_end.rel_err", e2e_err, None, "ONNX cell embeddings spliced in")
    report.add("condition.rel_err", cond_err, limit_cond, note_cond)
    report.add("condition_end_to_end.rel_err", cond_e2e, None, "ONNX cell embeddings spliced in")
    report.add("generator.mu.rel_err", mu_err, FP32_REL_LIMIT)
    report.add("generator.theta.rel_err", theta_err, FP32_REL_LIMIT)
    report.add("generator.zi_logits.rel_err", zi_err, FP32_REL_LIMIT)
    return {"distinct_sequences": len({tuple(o) for o in outputs}), "stopped_sequences": stops, "pairs": n}


def _fp32_noise(model: InstructCellModel, replay: list[tuple]) -> tuple[float, float]:
    """How far PyTorch's own fp32 results are from an fp64 run on the same sequences.

    Some checkpoints (e.g. weights scaled up to make random outputs vary) amplify rounding so
    much that fp32 itself cannot meet 1e-4; the limit then scales with this measured floor.
    """
    model64 = copy.deepcopy(model).double()
    noise_tf = noise_cond = 0.0
    for embeds, mask, seq, gen_ids, logits, cond in replay:
        logits64, _ = model64.teacher_forced(embeds.double(), mask, seq)
        cond64 = model64.condition_embedding(embeds.double(), mask, gen_ids)
        noise_tf = max(noise_tf, rel_err(logits.numpy(), logits64.numpy()))
        noise_cond = max(noise_cond, rel_err(cond.numpy(), cond64.numpy()))
    del model64
    return noise_tf, noise_cond


def _batched_greedy(
    runner: PackageRunner, model: InstructCellModel, pairs: list[Pair], report: PrecisionReport, max_new_tokens: int
) -> None:
    ids = _tokenize(runner, pairs)
    counts = np.stack([p.counts for p in pairs])
    t_embeds, t_mask, _ = _torch_inputs(model, ids, counts)
    o_embeds, o_mask = runner.splice(ids, runner.encode_cells(preprocess_np(counts, runner.manifest)))
    t_ids = model.generate_ids(t_embeds, t_mask, max_new_tokens).numpy()
    o_ids = runner.greedy(o_embeds, o_mask, max_new_tokens)
    same = t_ids.shape == o_ids.shape and bool((t_ids == o_ids).all())
    report.add("greedy.batched_padded_differs", 0 if same else 1, 0, f"batch of {len(pairs)} padded prompts")


def verify_precision(
    root: Path,
    model: InstructCellModel,
    precision: str,
    pairs: list[Pair],
    max_new_tokens: int,
    seed: int,
    threads: int,
) -> tuple[PrecisionReport, dict[str, Any]]:
    """Run every comparison for one precision."""
    report = PrecisionReport(precision, enforced=precision == "fp32")
    stats: dict[str, Any] = {}
    try:
        runner = PackageRunner(root, precision, threads)
    except ExportError:
        raise
    except Exception as exc:  # ONNX Runtime may lack kernels for a precision on this machine
        report.error = f"cannot run {precision} graphs with ONNX Runtime on CPU: {exc}"
        return report, stats
    _per_graph(runner, model, report)
    stats = _sequence_checks(runner, model, pairs, report, max_new_tokens, seed)
    if runner.int8_weights:
        # The set this CPU multiplies exactly (the other computes the same integers elsewhere).
        stats["int8_weights"] = runner.int8_weights
    _batched_greedy(runner, model, pairs[:4], report, max_new_tokens)
    return report, stats


def verify_package(
    root: Path,
    model: InstructCellModel,
    precisions: list[str] | None = None,
    n_pairs: int = MIN_PAIRS,
    max_new_tokens: int = 16,
    seed: int = 0,
    threads: int = 2,
) -> dict[str, Any]:
    """Verify every (or the named) precision of the package at ``root``; raise when fp32 fails."""
    start = time.time()
    manifest = read_manifest(root)
    bad = check_files(root, manifest)
    if bad:
        raise VerificationError(f"package files do not match the manifest: {', '.join(bad)}")
    available = sorted({g["precision"] for g in manifest["graphs"]}, key=["fp32", "int8", "fp16"].index)
    precisions = precisions or available
    missing = [p for p in precisions if p not in available]
    if missing:
        raise ExportError(f"package has no {', '.join(missing)} graphs (it has {', '.join(available)})")
    _check_embeddings(root, manifest, model)
    pairs = make_pairs(model.cfg, max(n_pairs, 4), seed)
    result: dict[str, Any] = {"pairs": len(pairs), "max_new_tokens": max_new_tokens, "precisions": {}}
    failures = []
    for precision in precisions:
        report, stats = verify_precision(root, model, precision, pairs, max_new_tokens, seed, threads)
        result["precisions"][precision] = {
            "enforced": report.enforced,
            "error": report.error,
            "stats": stats,
            "checks": [{**asdict(c), "passed": c.passed} for c in report.checks],
        }
        if report.enforced and report.error:
            failures.append(report.error)
        failures += [
            f"{precision} {c.name} = {c.value:.3g} > {c.limit:g} {c.detail}".strip() for c in report.failures()
        ]
    result["seconds"] = round(time.time() - start, 1)
    result["passed"] = not failures
    if failures:
        raise VerificationError("verification failed: " + "; ".join(failures), result)
    return result


def _check_embeddings(root: Path, manifest: dict[str, Any], model: InstructCellModel) -> None:
    table = np.load(root / manifest["files"]["token_embeddings"]["file"], allow_pickle=False)
    ref = model.t5.shared.weight.detach().numpy()
    if table.shape != ref.shape or not np.array_equal(table, ref):
        raise VerificationError("token_embeddings.npy differs from the model's embedding matrix")
