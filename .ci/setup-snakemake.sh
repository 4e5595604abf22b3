#!/usr/bin/env bash
# Idempotent: the workflow's Python environment (Snakemake, its SLURM executor plugin,
# matplotlib) in target/venv-workflow from workflow/requirements.txt. Prints nothing when current.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/.ci/venv.sh" "$root/target/venv-workflow" "$root/workflow/requirements.txt"
