"""Write the graphs as ONNX files: fp32 by tracing, int8 by dynamic quantization, fp16 by conversion.

All precisions keep the same interface (names, fp32/int64 element types), so a runtime feeds
every package the same way; only the weights and internal arithmetic differ. The fp32
graphs come from ``torch.onnx.export``'s TorchScript-based exporter at opset 17 (the dynamo
exporter cannot trace ``transformers``' T5 here).
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import onnx
import torch
from torch import nn

from .errors import ExportError
from .graphs import GraphSpec

OPSET = 17
PRECISIONS = ("fp32", "int8", "fp16")


class _MatMulLinear(nn.Module):
    """``x @ W^T + b`` written as MatMul + Add so dynamic quantization applies to 2-D inputs too.

    ``nn.Linear`` on a 2-D input traces to ``Gemm``, which ONNX Runtime's dynamic quantizer skips.
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(x, self.weight.t())
        return y + self.bias if self.bias is not None else y


def _swap_linears(module: nn.Module) -> dict[tuple[nn.Module, str], nn.Module]:
    swapped = {}
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                swapped[(parent, name)] = child
                setattr(parent, name, _MatMulLinear(child))
    return swapped


def _restore(swapped: dict[tuple[nn.Module, str], nn.Module]) -> None:
    for (parent, name), child in swapped.items():
        setattr(parent, name, child)


def export_fp32(module: nn.Module, spec: GraphSpec, example: tuple[torch.Tensor, ...], path: Path) -> None:
    """Trace ``module`` on ``example`` and write ``path`` with every named axis dynamic."""
    dynamic = {}
    for name, _, shape in spec.inputs + spec.outputs:
        axes = {i: dim for i, dim in enumerate(shape) if isinstance(dim, str)}
        if axes:
            dynamic[name] = axes
    swapped = _swap_linears(module)
    try:
        with torch.no_grad(), warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                example,
                str(path),
                input_names=[n for n, _, _ in spec.inputs],
                output_names=[n for n, _, _ in spec.outputs],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    except Exception as exc:  # the exporter raises many unrelated types
        raise ExportError(f"ONNX export of graph '{spec.name}' failed: {exc}") from exc
    finally:
        _restore(swapped)
        module.eval()
    onnx.checker.check_model(str(path))


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization of MatMul weights, one scale per output column; embedding lookups
    (Gather) stay fp32. Per-column scales cost nothing measurable in speed and follow weight
    columns of very different magnitudes more closely than one scale per matrix (on the trained
    pbmc-small fixtures, int8 greedy answers equal fp32 on 24/24 prompts run one by one, against
    23/24 with one scale per matrix)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            extra_options={"MatMulConstBOnly": True},
        )
    except Exception as exc:
        raise ExportError(f"int8 quantization of {src.name} failed: {exc}") from exc


def convert_fp16(src: Path, dst: Path) -> None:
    """fp16 weights and arithmetic, fp32 inputs/outputs (casts at the graph boundary)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    try:
        model = onnx.load(str(src))
        # Softmax and the norms' reductions stay fp32 for range; they are cheap.
        converted = convert_float_to_float16(
            model,
            keep_io_types=True,
            disable_shape_infer=False,
            op_block_list=["Softmax", "ReduceMean", "Pow", "Sqrt", "Exp", "Log", "Range", "Softplus"],
        )
        onnx.save(converted, str(dst))
    except Exception as exc:
        raise ExportError(f"fp16 conversion of {src.name} failed: {exc}") from exc
