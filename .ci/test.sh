#!/usr/bin/env bash
# The test command: sets the machine up, then runs every test of the crate.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash .ci/setup.sh
export INSTRUCTCELL_PYTHON="$root/target/venv-data/bin/python"
export INSTRUCTCELL_REQUIRE_ORT=1
# HDF5 opens files without close-on-exec: a Python child a parallel test starts inherits the
# descriptor and keeps the file's lock after the test closes it, so a later open of the same
# file fails with EAGAIN (tests/io_mudata.rs, about 1 run in 2). No test relies on the lock.
export HDF5_USE_FILE_LOCKING=FALSE
export ORT_DYLIB_PATH="$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
# The C API test links the cdylib, which `cargo test` does not build.
cargo build --all-features --lib
cargo test --all-features --all-targets
cargo test --all-features --doc
# The exporter's tests (PyTorch reference, export, verification) on tiny models.
bash .ci/setup-onnx.sh
(cd onnx && .venv/bin/python -m pytest)
# The Snakemake workflow (workflow/): sharded runs equal one run byte for byte, fp32 and int8,
# and a killed run resumes with only the unfinished shards (bundled store; about 2 minutes).
INSTRUCTCELL_BIN="$root/target/debug/instructcell" bash workflow/tests/run_local.sh
# The same workflow on a private single-node SLURM through the executor plugin (apt-installs
# slurm, munge, slurmdbd and mariadb when missing; needs root; about 2 minutes).
if [ "$(id -u)" -eq 0 ]; then
  INSTRUCTCELL_BIN="$root/target/debug/instructcell" bash .ci/slurm-test.sh
else
  echo "test: skipping .ci/slurm-test.sh (needs root: apt, /etc/slurm, munged)"
fi
