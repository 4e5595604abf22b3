"""The unsigned int8 graphs: the same integers as the signed ones, multiplied exactly on any CPU."""

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from instructcell_onnx.errors import ExportError
from instructcell_onnx.int8_weights import UNSIGNED_DIR, add_unsigned, preferred_weights, to_unsigned
from instructcell_onnx.manifest import check_files, read_manifest
from instructcell_onnx.ort_pipeline import PackageRunner


def _matmul(path, weight):
    k, n = weight.shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [numpy_helper.from_array(weight, "w")]
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _reference(x, weight):
    """What the quantized graph means: per-tensor uint8 activations (DynamicQuantizeLinear),
    symmetric per-column int8 weights, exact integer products."""
    lo, hi = min(x.min(), 0.0), max(x.max(), 0.0)
    a_scale = (hi - lo) / 255.0
    a_zero = np.clip(np.round(-lo / a_scale), 0, 255)
    a = np.clip(np.round(x / a_scale) + a_zero, 0, 255).astype(np.int64)
    w_scale = np.abs(weight).max(axis=0) / 127.0
    w = np.clip(np.round(weight / w_scale), -127, 127).astype(np.int64)
    return ((a - int(a_zero)) @ w).astype(np.float64) * a_scale * w_scale


def test_unsigned_graph_computes_the_exact_integer_product(tmp_path):
    # Large positive activations against large weights of one sign in adjacent rows: the pairs
    # a CPU without VNNI would add into 16-bit integers exceed 32767.
    rng = np.random.default_rng(0)
    k, n = 64, 8
    weight = rng.uniform(0.5, 1.0, (k, n)).astype(np.float32)
    x = rng.uniform(0.9, 1.0, (3, k)).astype(np.float32)
    x[:, 0] = 0.0  # puts the zero point at 0, so activations reach 255
    _matmul(tmp_path / "f.onnx", weight)
    quantize_dynamic(
        str(tmp_path / "f.onnx"),
        str(tmp_path / "s.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"MatMulConstBOnly": True},
    )
    assert to_unsigned(tmp_path / "s.onnx", tmp_path / "u.onnx") == 2
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "u.onnx")).graph.initializer}
    signed = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "s.onnx")).graph.initializer}
    for name, values in signed.items():
        if values.dtype == np.int8:
            assert inits[name].dtype == np.uint8
            assert np.array_equal(inits[name].astype(np.int16) - 128, values.astype(np.int16))
    run = lambda f: ort.InferenceSession(str(tmp_path / f), providers=["CPUExecutionProvider"]).run(  # noqa: E731
        None, {"x": x}
    )[0]
    ref = _reference(x, weight)
    np.testing.assert_allclose(run("u.onnx"), ref, rtol=1e-5)
    if preferred_weights() == "signed":  # exact here too; elsewhere the products saturate
        np.testing.assert_allclose(run("s.onnx"), ref, rtol=1e-5)


def test_to_unsigned_refuses_graphs_without_quantized_weights(tmp_path):
    _matmul(tmp_path / "f.onnx", np.ones((4, 4), np.float32))
    with pytest.raises(ExportError, match="no int8 MatMulInteger"):
        to_unsigned(tmp_path / "f.onnx", tmp_path / "u.onnx")


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu sse avx2 avx512f avx512_vnni", "signed"),
        ("fpu sse avx2 avx_vnni", "signed"),
        ("fpu sse avx2 fma", "unsigned"),
        ("fpu sse avx2 avx512f avx512bw", "unsigned"),
    ],
)
def test_preferred_weights_follow_vnni(flags, expected):
    assert preferred_weights(f"processor\t: 0\nflags\t\t: {flags}\n") == expected


def test_exported_package_runs_both_sets(tiny_package):
    m = read_manifest(tiny_package)
    assert {g.get("int8_weights") for g in m["graphs"] if g["precision"] == "int8"} == {"signed", "unsigned"}
    for weights in ("signed", "unsigned"):
        r = PackageRunner(tiny_package, "int8", int8_weights=weights)
        assert r.int8_weights == weights
        assert all((UNSIGNED_DIR in s._model_path) == (weights == "unsigned") for s in r.sessions.values())
    assert PackageRunner(tiny_package, "int8").int8_weights == preferred_weights()


def test_add_unsigned_upgrades_an_older_package(tiny_package, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_package, old)
    shutil.rmtree(old / UNSIGNED_DIR)
    m = read_manifest(old)
    m["format_version"] = 2
    m["graphs"] = [
        {k: v for k, v in g.items() if k != "int8_weights"} for g in m["graphs"] if g.get("int8_weights") != "unsigned"
    ]
    (old / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ExportError, match="no complete set of int8 \\(unsigned weights\\)"):
        PackageRunner(old, "int8", int8_weights="unsigned")
    added = add_unsigned(old)
    assert len(added) == 4
    upgraded = read_manifest(old)
    assert upgraded["format_version"] == 3 and not check_files(old, upgraded)
    for g in added:
        original = tiny_package / g["file"]
        assert (old / g["file"]).read_bytes() == original.read_bytes()
    with pytest.raises(ExportError, match="already has unsigned"):
        add_unsigned(old)
    assert not [p.name for p in old.iterdir() if p.name.startswith(".")]
