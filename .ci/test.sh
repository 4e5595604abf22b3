#!/usr/bin/env bash
# The test command: sets the machine up, then runs every test of the crate.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash .ci/setup.sh
export INSTRUCTCELL_PYTHON="$root/target/venv-data/bin/python"
export INSTRUCTCELL_REQUIRE_ORT=1
export ORT_DYLIB_PATH="$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
# The C API test links the cdylib, which `cargo test` does not build.
cargo build --all-features --lib
cargo test --all-features --all-targets
cargo test --all-features --doc
# The exporter's tests (PyTorch reference, export, verification) on tiny models.
bash .ci/setup-onnx.sh
(cd onnx && .venv/bin/python -m pytest)
