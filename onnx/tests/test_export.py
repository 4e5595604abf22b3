"""End to end through the command line: export, manifest, verify, and the error exits."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from conftest import REFERENCE, write_checkpoint
from instructcell_onnx.cli import EXIT_INPUT, EXIT_VERIFY, main
from instructcell_onnx.manifest import sha256_file


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []


def test_manifest_describes_every_file(tiny_package):
    m = json.loads((tiny_package / "manifest.json").read_text())
    assert m["format_version"] == 3 and m["variant"] == "instruct"
    assert m["source"] == {"kind": "random-init", "preset": "tiny", "seed": 0}
    graphs = {(g["name"], g["precision"], g.get("int8_weights")) for g in m["graphs"]}
    names = ("cell_encoder", "text_encoder", "decoder", "generator")
    assert graphs == {
        (n, p, w) for n in names for p, w in (("fp32", None), ("int8", "signed"), ("int8", "unsigned"), ("fp16", None))
    }
    for entry in list(m["files"].values()) + m["graphs"]:
        assert sha256_file(tiny_package / entry["file"]) == entry["sha256"]
    sp = m["special_tokens"]
    assert sp["stop"] == [sp["eos"], sp["signal"][0]]
    assert m["prompt"]["cell_text"] == "<CELL><CELL0></CELL>"
    table = np.load(tiny_package / m["files"]["token_embeddings"]["file"])
    assert list(table.shape) == m["files"]["token_embeddings"]["shape"]
    genes = (tiny_package / m["files"]["genes"]["file"]).read_text().splitlines()
    assert len(genes) == m["model"]["num_genes"] == m["files"]["genes"]["count"]
    dec = next(g for g in m["graphs"] if g["name"] == "decoder" and g["precision"] == "fp32")
    layers = m["model"]["num_decoder_layers"]
    per_layer = lambda *prefixes: [f"{p}_{i}" for p in prefixes for i in range(layers)]  # noqa: E731
    assert [i["name"] for i in dec["inputs"]] == [
        "input_ids",
        "encoder_attention_mask",
        *per_layer("past_key", "past_value", "cross_key", "cross_value"),
    ]
    assert [o["name"] for o in dec["outputs"]] == ["logits", "hidden", *per_layer("present_key", "present_value")]
    enc = next(g for g in m["graphs"] if g["name"] == "text_encoder" and g["precision"] == "fp32")
    assert [o["name"] for o in enc["outputs"]] == ["encoder_hidden_states", *per_layer("cross_key", "cross_value")]
    assert all(len(i["shape"]) == 4 for i in dec["inputs"][2:])


def test_export_verification_report(tiny_package):
    report = json.loads((tiny_package / "verification.json").read_text())
    assert report["passed"] and report["pairs"] >= 20
    fp32 = report["precisions"]["fp32"]
    checks = {c["name"]: c for c in fp32["checks"]}
    assert checks["greedy.sequences_differing"]["value"] == 0
    assert all(c["passed"] for c in fp32["checks"])
    # Random weights must not make decoding degenerate: outputs differ between prompts.
    assert fp32["stats"]["distinct_sequences"] >= 10
    for precision in ("int8", "fp16"):
        assert report["precisions"][precision]["error"] is None
        assert not report["precisions"][precision]["enforced"]


def test_verify_command_passes_and_detects_tampering(tiny_package, tmp_path):
    assert (
        main(["verify", "--package", str(tiny_package), "--precision", "fp32", "--report", str(tmp_path / "r.json")])
        == 0
    )
    assert json.loads((tmp_path / "r.json").read_text())["passed"]
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_package, bad)
    graph = bad / "fp32" / "generator.onnx"
    graph.write_bytes(graph.read_bytes() + b"\0")
    assert main(["verify", "--package", str(bad)]) == EXIT_VERIFY


@pytest.mark.parametrize("weights", ["safetensors", "bin"])
def test_checkpoint_in_original_layout_exports_and_verifies(tmp_path, weights):
    ck = tmp_path / "my-ckpt-chat"
    write_checkpoint(ck, weights)
    out = tmp_path / "pkg"
    assert main(["export", "--checkpoint", str(ck), "--out", str(out), "--precision", "fp32"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["variant"] == "chat" and m["source"]["tokenizer"] == "spiece"
    assert (out / "genes.txt").read_text().splitlines()[0] == "Gene0"
    assert main(["verify", "--package", str(out)]) == 0


def test_verification_fails_when_weights_change(tmp_path):
    ck = tmp_path / "ck"
    write_checkpoint(ck)
    out = tmp_path / "pkg"
    assert (
        main(["export", "--checkpoint", str(ck), "--variant", "instruct", "--out", str(out), "--precision", "fp32"])
        == 0
    )
    state = load_file(str(ck / "model.safetensors"))
    key = "assistant.base_model.decoder.block.0.layer.2.DenseReluDense.wo.weight"
    state[key] = state[key] * 1.01
    save_file(state, str(ck / "model.safetensors"))
    assert main(["verify", "--package", str(out)]) == EXIT_VERIFY


def _export_fails(args, out, capsys, message):
    assert main(["export", *args, "--out", str(out), "--precision", "fp32"]) == EXIT_INPUT
    assert message in capsys.readouterr().err
    assert not any(n.startswith(f".{out.name}.partial") for n in _siblings(out)), "partial output left behind"


def test_corrupted_checkpoint_names_the_problem(checkpoint_copy, tmp_path, capsys):
    (checkpoint_copy / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    out = tmp_path / "out" / "pkg"
    _export_fails(["--checkpoint", str(checkpoint_copy)], out, capsys, "model.safetensors")
    assert not out.exists()


def test_gene_vocabulary_of_wrong_length(checkpoint_copy, tmp_path, capsys):
    genes = tmp_path / "genes.txt"
    genes.write_text("A\nB\nC\n")
    _export_fails(
        ["--checkpoint", str(checkpoint_copy), "--gene-vocab", str(genes)],
        tmp_path / "pkg",
        capsys,
        "has 3 symbols but the model's cell encoder takes 40 genes",
    )


def test_missing_gene_list_and_variant(checkpoint_copy, tmp_path, capsys):
    _export_fails(["--checkpoint", str(checkpoint_copy.parent / "absent")], tmp_path / "p0", capsys, "does not exist")
    (checkpoint_copy / "genes.json").unlink()
    _export_fails(["--checkpoint", str(checkpoint_copy)], tmp_path / "p1", capsys, "pass --gene-vocab")
    renamed = checkpoint_copy.with_name("plain")
    checkpoint_copy.rename(renamed)
    genes = tmp_path / "g.json"
    genes.write_text(json.dumps([f"G{i}" for i in range(40)]))
    _export_fails(["--checkpoint", str(renamed), "--gene-vocab", str(genes)], tmp_path / "p2", capsys, "pass --variant")


def test_wrong_model_type(checkpoint_copy, tmp_path, capsys):
    raw = json.loads((checkpoint_copy / "config.json").read_text())
    raw["model_type"] = "blip-2"
    (checkpoint_copy / "config.json").write_text(json.dumps(raw))
    _export_fails(["--checkpoint", str(checkpoint_copy)], tmp_path / "pkg", capsys, "expected 'instructcell'")


def test_unwritable_and_existing_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["export", "--random-init", "--out", str(blocker / "pkg")]) == EXIT_INPUT
    assert "cannot write" in capsys.readouterr().err
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    assert main(["export", "--random-init", "--out", str(existing)]) == EXIT_INPUT
    assert "already exists" in capsys.readouterr().err
    assert (existing / "keep.txt").read_text() == "mine"


def test_bad_precision_and_pairs(tmp_path, capsys):
    assert main(["export", "--random-init", "--out", str(tmp_path / "p"), "--precision", "int4"]) == EXIT_INPUT
    assert "unknown precision" in capsys.readouterr().err
    assert main(["export", "--random-init", "--out", str(tmp_path / "p"), "--pairs", "5"]) == EXIT_INPUT


def test_module_entry_point_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "instructcell_onnx", "verify", "--package", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == EXIT_INPUT and "not a model package" in proc.stderr


@pytest.mark.skipif(not (REFERENCE / "checkpoint-tiny-random").is_dir(), reason="shared reference data not present")
def test_reference_checkpoint_exports_and_verifies(tmp_path):
    out = tmp_path / "ref"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(REFERENCE / "checkpoint-tiny-random"),
                "--variant",
                "instruct",
                "--out",
                str(out),
                "--precision",
                "fp32",
            ]
        )
        == 0
    )
    m = json.loads((out / "manifest.json").read_text())
    assert m["model"]["num_genes"] == 500 and m["special_tokens"]["placeholder"] == 2102
