#!/usr/bin/env bash
# Scale measurements behind workflow/README.md's table: a synthetic store (default 1M cells x 30k
# genes, sharded zarr v3, ~5 % non-zero) annotated by the workflow (local profile, one shard at a
# time on all cores, fp32), then int8 shards alone, each under /usr/bin/time -v.
# Usage: bash workflow/scripts/scale_bench.sh [CELLS] [SHARDS] [INT8_SHARDS_TO_TIME]
# Env: MODEL (default: the bundled pbmc-small), THREADS (default: nproc), INSTRUCTCELL_BIN
# (default: target/release/instructcell). Output: target/scale/<cells>/ (results.tsv, logs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cells=${1:-1000000}
shards=${2:-16}
int8_timed=${3:-2}
threads=${THREADS:-$(nproc)}
out="$root/target/scale/$cells"
store="$root/target/scale/synthetic-$cells.zarr"
mkdir -p "$out/bin"
bash .ci/setup-snakemake.sh
: "${ORT_DYLIB_PATH:=$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)}"
export ORT_DYLIB_PATH
cp "${INSTRUCTCELL_BIN:-$root/target/release/instructcell}" "$out/bin/instructcell"
IC="$out/bin/instructcell"
rm -rf "$out/model"
cp -r "${MODEL:-$root/onnx/models/pbmc-small}" "$out/model"
MODEL="$out/model"
T=/usr/bin/time
res="$out/results.tsv"
printf 'step\tprecision\tcells\twall_s\tmodel_s\tmax_rss_mb\tcells_per_s\n' > "$res"

# wall seconds and peak RSS (MB) from a /usr/bin/time -v log
tv() { awk '/Elapsed \(wall clock\)/{n=split($NF,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; w=s}
            /Maximum resident/{r=$NF/1024} END{printf "%.2f\t%.0f", w, r}' "$1"; }

if [ ! -e "$store/zarr.json" ]; then
  $T -v target/venv-data/bin/python workflow/scripts/make_synthetic_store.py --out "$store" \
    --cells "$cells" --genes 30000 > "$out/make.log" 2>&1
fi
du -sh "$store" | tee "$out/store-size.txt"

# split: sizing the shards (info --json reads the store's metadata, no matrix)
$T -v "$IC" info --model "$MODEL" --input "$store" --json > "$out/info.json" 2> "$out/info.time"
printf 'info --json\t-\t%s\t%s\t-\t%s\t-\n' "$cells" "$(tv "$out/info.time" | cut -f1)" \
  "$(tv "$out/info.time" | cut -f2)" >> "$res"

# the workflow, fp32: one shard after the other on all cores
printf 'sample\tpath\nsyn\t%s\n' "$store" > "$out/samples.tsv"
cat > "$out/config.yaml" << EOF
samples: $out/samples.tsv
instructcell: $IC
model: $MODEL
shards: $shards
batch_size: 16
precision: fp32
retries: 0
resources:
  annotate: {threads: $threads}
  merge: {threads: $threads}
EOF
rm -rf "$out/wf"
$T -v target/venv-workflow/bin/snakemake --snakefile "$root/workflow/Snakefile" --directory "$out/wf" \
  --configfile "$root/config/config.yaml" "$out/config.yaml" --profile "$root/workflow/profiles/local" \
  --cores "$threads" > "$out/workflow.log" 2> "$out/workflow.time"
R="$out/wf/results"
# the workflow caps the shards at the store's max_shards
shards=$(ls "$R"/shards/syn/annotate/*.tsv | wc -l)
printf 'workflow total (%s shards + merge + summary)\tfp32\t%s\t%s\t-\t-\t-\n' "$shards" "$cells" \
  "$(tv "$out/workflow.time" | cut -f1)" >> "$res"
for i in $(seq 1 "$shards"); do
  b="$R/benchmarks/syn/annotate/part${i}of${shards}.tsv"
  l="$R/logs/syn/annotate/part${i}of${shards}.log"
  n=$(($(wc -l < "$R/shards/syn/annotate/part${i}of${shards}.tsv") - 1))
  model_s=$(sed -n 's/.*; model \([0-9.]*\) s.*/\1/p' "$l")
  awk -F'\t' -v n="$n" -v i="$i" -v m="$model_s" 'NR==2{printf "shard %d (workflow)\tfp32\t%d\t%.2f\t%s\t%.0f\t%.1f\n", i, n, $1, m, $3, n/$1}' "$b" >> "$res"
done
awk -F'\t' -v n="$cells" 'NR==2{printf "merge (workflow)\t-\t%d\t%.2f\t-\t%.0f\t%.1f\n", n, $1, $3, n/$1}' \
  "$R/benchmarks/syn/annotate/merge.tsv" >> "$res"

# int8 shards alone (same batch size, same units)
for i in $(seq 1 "$int8_timed"); do
  $T -v "$IC" annotate --model "$MODEL" --input "$store" --precision int8 --batch-size 16 \
    --threads "$threads" --shard "$i/$shards" --table "$out/int8-part$i.tsv" > "$out/int8-part$i.log" 2>&1
  n=$(($(wc -l < "$out/int8-part$i.tsv") - 1))
  model_s=$(sed -n 's/.*; model \([0-9.]*\) s.*/\1/p' "$out/int8-part$i.log")
  w=$(tv "$out/int8-part$i.log")
  printf 'shard %d (alone)\tint8\t%d\t%s\t%s\t%s\t%s\n' "$i" "$n" "${w%%$'\t'*}" "$model_s" "${w##*$'\t'}" \
    "$(awk -v n="$n" -v w="${w%%$'\t'*}" 'BEGIN{printf "%.1f", n/w}')" >> "$res"
done
column -t -s $'\t' "$res"
