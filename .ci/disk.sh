#!/usr/bin/env bash
# Prints the free disk space and the size of the build and Python directories, after a CI stage.
# Usage: disk.sh STAGE
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sizes=$(du -sh target/debug target/package-test target/release target/venv-data target/venv-workflow onnx/.venv \
  fuzz/target 2>/dev/null | awk '{printf "%s %s, ", $2, $1}')
echo "disk after $1: $(df -h --output=avail . | tail -n 1 | tr -d ' ') free; ${sizes%, }"
