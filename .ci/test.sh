#!/usr/bin/env bash
# The test command: sets the machine up, then runs every test of the crate.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash .ci/setup.sh
export INSTRUCTCELL_PYTHON="$root/target/venv-data/bin/python"
cargo test --all-features --all-targets
cargo test --all-features --doc
