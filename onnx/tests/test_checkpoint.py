"""Loading checkpoints in the original layout, and every way a checkpoint can be wrong."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import REFERENCE, write_checkpoint
from instructcell_onnx.checkpoint import load_checkpoint
from instructcell_onnx.config import parse_config, preset_raw_config
from instructcell_onnx.errors import ExportError
from instructcell_onnx.modeling import InstructCellModel


@pytest.mark.parametrize("weights", ["safetensors", "bin", "sharded"])
def test_loads_every_weight_layout(tmp_path, weights):
    written = write_checkpoint(tmp_path / "ck", weights)
    _, model = load_checkpoint(tmp_path / "ck")
    for key, value in written.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    t5 = model.t5
    # The four tied tensors are one tensor after loading.
    assert t5.lm_head.weight.data_ptr() == t5.shared.weight.data_ptr() == t5.encoder.embed_tokens.weight.data_ptr()


def test_safetensors_stores_only_the_shared_embedding(checkpoint_dir):
    keys = set(load_file(str(checkpoint_dir / "model.safetensors")))
    assert "assistant.base_model.shared.weight" in keys
    assert "assistant.base_model.lm_head.weight" not in keys


def _rewrite(directory, edit):
    path = directory / "model.safetensors"
    state = load_file(str(path))
    edit(state)
    save_file(state, str(path))


def test_missing_key_is_named(checkpoint_copy):
    _rewrite(checkpoint_copy, lambda s: s.pop("assistant.feature_decoder.base_model.px_r"))
    with pytest.raises(ExportError, match=r"missing keys: assistant\.feature_decoder\.base_model\.px_r"):
        load_checkpoint(checkpoint_copy)


def test_unexpected_key_is_named(checkpoint_copy):
    _rewrite(checkpoint_copy, lambda s: s.update({"assistant.extra.weight": torch.zeros(2)}))
    with pytest.raises(ExportError, match=r"unexpected keys: assistant\.extra\.weight"):
        load_checkpoint(checkpoint_copy)


def test_shape_mismatch_is_named(checkpoint_copy):
    key = "assistant.feature_decoder.mapping_layer.weight"
    _rewrite(checkpoint_copy, lambda s: s.update({key: torch.zeros(3, 3)}))
    with pytest.raises(ExportError, match=rf"shape mismatches: {key} \(checkpoint \(3, 3\)"):
        load_checkpoint(checkpoint_copy)


def test_inconsistent_tied_weights_are_rejected(checkpoint_copy):
    def edit(state):
        state["assistant.base_model.lm_head.weight"] = state["assistant.base_model.shared.weight"] + 1

    _rewrite(checkpoint_copy, edit)
    with pytest.raises(ExportError, match="tied weights differ"):
        load_checkpoint(checkpoint_copy)


def test_truncated_weights(checkpoint_copy):
    path = checkpoint_copy / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ExportError, match="cannot read weight file .*model.safetensors"):
        load_checkpoint(checkpoint_copy)


def test_corrupt_bin(tmp_path):
    write_checkpoint(tmp_path / "ck", "bin")
    (tmp_path / "ck" / "pytorch_model.bin").write_bytes(b"not a zip file at all")
    with pytest.raises(ExportError, match="pytorch_model.bin"):
        load_checkpoint(tmp_path / "ck")


def test_missing_shard(tmp_path):
    write_checkpoint(tmp_path / "ck", "sharded")
    (tmp_path / "ck" / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ExportError, match="missing weight file: .*model-00002-of-00002"):
        load_checkpoint(tmp_path / "ck")


def test_no_weights_and_no_directory(checkpoint_copy, tmp_path):
    (checkpoint_copy / "model.safetensors").unlink()
    with pytest.raises(ExportError, match="no weights in .*looked for model.safetensors"):
        load_checkpoint(checkpoint_copy)
    with pytest.raises(ExportError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")


def test_config_and_weights_disagree(checkpoint_copy):
    raw = json.loads((checkpoint_copy / "config.json").read_text())
    raw["base_model_config"]["d_ff"] = 96
    (checkpoint_copy / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ExportError, match="DenseReluDense.wi.weight"):
        load_checkpoint(checkpoint_copy)


@pytest.mark.skipif(not (REFERENCE / "state_dict.tsv").is_file(), reason="shared reference data not present")
def test_base_preset_has_exactly_the_published_keys_and_shapes():
    cfg = parse_config(preset_raw_config("base", 32104, 18961))
    with torch.device("meta"):
        model = InstructCellModel(cfg)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    published = {}
    for line in (REFERENCE / "state_dict.tsv").read_text().splitlines()[1:]:
        key, shape, _ = line.split("\t")
        published[key] = tuple(int(x) for x in shape.strip("()").split(",") if x.strip())
    assert ours == published


@pytest.mark.skipif(not (REFERENCE / "checkpoint-tiny-random").is_dir(), reason="shared reference data not present")
def test_loads_the_reference_checkpoint():
    cfg, model = load_checkpoint(REFERENCE / "checkpoint-tiny-random")
    assert cfg.special.placeholder == 2102 and cfg.cell_encoder.count_dim == 500
    assert model.t5.lm_head.weight.data_ptr() == model.t5.shared.weight.data_ptr()
