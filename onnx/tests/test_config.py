"""config.json parsing: defaults come from T5Config and the original config class, bad input is named."""

import json

import pytest

from instructcell_onnx.config import load_config, parse_config, preset_raw_config
from instructcell_onnx.errors import ExportError


def _raw():
    return preset_raw_config("tiny", 1104, 30)


def test_absent_t5_fields_take_t5config_defaults():
    raw = _raw()
    for key in ("relative_attention_num_buckets", "feed_forward_proj", "pad_token_id", "eos_token_id"):
        assert key not in raw["base_model_config"]
    cfg = parse_config(raw)
    assert cfg.t5.relative_attention_num_buckets == 32
    assert cfg.t5.relative_attention_max_distance == 128
    assert cfg.t5.feed_forward_proj == "relu"
    assert (cfg.t5.pad_token_id, cfg.t5.eos_token_id) == (0, 1)
    assert cfg.t5.scale_decoder_outputs is True
    assert cfg.special.placeholder == 1102 and cfg.special.signal_tokens == [1103]


def test_absent_cell_sections_take_original_defaults():
    raw = _raw()
    del raw["feature_decoder_config"]
    cfg = parse_config(raw)
    assert cfg.generator.n_latent == 256 and cfg.generator.n_hidden == 1024 and cfg.generator.adaptive_library


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(model_type="t5"), "model_type is 't5'"),
        (lambda r: r["base_model_config"].update(model_type="gpt2"), "only 't5'"),
        (lambda r: r["base_model_config"].update(special_tokens_index_dict=None), "special_tokens_index_dict"),
        (lambda r: r["base_model_config"]["special_tokens_index_dict"].pop("placeholder"), "'placeholder'"),
        (lambda r: r["feature_decoder_config"].update(use_batch_norm="both"), "use_batch_norm"),
        (lambda r: r["base_model_config"].update(tie_word_embeddings=False), "tie_word_embeddings"),
        (lambda r: r.pop("base_model_config"), "base_model_config is missing"),
    ],
)
def test_bad_configs_are_named(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ExportError, match=message):
        parse_config(raw)


def test_unreadable_config_file(tmp_path):
    with pytest.raises(ExportError, match="missing file"):
        load_config(tmp_path / "config.json")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ExportError, match="cannot read"):
        load_config(tmp_path / "config.json")
    (tmp_path / "config.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ExportError, match="JSON object"):
        load_config(tmp_path / "config.json")
