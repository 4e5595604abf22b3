#!/usr/bin/env bash
# Sets the machine up (ONNX Runtime and the Python tools, from PyPI), shows the `instructcell`
# command-line tool on the bundled model and held-out store, then runs the library demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash .ci/setup.sh
export ORT_DYLIB_PATH="$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
cargo build --release --bin instructcell --example demo
ic="$root/target/release/instructcell"
store="$root/examples/data/pbmc68k_heldout.zarr"
out="$root/target/demo"
rm -rf "$out" && mkdir -p "$out"

echo "== instructcell info: the bundled model and store"
"$ic" info --input "$store"

echo
echo "== instructcell annotate: scored labels below 0.5 become Unassigned; a new store + a table"
"$ic" annotate --input "$store" --mode scored --p-thres 0.5 \
  --metadata species=human --metadata tissue=obs:tissue \
  --output "$out/annotated.zarr" --table "$out/annotated.tsv"
head -n 4 "$out/annotated.tsv" | cut -f 1-6

echo
echo "== the same run in 4 shards, merged: identical to the single run"
for i in 1 2 3 4; do
  "$ic" --quiet annotate --input "$store" --mode scored \
    --metadata species=human --metadata tissue=obs:tissue \
    --shard "$i/4" --table "$out/part$i.tsv"
done
"$ic" --quiet merge --input "$store" --tables "$out"/part*.tsv --p-thres 0.5 \
  --output "$out/merged.zarr"
diff -r "$out/annotated.zarr" "$out/merged.zarr" && echo "merged store == single-run store"

echo
echo "== instructcell generate: 5 CD14+ monocytes as a new store"
"$ic" generate --conditions "cell_type=CD14+ Monocyte" --n-per-condition 5 --output "$out/generated.zarr"

echo
echo "== the library demo (examples/demo.rs)"
exec cargo run --release --example demo -- "$@"
