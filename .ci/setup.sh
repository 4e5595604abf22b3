#!/usr/bin/env bash
# Idempotent machine set-up for the demo and the tests: system libraries and the Python
# environment used to write and read back AnnData fixtures. Safe to run repeatedly.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need_apt=()
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if ! pkg-config --exists hdf5 2>/dev/null && [ ! -e /usr/lib/x86_64-linux-gnu/hdf5/serial/libhdf5.so ]; then
  need_apt+=(libhdf5-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

bash "$root/.ci/venv.sh" "$root/target/venv-data" "$root/tests/data/requirements.txt"
