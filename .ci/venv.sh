#!/usr/bin/env bash
# Creates (or refreshes) a Python virtual environment from a pinned requirements file, only when
# the file changed since the last install. Usage: venv.sh VENV_DIR REQUIREMENTS_FILE
set -euo pipefail
venv="$1"
req="$2"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating Python environment $venv from $req"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-cache-dir --upgrade pip
  # No wheel cache: torch and its CUDA libraries would otherwise take their space twice.
  "$venv/bin/pip" install -q --no-cache-dir -r "$req"
  echo "$want" > "$stamp"
fi
