"""Second training phase: the cell generator alone, on fixed conditions, class-balanced.

In the joint phase the generator sees about ten cells per step, drawn in proportion to the
cell types (``CD34+`` has 9 training cells, ``CD4+/CD45RA+/CD25- Naive T`` 6), while its
condition moves with the language model. This phase freezes everything but the generator:
the conditions are computed once by the trained (frozen, eval-mode) T5 from generation
prompts drawn from the training templates (a bank per cell type, instruct and chat), and the
generator (condition mapping, posterior encoder, decoder, library decoder, dispersion) is
trained on the training cells with every type equally likely per draw.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tokenizers import Tokenizer

from ..modeling import InstructCellModel
from . import examples as E
from .batching import make_batch
from .data import PbmcData
from .zinb import generator_loss


@torch.no_grad()
def condition_bank(
    model: InstructCellModel,
    tok: Tokenizer,
    data: PbmcData,
    per_type: int,
    chat_fraction: float,
    rng: np.random.Generator,
    batch_size: int = 64,
) -> torch.Tensor:
    """Conditions ``[types, per_type, d_model]`` (types in ``data.label_set`` order) from sampled generation prompts.

    Each is the last decoder hidden state at the position whose input is ``<CELL1>``, teacher-forced
    on the template answer, with the model in eval mode (as the package computes it).
    """
    was_training = model.training
    model.eval()
    bank = []
    for label in data.label_set:
        exs = [E.generation(0, label, rng, rng.random() < chat_fraction) for _ in range(per_type)]
        rows = []
        for k in range(0, len(exs), batch_size):
            b = make_batch(model, tok, exs[k : k + batch_size], data.counts, None)
            out = model.t5(
                inputs_embeds=b.inputs_embeds,
                attention_mask=b.attention_mask,
                decoder_input_ids=b.decoder_input_ids,
                output_hidden_states=True,
                return_dict=True,
            )
            rows.append(out.decoder_hidden_states[-1][b.gen_rows, b.gen_positions])
        bank.append(torch.cat(rows))
    model.train(was_training)
    return torch.stack(bank)


def train_generator(
    model: InstructCellModel,
    bank: torch.Tensor,
    data: PbmcData,
    steps: int,
    batch_size: int,
    lr: float,
    kl_weight: float,
    weight_decay: float,
    seed: int,
    log=print,
) -> dict[str, float]:
    """Train only ``model.assistant.feature_decoder`` for ``steps`` class-balanced batches; returns timings/loss."""
    gen = model.assistant.feature_decoder
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    train = data.part("train")
    labels = data.label_set
    types = np.array([labels.index(str(x)) for x in data.labels[train]])
    weight = 1.0 / np.bincount(types, minlength=len(labels))[types]
    weight /= weight.sum()
    counts = torch.from_numpy(data.counts)
    opt = torch.optim.AdamW(gen.parameters(), lr=lr, weight_decay=weight_decay)
    warmup = min(100, steps // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda st: (
            (st + 1) / warmup if st < warmup else 0.5 * (1 + math.cos(math.pi * (st - warmup) / max(1, steps - warmup)))
        ),
    )
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    for p in gen.parameters():
        p.requires_grad_(True)
    gen.train()
    start = time.time()
    run = 0.0
    try:
        for step in range(steps):
            pick = rng.choice(len(train), size=batch_size, p=weight)
            cond = bank[types[pick], rng.integers(0, bank.shape[1], size=batch_size)]
            loss = generator_loss(model, cond, counts[train[pick]], kl_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
            opt.step()
            sched.step()
            run = float(loss.detach()) if step == 0 else 0.98 * run + 0.02 * float(loss.detach())
            if (step + 1) % max(1, steps // 5) == 0:
                log(f"generator step {step + 1}/{steps}: loss {run:.4f} ({time.time() - start:.0f}s)")
    finally:
        for p in frozen:
            p.requires_grad_(True)
    gen.eval()
    return {"seconds": round(time.time() - start, 1), "steps": steps, "loss": round(run, 4)}
