#!/usr/bin/env bash
# The feature matrix beside the all-features run of .ci/run and .ci/test.sh: with no features
# (the bare library: zarr only, no CLI, no C API) every target builds without a warning and the
# library's tests pass; with the default features (the CLI and `.h5ad`: what `cargo install`
# builds) the library and the tool build and their tests and the CLI's exit-code tests pass;
# `bundled-model` alone builds and writes its package. About 5 minutes warm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)}"
export INSTRUCTCELL_PYTHON="${INSTRUCTCELL_PYTHON:-$root/target/venv-data/bin/python}"
export INSTRUCTCELL_REQUIRE_ORT=1
echo "features: none"
cargo clippy --no-default-features --all-targets --quiet -- -D warnings
cargo test --no-default-features --lib --quiet
echo "features: default"
cargo test --lib --bins --test cli_errors --quiet
echo "features: bundled-model alone"
cargo test --no-default-features --features bundled-model --lib --quiet bundled
