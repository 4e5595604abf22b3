#!/usr/bin/env bash
# Sets the machine up (ONNX Runtime and the Python tools, from PyPI) and runs the demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash .ci/setup.sh
export ORT_DYLIB_PATH="$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
exec cargo run --release --example demo -- "$@"
