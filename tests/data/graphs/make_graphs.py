"""Write the tiny ONNX graphs used by the runtime tests (needs the `onnx` package).

affine.onnx:  y = x * w + b   with x float32 [batch, 3], w float32 [3] and b float32 [3]
constants; a dynamic batch axis. Small enough to read, real enough to run through ONNX Runtime.

Run: python tests/data/graphs/make_graphs.py
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def affine() -> onnx.ModelProto:
    w = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], dtype=np.float32), "w")
    b = numpy_helper.from_array(np.array([0.5, -1.0, 0.0], dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    onnx.save(affine(), HERE / "affine.onnx")
