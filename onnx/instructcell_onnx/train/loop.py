"""The training loop: multitask batches (annotation, generation, synthetic drug response)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from ..modeling import InstructCellModel
from . import examples as E
from .batching import IGNORE, make_batch
from .data import PbmcData
from .zinb import generator_loss


@dataclass
class TrainSettings:
    """Optimisation settings of both phases (the defaults produced the committed model)."""

    epochs: int = 30
    batch_size: int = 48
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    generator_weight: float = 1.0
    kl_weight: float = 10.0
    chat_fraction: float = 0.3
    choices_fraction: float = 0.5
    annotation_copies: int = 3
    seed: int = 0
    # Second phase (``generator_phase``): the generator alone, class-balanced, on fixed conditions.
    generator_steps: int = 3000
    generator_batch_size: int = 64
    generator_lr: float = 1e-3
    generator_kl_weight: float = 10.0
    generator_prompts_per_type: int = 64


def epoch_examples(
    data: PbmcData, drug_labels: np.ndarray, s: TrainSettings, rng: np.random.Generator
) -> list[E.Example]:
    """One pass over the training cells: ``annotation_copies`` annotation, one generation and one drug example each."""
    out: list[E.Example] = []
    labels = data.label_set
    for i in data.part("train"):
        label = str(data.labels[i])
        for _ in range(s.annotation_copies):
            out.append(
                E.annotation(
                    int(i), label, labels, rng, rng.random() < s.choices_fraction, rng.random() < s.chat_fraction
                )
            )
        out.append(E.generation(int(i), label, rng, rng.random() < s.chat_fraction))
        out.append(E.drug(int(i), str(drug_labels[i]), rng, rng.random() < s.chat_fraction))
    order = rng.permutation(len(out))
    return [out[j] for j in order]


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train(
    model: InstructCellModel, tok: Tokenizer, data: PbmcData, drug_labels: np.ndarray, s: TrainSettings, log=print
) -> dict[str, float]:
    """Train in place; returns the wall time and the final running losses."""
    rng = np.random.default_rng(s.seed)
    torch.manual_seed(s.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    per_epoch = math.ceil(len(data.part("train")) * (s.annotation_copies + 2) / s.batch_size)
    total = per_epoch * s.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda st: _lr_factor(st, total, s.warmup_steps))
    model.train()
    start = time.time()
    run_lm = run_gen = 0.0
    step = 0
    for epoch in range(s.epochs):
        exs = epoch_examples(data, drug_labels, s, rng)
        for k in range(0, len(exs), s.batch_size):
            batch = make_batch(model, tok, exs[k : k + s.batch_size], data.counts, rng)
            out = model.t5(
                inputs_embeds=batch.inputs_embeds,
                attention_mask=batch.attention_mask,
                decoder_input_ids=batch.decoder_input_ids,
                output_hidden_states=True,
                return_dict=True,
            )
            lm = F.cross_entropy(out.logits.flatten(0, 1), batch.labels.flatten(), ignore_index=IGNORE)
            loss = lm
            if len(batch.gen_rows):
                hidden = out.decoder_hidden_states[-1][batch.gen_rows, batch.gen_positions]
                gl = generator_loss(model, hidden, batch.gen_counts, s.kl_weight)
                loss = loss + s.generator_weight * gl
                run_gen = 0.95 * run_gen + 0.05 * float(gl.detach())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            run_lm = 0.95 * run_lm + 0.05 * float(lm)
        log(f"epoch {epoch + 1}/{s.epochs}: lm {run_lm:.4f} generator {run_gen:.4f} ({time.time() - start:.0f}s)")
    model.eval()
    return {
        "seconds": round(time.time() - start, 1),
        "steps": step,
        "lm_loss": round(run_lm, 4),
        "generator_loss": round(run_gen, 4),
    }
