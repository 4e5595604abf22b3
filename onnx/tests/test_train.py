"""The pbmc-small training pipeline: data extract, templates, tokenizer, one training step, the
trainer's command line and the committed package."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import numpy as np
import pytest
import torch

from instructcell_onnx import tokenizer as tokenization
from instructcell_onnx.train import data as D
from instructcell_onnx.train import examples as E
from instructcell_onnx.train import setup as S
from instructcell_onnx.train import templates as T
from instructcell_onnx.train import vocab as V
from instructcell_onnx.train.batching import make_batch
from instructcell_onnx.train.loop import TrainSettings, epoch_examples
from instructcell_onnx.train.zinb import generator_loss

PACKAGE = Path(__file__).resolve().parents[1] / "models" / "pbmc-small"
# The repository's split and gene order, which the bundled extract must follow (absent outside a checkout).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture(scope="module")
def pbmc():
    return D.load()


@pytest.fixture(scope="module")
def tok(pbmc):
    return V.train_tokenizer(E.tokenizer_corpus(pbmc.label_set, np.random.default_rng(0), n=600), 1000)


@pytest.mark.skipif(not (EXAMPLES / "pbmc68k_split.tsv").is_file(), reason="repository examples/data not present")
def test_extract_matches_the_project_split_and_gene_order(pbmc):
    genes = (EXAMPLES / "pbmc68k_genes.txt").read_text().split("\n")[:-1]
    assert pbmc.genes == genes and len(genes) == 765
    rows = [line.split("\t") for line in (EXAMPLES / "pbmc68k_split.tsv").read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == pbmc.cells.tolist()
    assert [r[1] for r in rows] == pbmc.labels.tolist()
    assert [r[2] for r in rows] == pbmc.split.tolist()
    assert len(pbmc.part("test")) == 178
    assert np.all(pbmc.counts == np.round(pbmc.counts)) and pbmc.counts.sum(1).min() > 0


def test_synthetic_drug_threshold_uses_training_cells_only(pbmc):
    labels, threshold = D.synthetic_drug_labels(pbmc)
    score = D.program_score(pbmc, pbmc.counts)
    assert threshold == pytest.approx(np.median(score[pbmc.part("train")]))
    assert set(labels) == {"sensitive", "resistant"}


@pytest.mark.parametrize("pool,minimum", [(T.ANNOTATE, 20), (T.ANNOTATE_CHOICES, 20), (T.GENERATE, 20), (T.DRUG, 15)])
def test_template_pools_are_large_and_well_formed(pool, minimum):
    assert len(pool) >= minimum and len(set(pool)) == len(pool)
    fields = {f for t in pool for _, f, _, _ in string.Formatter().parse(t) if f}
    assert fields <= {"input", "choices", "species", "tissue", "method", "celltype", "drug"}
    if pool is not T.GENERATE:
        assert all("{input}" in t for t in pool)
    else:
        assert all("{celltype}" in t and "{input}" not in t for t in pool)


def test_examples_follow_the_prompt_contract(pbmc):
    rng = np.random.default_rng(0)
    ex = E.annotation(0, "CD19+ B", pbmc.label_set, rng, with_choices=True, chat=False)
    assert ex.prompt.startswith("User:\n") and ex.prompt.endswith("\n\nAssistant:\n")
    assert ex.prompt.count(E.CELL_TEXT) == 1 and ex.answer == "CD19+ B"
    assert re.search(r"\((?:[^()]+, )*[^()]+\)", ex.prompt)
    gen = E.generation(3, "Dendritic", rng, chat=True)
    assert gen.answer.endswith("<CELL1>") and gen.cell is None and gen.target_cell == 3


def test_tokenizer_ids_and_round_trip(pbmc, tok):
    raw = S.raw_config(tok.get_vocab_size(with_added_tokens=True), 765)
    cfg = S.build_model(raw, 0)[0]
    tokenization.add_cell_tokens(tok, cfg)
    assert [tok.token_to_id(t) for t in ("<pad>", "</s>", "<unk>")] == [0, 1, 2]
    assert tok.token_to_id("<CELL0>") == cfg.special.placeholder
    enc = tok.encode(E.wrap(f"Which of (CD14+ Monocyte, Dendritic) is {E.CELL_TEXT}?"))
    assert enc.ids.count(cfg.special.placeholder) == 1 and enc.ids[-1] == 1 and 2 not in enc.ids
    for label in pbmc.label_set:
        assert tok.decode(tok.encode(label).ids, skip_special_tokens=True) == label


def test_one_training_step_reduces_the_loss(pbmc, tok):
    torch.manual_seed(0)
    raw = S.raw_config(tok.get_vocab_size(with_added_tokens=True) - 4, 765)
    cfg, model = S.build_model(raw, 0)
    drug_labels, _ = D.synthetic_drug_labels(pbmc)
    exs = epoch_examples(pbmc, drug_labels, TrainSettings(), np.random.default_rng(0))[:16]
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        torch.manual_seed(1)
        b = make_batch(model, tok, exs, pbmc.counts, None)
        out = model.t5(
            inputs_embeds=b.inputs_embeds,
            attention_mask=b.attention_mask,
            decoder_input_ids=b.decoder_input_ids,
            output_hidden_states=True,
            return_dict=True,
        )
        loss = torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), b.labels.flatten(), ignore_index=-100)
        if len(b.gen_rows):
            assert torch.all(b.decoder_input_ids[b.gen_rows, b.gen_positions] == cfg.special.first_signal)
            loss = loss + generator_loss(
                model, out.decoder_hidden_states[-1][b.gen_rows, b.gen_positions], b.gen_counts
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_generator_phase_trains_only_the_generator(pbmc, tok):
    from instructcell_onnx.train.generator_phase import condition_bank, train_generator

    plain = tok.get_vocab_size(with_added_tokens=True) - (4 if tok.token_to_id("<CELL1>") is not None else 0)
    raw = S.raw_config(plain, 765)
    cfg, model = S.build_model(raw, 0)
    tokenization.add_cell_tokens(tok, cfg)
    bank = condition_bank(model, tok, pbmc, 3, 0.5, np.random.default_rng(0))
    assert bank.shape == (len(pbmc.label_set), 3, cfg.t5.d_model)
    gen = model.assistant.feature_decoder
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gen_keys = {"assistant.feature_decoder." + k for k in gen.state_dict()}
    train_generator(
        model, bank, pbmc, steps=3, batch_size=8, lr=1e-3, kl_weight=10.0, weight_decay=0.01, seed=0, log=lambda _: None
    )
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and changed <= gen_keys
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.skipif(not (PACKAGE / "manifest.json").is_file(), reason="pbmc-small package not exported")
def test_committed_package_annotates_heldout_cells(pbmc):
    from instructcell_onnx.ort_pipeline import PackageRunner
    from instructcell_onnx.train.evaluate import generate_text

    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert (PACKAGE / "genes.txt").read_text() == "".join(f"{g}\n" for g in pbmc.genes)
    assert manifest["variant"] == "instruct" and manifest["model"]["num_genes"] == 765
    runner = PackageRunner(PACKAGE, "int8", threads=2)
    idx = pbmc.part("test")[::6]
    prompts = [E.wrap(T.ANNOTATE[0].format(input=E.CELL_TEXT))] * len(idx)
    answers = generate_text(runner, prompts, D.lognorm(pbmc.counts[idx]), 16)
    accuracy = np.mean(np.array(answers) == pbmc.labels[idx])
    assert accuracy >= 0.7, (accuracy, answers)


def test_train_command_needs_explicit_locations(tmp_path, capsys):
    from instructcell_onnx.train.__main__ import main

    for argv, message in [
        (["--out", str(tmp_path / "pkg")], "--checkpoint"),
        (["--checkpoint", str(tmp_path / "ckpt")], "--out"),
        (
            ["--out", str(tmp_path / "pkg"), "--checkpoint", str(tmp_path / "ckpt"), "--skip-train"],
            "--skip-train needs an existing --checkpoint",
        ),
        (
            ["--out", str(tmp_path / "pkg"), "--checkpoint", str(tmp_path), "--golden-script", str(tmp_path / "no.py")],
            "--golden-script: no file",
        ),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err


def test_golden_script_runs_on_the_new_checkpoint_and_package(tmp_path):
    import argparse

    from instructcell_onnx.train.__main__ import _fixtures

    script = tmp_path / "golden.py"
    script.write_text(
        "import json, sys\nimport instructcell_onnx\nopen(sys.argv[0] + '.json', 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    args = argparse.Namespace(
        golden_script=script, skip_fixtures=False, checkpoint=tmp_path / "ckpt", out=tmp_path / "pkg"
    )
    assert _fixtures(args, lambda _: None) == 0
    assert json.loads((tmp_path / "golden.py.json").read_text()) == [
        "--checkpoint",
        str((tmp_path / "ckpt").resolve()),
        "--package",
        str((tmp_path / "pkg").resolve()),
    ]
    logged = []
    assert _fixtures(argparse.Namespace(golden_script=None, skip_fixtures=False), logged.append) == 0
    assert logged == ["golden fixtures not regenerated (no --golden-script)"]
