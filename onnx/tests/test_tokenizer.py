"""tokenizer.json built from a slow T5 SentencePiece model encodes exactly like the slow tokenizer."""

import pytest

from conftest import REFERENCE
from instructcell_onnx import tokenizer as tokenization
from instructcell_onnx.checkpoint import load_config
from instructcell_onnx.errors import ExportError


def _reference(directory, cfg, tok):
    extra_ids, legacy, added = tokenization.slow_tokenizer_settings(directory)
    return tokenization.SentencePieceReference(directory / "spiece.model", added, legacy, cfg.t5.eos_token_id)


def test_conversion_matches_sentencepiece(checkpoint_dir):
    cfg = load_config(checkpoint_dir / "config.json")
    tok, source = tokenization.from_checkpoint(checkpoint_dir, cfg)
    assert source == "spiece"
    ref = _reference(checkpoint_dir, cfg, tok)
    assert tokenization.check_against_slow(tok, ref) == len(tokenization.PARITY_SAMPLES)
    # Text glued to an added token gets no word prefix (legacy=False), text after a space does.
    glued = tok.encode("<CELL0>cell").tokens
    spaced = tok.encode("<CELL0> cell").tokens
    assert glued[1] == "c" or not glued[1].startswith("▁")
    assert spaced[1].startswith("▁")


def test_cell_tokens_are_special_with_config_ids(checkpoint_dir):
    cfg = load_config(checkpoint_dir / "config.json")
    tok, _ = tokenization.from_checkpoint(checkpoint_dir, cfg)
    added = {t.content: (i, t.special) for i, t in tok.get_added_tokens_decoder().items()}
    sp = cfg.special
    assert added["<CELL>"] == (sp.start_tag, True)
    assert added["</CELL>"] == (sp.end_tag, True)
    assert added["<CELL0>"] == (sp.placeholder, True)
    assert added["<CELL1>"] == (sp.first_signal, True)
    ids = tok.encode("a <CELL><CELL0></CELL> b").ids
    at = ids.index(sp.start_tag)
    assert ids[at : at + 3] == [sp.start_tag, sp.placeholder, sp.end_tag] and ids[-1] == 1


def test_reference_detects_a_wrong_conversion(checkpoint_dir):
    cfg = load_config(checkpoint_dir / "config.json")
    tok, _ = tokenization.from_checkpoint(checkpoint_dir, cfg)
    ref = _reference(checkpoint_dir, cfg, tok)
    ref.legacy = True  # a legacy tokenizer prefixes every chunk: must be caught
    with pytest.raises(ExportError, match="differs from the SentencePiece tokenizer"):
        tokenization.check_against_slow(tok, ref)


def test_id_clash_is_an_error(checkpoint_copy):
    import json

    raw = json.loads((checkpoint_copy / "config.json").read_text())
    raw["base_model_config"]["special_tokens_index_dict"]["placeholder"] += 1
    raw["base_model_config"]["special_tokens_index_dict"]["end_tag"] -= 1
    (checkpoint_copy / "config.json").write_text(json.dumps(raw))
    cfg = load_config(checkpoint_copy / "config.json")
    with pytest.raises(ExportError, match="has id .* but config.json says"):
        tokenization.from_checkpoint(checkpoint_copy, cfg)


def test_missing_tokenizer(checkpoint_copy):
    (checkpoint_copy / "spiece.model").unlink()
    cfg = load_config(checkpoint_copy / "config.json")
    with pytest.raises(ExportError, match="no tokenizer"):
        tokenization.from_checkpoint(checkpoint_copy, cfg)


def test_corrupt_spiece(checkpoint_copy):
    (checkpoint_copy / "spiece.model").write_bytes(b"\x00garbage\xff" * 10)
    cfg = load_config(checkpoint_copy / "config.json")
    with pytest.raises(ExportError, match="SentencePiece model"):
        tokenization.from_checkpoint(checkpoint_copy, cfg)


@pytest.mark.skipif(not (REFERENCE / "checkpoint-tiny-random").is_dir(), reason="shared reference data not present")
def test_reference_checkpoint_tokenizer():
    d = REFERENCE / "checkpoint-tiny-random"
    cfg = load_config(d / "config.json")
    tok, _ = tokenization.from_checkpoint(d, cfg)
    assert tok.get_vocab_size() == 2104
    tokenization.check_against_slow(tok, _reference(d, cfg, tok))
