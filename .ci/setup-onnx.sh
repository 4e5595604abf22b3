#!/usr/bin/env bash
# Idempotent set-up of the exporter's Python environment (onnx/.venv, pinned, from PyPI).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# torch, transformers, onnx, onnxruntime for the exporter; pytest for its tests; ruff for
# .ci/lint-python.sh.
bash "$root/.ci/venv.sh" "$root/onnx/.venv" "$root/onnx/requirements.txt"
