"""Held-out evaluation of an exported package, run through ONNX Runtime (``ort_pipeline``).

Every metric uses only the 178 test cells of ``examples/data/pbmc68k_split.tsv`` as inputs
(the generation metrics compare generated cells with real cells; the judging classifier is
trained on the training cells). Prompts are drawn from the training templates with a fixed
seed; the cells are what is new.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..ort_pipeline import PackageRunner
from ..samples import choices_text
from . import examples as E
from . import templates as T
from .classifier import CellTypeClassifier
from .data import PbmcData, lognorm

BATCH = 32


def _embed(runner: PackageRunner, prompts: list[str], expr: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    ids = [e.ids for e in runner.tokenizer.encode_batch(prompts)]
    if expr is not None:
        return runner.splice(ids, runner.encode_cells(expr))
    length = max(len(i) for i in ids)
    embeds = np.zeros((len(ids), length, runner.embeddings.shape[1]), np.float32)
    mask = np.zeros((len(ids), length), np.int64)
    for b, row in enumerate(ids):
        embeds[b, : len(row)] = runner.embeddings[row]
        mask[b, : len(row)] = 1
    return embeds, mask


def _decode(runner: PackageRunner, ids: np.ndarray) -> list[str]:
    stop = set(runner.special["stop"])
    texts = []
    for row in ids[:, 1:].tolist():
        cut = next((i for i, t in enumerate(row) if t in stop), len(row))
        texts.append(runner.tokenizer.decode(row[:cut], skip_special_tokens=True).strip())
    return texts


def generate_text(runner: PackageRunner, prompts: list[str], expr: np.ndarray | None, max_new_tokens: int) -> list[str]:
    """Greedy answers to ``prompts`` (with one cell each when ``expr`` is given)."""
    out = []
    for k in range(0, len(prompts), BATCH):
        embeds, mask = _embed(runner, prompts[k : k + BATCH], None if expr is None else expr[k : k + BATCH])
        out += _decode(runner, runner.greedy(embeds, mask, max_new_tokens))
    return out


def score_answers(runner: PackageRunner, prompts: list[str], expr: np.ndarray, answers: list[str]) -> np.ndarray:
    """Teacher-forced log-likelihood ``[cells, answers]`` of each candidate answer (with ``</s>``)."""
    scores = np.zeros((len(prompts), len(answers)))
    start = runner.special["decoder_start"]
    for k in range(0, len(prompts), BATCH):
        embeds, mask = _embed(runner, prompts[k : k + BATCH], expr[k : k + BATCH])
        for j, answer in enumerate(answers):
            target = runner.tokenizer.encode(answer).ids
            ids = np.array([[start] + target[:-1]] * embeds.shape[0], np.int64)
            logits, _ = runner.teacher_forced(embeds, mask, ids, block=ids.shape[1])
            logp = logits - logits.max(-1, keepdims=True)
            logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
            scores[k : k + BATCH, j] = logp[:, np.arange(len(target)), target].sum(-1)
    return scores


def _prompts(
    data: PbmcData, idx: np.ndarray, pool: list[str], rng: np.random.Generator, chat: bool, choices: bool, **fields: str
) -> list[str]:
    out = []
    for _ in idx:
        text = E._fill(str(rng.choice(pool)), rng, choices=choices_text(data.label_set) if choices else "", **fields)
        out.append(E.wrap(f"{text} {rng.choice(T.CHAT_SUFFIXES)}" if chat else text))
    return out


def _label_in_sentence(text: str, labels: list[str]) -> str | None:
    found = [label for label in labels if label in text]
    return max(found, key=len) if found else None


def annotation_metrics(runner: PackageRunner, data: PbmcData, seed: int = 1) -> dict[str, float]:
    """Free-generation accuracy (instruct with/without choices, chat) and likelihood-scored accuracy."""
    idx = data.part("test")
    expr = lognorm(data.counts[idx])
    truth = data.labels[idx]
    labels = data.label_set
    rng = np.random.default_rng(seed)
    res: dict[str, float] = {"cells": int(len(idx))}
    for name, pool, chat, choices in (
        ("free_no_choices", T.ANNOTATE, False, False),
        ("free_with_choices", T.ANNOTATE_CHOICES, False, True),
        ("chat_no_choices", T.ANNOTATE, True, False),
    ):
        prompts = _prompts(data, idx, pool, rng, chat, choices)
        texts = generate_text(runner, prompts, expr, 40 if chat else 24)
        pred = [(_label_in_sentence(t, labels) if chat else t) for t in texts]
        res[name] = round(float(np.mean([p == y for p, y in zip(pred, truth, strict=True)])), 4)
        if not chat:
            res[name + "_valid_label"] = round(float(np.mean([p in labels for p in pred])), 4)
    prompts = _prompts(data, idx, T.ANNOTATE, rng, False, False)
    scores = score_answers(runner, prompts, expr, labels)
    res["scored_label_set"] = round(float(np.mean(np.array(labels)[scores.argmax(1)] == truth)), 4)
    return res


def _auroc(score: np.ndarray, positive: np.ndarray) -> float:
    order = np.argsort(score)
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def drug_metrics(runner: PackageRunner, data: PbmcData, drug_labels: np.ndarray, seed: int = 2) -> dict[str, float]:
    """SYNTHETIC drug labels: free-generation accuracy, scored accuracy and
    AUROC of log P(sensitive) - log P(resistant)."""
    idx = data.part("test")
    expr = lognorm(data.counts[idx])
    truth = drug_labels[idx]
    rng = np.random.default_rng(seed)
    prompts = _prompts(data, idx, T.DRUG[:14], rng, False, False, drug=T.DRUG_NAMES[0])
    texts = generate_text(runner, prompts, expr, 8)
    scores = score_answers(runner, prompts, expr, T.DRUG_LABELS)
    margin = scores[:, 0] - scores[:, 1]
    return {
        "free_accuracy": round(float(np.mean(np.array(texts) == truth)), 4),
        "scored_accuracy": round(float(np.mean(np.where(margin > 0, "sensitive", "resistant") == truth)), 4),
        "auroc": round(_auroc(margin, truth == "sensitive"), 4),
        "positive_fraction": round(float(np.mean(truth == "sensitive")), 4),
    }


def sample_cells(runner: PackageRunner, label: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``n`` generated count profiles of type ``label`` and the answer text that preceded ``<CELL1>``."""
    prompt = E.wrap(T.GENERATE[0].format(celltype=label, species="human", tissue="peripheral blood"))
    embeds, mask = _embed(runner, [prompt], None)
    ids = runner.greedy(embeds, mask, 24)
    if ids[0, -1] != runner.special["signal"][0]:
        return np.zeros((0, runner.manifest["model"]["num_genes"]), np.float32), _decode(runner, ids)[0]
    cond = np.repeat(runner.condition(embeds, mask, ids[:, :-1]), n, axis=0)
    z = rng.standard_normal((n, runner.manifest["model"]["n_latent"])).astype(np.float32)
    g = runner.manifest["generator"]
    lib = rng.normal(g["library_log_means"][0], np.sqrt(g["library_log_vars"][0]), size=(n, 1)).astype(np.float32)
    mu, theta, zi = runner.generator(cond, z, lib)
    lam = rng.gamma(theta, mu / np.maximum(theta, 1e-8))
    counts = rng.poisson(lam).astype(np.float32)
    counts[rng.random(counts.shape) < 1 / (1 + np.exp(-zi))] = 0
    return counts, _decode(runner, ids)[0]


def generation_metrics(runner: PackageRunner, data: PbmcData, n_per_type: int = 50, seed: int = 3) -> dict[str, object]:
    """Classifier agreement and mean-expression correlation of generated cells, per requested type.

    Each type's entry also holds the judging classifier's accuracy on the real held-out cells of
    that type (``classifier_real_test_accuracy``), the reference for how separable the type is.
    """
    rng = np.random.default_rng(seed)
    train, test = data.part("train"), data.part("test")
    clf = CellTypeClassifier().fit(lognorm(data.counts[train]), data.labels[train])
    real_pred = clf.predict(lognorm(data.counts[test]))
    res: dict[str, object] = {"classifier_test_accuracy": round(float(np.mean(real_pred == data.labels[test])), 4)}
    per_type, hits, total = {}, 0, 0
    for label in data.label_set:
        real_of_type = data.labels[test] == label
        clf_real = {
            "classifier_real_test_cells": int(real_of_type.sum()),
            "classifier_real_test_accuracy": round(float(np.mean(real_pred[real_of_type] == label)), 3),
        }
        counts, text = sample_cells(runner, label, n_per_type, rng)
        if len(counts) == 0:
            per_type[label] = {"stopped_on_signal": False, "text": text, **clf_real}
            total += n_per_type
            continue
        expr = lognorm(counts)
        agree = int((clf.predict(expr) == label).sum())
        hits += agree
        total += n_per_type
        real = lognorm(data.counts[data.labels == label]).mean(0)
        real_test = lognorm(data.counts[test][data.labels[test] == label]).mean(0)
        real_train = lognorm(data.counts[train][data.labels[train] == label]).mean(0)
        per_type[label] = {
            "text": text,
            "classified_as_requested": round(agree / n_per_type, 3),
            "mean_corr_all_real": round(float(np.corrcoef(expr.mean(0), real)[0, 1]), 4),
            "mean_corr_test_real": round(float(np.corrcoef(expr.mean(0), real_test)[0, 1]), 4),
            # reference: how well the training cells' mean predicts the held-out mean
            "real_train_vs_test_corr": round(float(np.corrcoef(real_train, real_test)[0, 1]), 4),
            "median_total_counts": float(np.median(counts.sum(1))),
            **clf_real,
        }
    res["classified_as_requested"] = round(hits / total, 4)
    corr = [v["mean_corr_all_real"] for v in per_type.values() if "mean_corr_all_real" in v]
    res["mean_corr_all_real_min"] = min(corr) if corr else None
    res["mean_corr_all_real_mean"] = round(float(np.mean(corr)), 4) if corr else None
    corr = [v["mean_corr_test_real"] for v in per_type.values() if "mean_corr_test_real" in v]
    res["mean_corr_test_real_min"] = min(corr) if corr else None
    res["mean_corr_test_real_mean"] = round(float(np.mean(corr)), 4) if corr else None
    res["per_type"] = per_type
    return res


def evaluate_package(
    package: Path, data: PbmcData, drug_labels: np.ndarray, precision: str, threads: int = 2
) -> dict[str, object]:
    """All held-out metrics for one precision of a package."""
    runner = PackageRunner(package, precision, threads)
    return {
        "annotation": annotation_metrics(runner, data),
        "generation": generation_metrics(runner, data),
        "drug_synthetic": drug_metrics(runner, data, drug_labels),
    }
