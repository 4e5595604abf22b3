#!/usr/bin/env bash
# Packaging: the data crates match the bundled package, `cargo package` makes three crates each
# under crates.io's 10 MB limit (the library ships no models or test data), and a fresh cargo
# project outside the repository, depending on the unpacked crates as a crates.io user's would
# (default features off, `bundled-model` on), builds offline and annotates the held-out PBMCs
# with the bundled model at fp32 and int8. About 5 to 7 minutes cold.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)}"
limit=10485760

python3 models/sync.py --check
rm -f target/package/*.crate
# --allow-dirty: a test of the working tree, not a release.
cargo package --workspace --no-verify --allow-dirty --quiet 2>&1 | grep -v "^warning: ignoring" || true

list=$(cargo package --list --allow-dirty -p instructcell 2>/dev/null)
for bad in '^onnx/' '^tests/' '^examples/' '^benches/' '^fuzz/' '^models/' '^workflow/'; do
  if grep -q "$bad" <<<"$list"; then
    echo "package-test: the instructcell crate ships ${bad#^}: $(grep "$bad" <<<"$list" | head -n 3)" >&2
    exit 1
  fi
done
for need in src/lib.rs include/instructcell.h README.md; do
  grep -qx "$need" <<<"$list" || { echo "package-test: $need missing from the crate" >&2; exit 1; }
done
for crate in target/package/*.crate; do
  size=$(stat -c %s "$crate")
  files=$(tar -tzf "$crate" | grep -vc '/$')
  echo "package-test: $(basename "$crate"): $size bytes, $files files"
  if [ "$size" -ge "$limit" ]; then
    echo "package-test: $(basename "$crate") is over crates.io's limit ($limit bytes)" >&2
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/instructcell-package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/crates" "$work/app/src"
for crate in target/package/*.crate; do
  tar -xzf "$crate" -C "$work/crates"
done
sed "s|@CRATES@|$work/crates|g" tests/packaging/Cargo.toml.in > "$work/app/Cargo.toml"
cp tests/packaging/src/main.rs "$work/app/src/main.rs"
# The repository's lock file pins the same versions; every crate is already in the local cache.
cp Cargo.lock "$work/app/Cargo.lock"
start=$(date +%s)
# A target directory of its own: the packaged crate's binaries and C libraries must not replace
# the repository build's in target/debug (which the tests and the comparison below run).
pkg_target="$root/target/package-test"
(cd "$work/app" && CARGO_TARGET_DIR="$pkg_target" \
  CARGO_PROFILE_DEV_DEBUG=line-tables-only cargo build --offline --quiet)
echo "package-test: fresh project built in $(($(date +%s) - start)) s"
cache="$work/cache"
INSTRUCTCELL_CACHE_DIR="$cache" "$pkg_target/debug/instructcell-package-test" \
  examples/data/pbmc68k_heldout.zarr
# The package the data crates wrote out is the bundled one, file for file.
written=$(ls -d "$cache"/pbmc-small-*)
diff -r onnx/models/pbmc-small "$written"
echo "package-test: the written package equals onnx/models/pbmc-small"

# `cargo install` of the packaged command-line tool with the bundled model (the data crates
# patched in as crates.io would serve them; skip with PACKAGE_TEST_CLI=0): it finds the model in the cache, and its table equals the table of the
# tool built in this repository (which reads onnx/models/pbmc-small).
if [ "${PACKAGE_TEST_CLI:-1}" != "0" ]; then
  patches=()
  for data in instructcell-model-pbmc-small instructcell-model-pbmc-small-int8; do
    patches+=(--config "patch.crates-io.$data.path='$work/crates/$data-0.1.0'")
  done
  start=$(date +%s)
  CARGO_TARGET_DIR="$pkg_target" CARGO_PROFILE_DEV_DEBUG=line-tables-only \
    cargo install --offline --quiet --debug --locked --features bundled-model \
    "${patches[@]}" \
    --path "$work/crates/instructcell-0.1.0" --root "$work/bin"
  echo "package-test: cargo install of the packaged tool in $(($(date +%s) - start)) s"
  local_bin="${INSTRUCTCELL_BIN:-$root/target/debug/instructcell}"
  [ -x "$local_bin" ] || cargo build --quiet --bin instructcell
  env -u INSTRUCTCELL_MODEL INSTRUCTCELL_CACHE_DIR="$work/cache2" "$work/bin/bin/instructcell" \
    annotate --input examples/data/pbmc68k_heldout.zarr --mode scored --table "$work/installed.tsv"
  env -u INSTRUCTCELL_MODEL "$local_bin" \
    annotate --input examples/data/pbmc68k_heldout.zarr --mode scored --table "$work/local.tsv"
  cmp "$work/installed.tsv" "$work/local.tsv"
  ls -d "$work/cache2"/pbmc-small-* >/dev/null
  echo "package-test: the installed tool's table equals the repository build's ($(($(wc -l < "$work/local.tsv") - 1)) cells)"
  # Without the bundled model, and no --model: exit code 4 (package) with the way out named.
  CARGO_TARGET_DIR="$pkg_target" CARGO_PROFILE_DEV_DEBUG=line-tables-only \
    cargo install --offline --quiet --debug --locked "${patches[@]}" \
    --path "$work/crates/instructcell-0.1.0" --root "$work/bin-plain"
  set +e
  env -u INSTRUCTCELL_MODEL "$work/bin-plain/bin/instructcell" annotate \
    --input examples/data/pbmc68k_heldout.zarr --table "$work/plain.tsv" 2> "$work/plain.err"
  code=$?
  set -e
  if [ "$code" -ne 4 ] || ! grep -q "INSTRUCTCELL_MODEL" "$work/plain.err" || [ -e "$work/plain.tsv" ]; then
    echo "package-test: without a model the tool exited $code: $(cat "$work/plain.err")" >&2
    exit 1
  fi
  echo "package-test: without the bundled model: exit 4, $(grep -m 1 "error" "$work/plain.err")"
fi
echo "package-test: passed"
