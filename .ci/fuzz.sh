#!/usr/bin/env bash
# Fuzz targets in CI: installs cargo-fuzz when missing, builds every target (libFuzzer, ASan,
# debug assertions; RUSTC_BOOTSTRAP lets the stable toolchain take the sanitizer flags),
# replays the crash corpus (tests/data/fuzz-crashes/<target>/) and runs each target briefly
# from the seed corpus. FUZZ_SECONDS sets the run length per target (default 20).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
bash fuzz/seed.sh
mkdir -p "$root/fuzz/artifacts"
cd fuzz
cargo fuzz build -O --debug-assertions
bin="$root/fuzz/target/x86_64-unknown-linux-gnu/release"
for target in $(cargo fuzz list); do
  crashes="$root/tests/data/fuzz-crashes/$target"
  if [ -d "$crashes" ] && [ -n "$(ls -A "$crashes")" ]; then
    echo "fuzz: replaying $(ls "$crashes" | wc -l) crash inputs of $target"
    "$bin/$target" -runs=1 "$crashes"/*
  fi
  echo "fuzz: $target for ${seconds} s"
  "$bin/$target" -max_total_time="$seconds" -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$root/fuzz/artifacts/$target-" "corpus/$target" 2>&1 | tail -n 12
done
echo "fuzz: every target ran without a crash"
