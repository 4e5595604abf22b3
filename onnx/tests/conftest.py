"""Fixtures: tiny checkpoints written in the original ``save_pretrained`` layout, and exported packages."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from safetensors.torch import save_file

from instructcell_onnx.checkpoint import TIED_KEYS
from instructcell_onnx.config import parse_config, preset_raw_config
from instructcell_onnx.modeling import InstructCellModel
from instructcell_onnx.random_init import randomize

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "instructcell"
N_GENES = 40
# Verification prompts are made of these words; a vocabulary that knows them keeps prompts short.
CORPUS = [
    "User: Assistant: the quick brown fox jumps over the lazy dog",
    "which cell type is it comes from human mouse pancreas liver skin blood lung choose from",
    "annotate sequenced with genomics smart seq2 drop seq possible answers",
    "is sensitive or resistant to cisplatin erlotinib a bet inhibitor",
    "describe the cell in one sentence was profiled by name its type generate please",
    "Alpha Beta Delta Ductal T cell B cell Macrophage Sensitive Resistant 10x",
] * 40


def train_spiece() -> bytes:
    """A small T5-style SentencePiece Unigram model (pad 0, eos 1, unk 2)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=buf,
        vocab_size=400,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        minloglevel=2,
        hard_vocab_limit=False,
    )
    return buf.getvalue()


def _tokenizer_files(directory: Path, n_pieces: int) -> None:
    cells = ["<CELL>", "</CELL>", "<CELL0>", "<CELL1>"]
    extra = {
        str(n_pieces + 99 - i): {
            "content": f"<extra_id_{i}>",
            "lstrip": True,
            "rstrip": True,
            "normalized": False,
            "single_word": False,
            "special": True,
        }
        for i in range(100)
    }
    added = {
        str(n_pieces + 100 + j): {
            "content": c,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "single_word": False,
            "special": True,
        }
        for j, c in enumerate(cells)
    }
    base = {
        str(i): {
            "content": c,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "single_word": False,
            "special": True,
        }
        for i, c in enumerate(["<pad>", "</s>", "<unk>"])
    }
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "add_prefix_space": True,
                "added_tokens_decoder": {**base, **extra, **added},
                "extra_ids": 100,
                "legacy": False,
                "eos_token": "</s>",
                "pad_token": "<pad>",
                "unk_token": "<unk>",
                "tokenizer_class": "T5Tokenizer",
            }
        )
    )
    (directory / "added_tokens.json").write_text(
        json.dumps(
            {**{v["content"]: int(k) for k, v in extra.items()}, **{v["content"]: int(k) for k, v in added.items()}}
        )
    )
    (directory / "special_tokens_map.json").write_text(json.dumps({"eos_token": "</s>", "pad_token": "<pad>"}))


def write_checkpoint(directory: Path, weights: str = "safetensors", seed: int = 1) -> InstructCellModel:
    """Write a tiny random checkpoint the way the original code lays it out; return the model."""
    directory.mkdir(parents=True, exist_ok=True)
    proto = train_spiece()
    (directory / "spiece.model").write_bytes(proto)
    n_pieces = spm.SentencePieceProcessor(model_proto=proto).get_piece_size()
    raw = preset_raw_config("tiny", n_pieces + 104, N_GENES)
    # save_pretrained stores only the T5 fields that differ from T5Config's defaults.
    raw["base_model_config"] = {k: v for k, v in raw["base_model_config"].items() if k != "model_type"}
    raw["base_model_config"]["model_type"] = "t5"
    raw["architectures"] = ["InstructCell"]
    (directory / "config.json").write_text(json.dumps(raw, indent=2))
    _tokenizer_files(directory, n_pieces)
    (directory / "genes.json").write_text(json.dumps([f"Gene{i}" for i in range(N_GENES)]))
    model = InstructCellModel(parse_config(raw))
    randomize(model, seed)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    if weights == "safetensors":
        save_file({k: v for k, v in state.items() if k not in TIED_KEYS[1:]}, str(directory / "model.safetensors"))
    elif weights == "bin":
        torch.save(state, str(directory / "pytorch_model.bin"))
    elif weights == "sharded":
        keys = sorted(k for k in state if k not in TIED_KEYS[1:])
        half = len(keys) // 2
        shards = {"model-00001-of-00002.safetensors": keys[:half], "model-00002-of-00002.safetensors": keys[half:]}
        for name, part in shards.items():
            save_file({k: state[k] for k in part}, str(directory / name))
        index = {"metadata": {}, "weight_map": {k: n for n, part in shards.items() for k in part}}
        (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    else:
        raise ValueError(weights)
    return model


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    """A pristine safetensors checkpoint (copy it before modifying)."""
    d = tmp_path_factory.mktemp("ckpt") / "tiny-instruct"
    write_checkpoint(d)
    return d


@pytest.fixture
def checkpoint_copy(checkpoint_dir, tmp_path) -> Path:
    """A private copy of the checkpoint that a test may corrupt."""
    dst = tmp_path / "tiny-instruct"
    shutil.copytree(checkpoint_dir, dst)
    return dst


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory) -> Path:
    """A random tiny package with all three precisions, exported and verified once per session."""
    from instructcell_onnx.cli import main

    out = tmp_path_factory.mktemp("pkg") / "tiny"
    assert (
        main(["export", "--random-init", "--preset", "tiny", "--out", str(out), "--precision", "fp32,int8,fp16"]) == 0
    )
    return out
