#!/usr/bin/env bash
# Lint and format check of the exporter's Python code (onnx/) with ruff; the settings are in
# onnx/pyproject.toml ([tool.ruff]). To apply the fixes: onnx/.venv/bin/ruff format onnx &&
# onnx/.venv/bin/ruff check --fix onnx
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Idempotent: installs onnx/.venv (ruff pinned in onnx/requirements.txt) only when it is missing or stale.
bash .ci/setup-onnx.sh
onnx/.venv/bin/ruff format --check onnx
onnx/.venv/bin/ruff check onnx
