"""Two encodings of the same int8 weights, because CPUs multiply them differently.

The dynamically quantized graphs multiply uint8 activations by int8 weights. On x86-64 CPUs
with VNNI (``vpdpbusd``), on AMX and on ARM that product is exact. On x86-64 CPUs without VNNI
(AVX2 or AVX-512 without VNNI, e.g. AMD Zen 3), ONNX Runtime's kernel first adds pairs of
uint8 × int8 products into 16-bit integers, which saturate: large activations meeting large
weights are clipped, and answers change (on the trained pbmc-small package, 234 of 930 greedy
answers differed from fp32 this way, against 21 of 930 on a VNNI CPU).

Shifting every weight by +128 into uint8, with its zero point shifted the same way, describes
exactly the same integers: ``(w + 128) - (zp + 128) = w - zp``. ONNX Runtime multiplies
uint8 × uint8 with 16-bit widening and no saturation, so these ``unsigned`` graphs compute on
any CPU what the ``signed`` graphs compute on a VNNI CPU. A package carries both sets under
``int8/`` and ``int8-unsigned/``; runtimes pick one by CPU (see :func:`preferred_weights`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from . import PACKAGE_FORMAT_VERSION
from .errors import ExportError
from .leftovers import temp_sibling
from .manifest import MANIFEST_NAME, file_entry, read_manifest

#: Directory of the unsigned set inside a package.
UNSIGNED_DIR = "int8-unsigned"
#: CPU flags (Linux ``/proc/cpuinfo``) under which int8 × uint8 products are exact.
EXACT_SIGNED_FLAGS = ("avx512_vnni", "avx_vnni")


def entry_weights(entry: dict[str, Any]) -> str | None:
    """The weight encoding of a graph entry: ``signed``/``unsigned`` for int8, else ``None``."""
    if entry["precision"] != "int8":
        return None
    return entry.get("int8_weights", "signed")


def preferred_weights(cpuinfo: str | None = None) -> str:
    """``signed`` where this CPU multiplies uint8 × int8 exactly, ``unsigned`` otherwise.

    x86-64 without VNNI → ``unsigned``; other architectures (ARM's dot-product kernels are
    exact for both) → ``signed``. ``cpuinfo`` stands in for ``/proc/cpuinfo`` in tests.
    """
    if cpuinfo is None:
        if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
            return "signed"
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "unsigned"
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
            break
    return "signed" if flags.intersection(EXACT_SIGNED_FLAGS) else "unsigned"


def to_unsigned(src: Path, dst: Path) -> int:
    """Write ``src`` (a quantized graph) to ``dst`` with every MatMulInteger weight and weight zero
    point shifted from int8 to uint8 by +128; returns how many tensors were shifted."""
    try:
        model = onnx.load(str(src))
    except Exception as exc:
        raise ExportError(f"cannot read quantized graph {src}: {exc}") from exc
    inits = {t.name: t for t in model.graph.initializer}
    shifted: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        if len(node.input) < 4 or node.input[1] not in inits or node.input[3] not in inits:
            raise ExportError(f"{src.name}: MatMulInteger {node.name!r} lacks constant weights and zero points")
        for name in (node.input[1], node.input[3]):
            if name in shifted:
                continue
            tensor = inits[name]
            values = numpy_helper.to_array(tensor)
            if values.dtype != np.int8:
                raise ExportError(f"{src.name}: {name} is {values.dtype}, expected int8 weights")
            tensor.CopyFrom(numpy_helper.from_array((values.astype(np.int16) + 128).astype(np.uint8), name))
            shifted.add(name)
    if not shifted:
        raise ExportError(f"{src.name}: no int8 MatMulInteger weights to shift")
    try:
        onnx.checker.check_model(model)
        onnx.save(model, str(dst))
    except Exception as exc:
        raise ExportError(f"cannot write {dst}: {exc}") from exc
    return len(shifted)


def _write_unsigned(root: Path, signed: list[dict[str, Any]], out_dir: Path) -> list[dict[str, Any]]:
    """Write the unsigned twin of each ``signed`` entry's graph into ``out_dir``; the twins'
    entries, naming ``int8-unsigned/<file>`` (sizes and checksums still those of the signed
    files: fill them in once the files are in place)."""
    derived = []
    for entry in signed:
        name = Path(entry["file"]).name
        to_unsigned(root / entry["file"], out_dir / name)
        derived.append({**entry, "file": f"{UNSIGNED_DIR}/{name}", "int8_weights": "unsigned"})
    return derived


def unsigned_entries(root: Path, signed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write the unsigned set of ``signed`` int8 entries under ``root/int8-unsigned``; their entries."""
    (root / UNSIGNED_DIR).mkdir(exist_ok=True)
    return [{**d, **file_entry(root, d["file"])} for d in _write_unsigned(root, signed, root / UNSIGNED_DIR)]


def add_unsigned(root: Path) -> list[dict[str, Any]]:
    """Add the unsigned int8 set to an existing package (derived from its signed int8 graphs).

    The graphs are written to a temporary directory inside the package and renamed into place,
    then the manifest is replaced atomically; a package that already has the set is an error.
    """
    manifest = read_manifest(root)
    graphs = manifest["graphs"]
    if any(entry_weights(g) == "unsigned" for g in graphs):
        raise ExportError(f"{root} already has unsigned int8 graphs")
    signed = [g for g in graphs if entry_weights(g) == "signed"]
    if not signed:
        raise ExportError(f"{root} has no int8 graphs to derive unsigned ones from")
    if (root / UNSIGNED_DIR).exists():
        raise ExportError(f"{root / UNSIGNED_DIR} exists but the manifest does not list it; remove it first")
    tmp = temp_sibling(root / UNSIGNED_DIR, "partial")
    tmp.mkdir()
    try:
        derived = _write_unsigned(root, signed, tmp)
        os.rename(tmp, root / UNSIGNED_DIR)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for d in derived:
        d.update(file_entry(root, d["file"]))
    for g in signed:
        g["int8_weights"] = "signed"
    at = graphs.index(signed[-1]) + 1
    manifest["graphs"] = graphs[:at] + derived + graphs[at:]
    manifest["format_version"] = PACKAGE_FORMAT_VERSION
    part = temp_sibling(root / MANIFEST_NAME, "partial")
    part.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(part, root / MANIFEST_NAME)
    return derived
