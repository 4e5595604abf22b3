#!/usr/bin/env bash
# The workflow's local test, one command: bash workflow/tests/run_local.sh
#  1. fp32: 3 stores (zarr v2, zarr v3, h5ad) x 4 shards, annotate (+ --p-thres at the merge),
#     drug-response and one generated condition; every merged store equals one unsharded run
#     byte for byte (diff -r), every merged table too (cmp).
#  2. int8: shards: auto (5 shards of whole units), one batch size for all shards,
#     --majority-voting at the merge; equal to one unsharded int8 run with that batch size.
#     A shard record with another batch size makes the merge refuse.
#  3. resume: a run with 12 slowed shards is killed (SIGKILL of its whole process group) after
#     some shards finished; the rerun recomputes exactly the unfinished shards (per Snakemake's
#     log), the finished shard tables keep their mtime, the result still equals one run. Then one
#     shard's output and the merged store are deleted: only that shard runs again.
# Env: INSTRUCTCELL_BIN (default: cargo build --bin instructcell, target/debug/instructcell),
#      INSTRUCTCELL_MODEL (default: the bundled onnx/models/pbmc-small; both are copied first),
#      ORT_DYLIB_PATH (default: target/venv-data's onnxruntime), WORKFLOW_TEST_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
start=$SECONDS

bash .ci/setup-snakemake.sh
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  [ -x target/venv-data/bin/python ] || bash .ci/setup.sh
  ORT_DYLIB_PATH="$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
  export ORT_DYLIB_PATH
fi
work="${WORKFLOW_TEST_DIR:-$root/target/workflow-test/local}"
rm -rf "$work"
mkdir -p "$work/bin" "$work/ref"
if [ -n "${INSTRUCTCELL_BIN:-}" ]; then
  bin="$INSTRUCTCELL_BIN"
else
  cargo build -q --bin instructcell
  bin="$root/target/debug/instructcell"
fi
# A private copy: a rebuild during the test cannot change the binary between runs.
cp "$bin" "$work/bin/instructcell"
IC="$work/bin/instructcell"
# Likewise the model package (its manifest.json is an input of the model jobs).
MODEL="$work/model"
cp -r "${INSTRUCTCELL_MODEL:-$root/onnx/models/pbmc-small}" "$MODEL"
SNAKEMAKE="$root/target/venv-workflow/bin/snakemake"
V2="$root/examples/data/pbmc68k_heldout.zarr"
V3="$root/examples/data/pbmc68k_heldout.v3.zarr"
H5="$work/pbmc68k.h5ad"
"$root/target/venv-data/bin/python" -c "import anndata, sys; anndata.read_zarr(sys.argv[1]).write_h5ad(sys.argv[2])" "$V2" "$H5"
log() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - start)); }
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'sample\tpath\tspecies\ttissue\nv2\t%s\thuman\tblood\nv3\t%s\thuman\tblood\nh5\t%s\thuman\tblood\n' \
  "$V2" "$V3" "$H5" > "$work/samples.tsv"
printf 'sample\tpath\nv2\t%s\n' "$V2" > "$work/samples-one.tsv"
store_of() { case "$1" in v2) echo "$V2" ;; v3) echo "$V3" ;; h5) echo "$H5" ;; esac; }
ext_of() { case "$1" in h5) echo .h5ad ;; *) echo .zarr ;; esac; }

# snakemake in its own directory with the default config plus the run's overrides
sm() {
  local dir="$1" cfg="$2"
  shift 2
  mkdir -p "$dir"
  "$SNAKEMAKE" --snakefile "$root/workflow/Snakefile" --directory "$dir" \
    --configfile "$root/config/config.yaml" "$cfg" --profile "$root/workflow/profiles/local" \
    --cores 2 "$@"
}

# same <merged dir-or-file> <reference>
same() {
  diff -r "$1" "$2" > /dev/null || fail "$1 differs from the unsharded $2"
}

# ------------------------------------------------------------------ 1. fp32
log "fp32: 3 stores x 4 shards (annotate, drug-response), generate"
cat > "$work/fp32.yaml" <<EOF
samples: $work/samples.tsv
instructcell: $IC
model: $MODEL
shards: 4
batch_size: 16
precision: fp32
annotate: {p_thres: 0.5}
drug_response: {drugs: [cisplatin]}
generate: {conditions: [{name: mono, conditions: "cell_type=CD14+ Monocyte;tissue=blood", n: 12}], seed: 7}
resources:
  annotate: {threads: 1}
  drug_response: {threads: 1}
EOF
sm "$work/fp32" "$work/fp32.yaml" > "$work/fp32.log" 2>&1 || { tail -50 "$work/fp32.log"; fail "fp32 run"; }
R="$work/fp32/results"
for s in v2 v3 h5; do
  in=$(store_of $s) ext=$(ext_of $s)
  [ "$(ls "$R/shards/$s/annotate/"part*of4.tsv | wc -l)" -eq 4 ] || fail "$s: not 4 shards"
  "$IC" -q annotate --model "$MODEL" --input "$in" --batch-size 16 --precision fp32 \
    --metadata species=human --metadata tissue=blood --p-thres 0.5 --threads 2 \
    --output "$work/ref/$s.fp32$ext" --table "$work/ref/$s.fp32.tsv"
  same "$R/annotated/$s/$s$ext" "$work/ref/$s.fp32$ext"
  cmp "$R/annotated/$s.tsv" "$work/ref/$s.fp32.tsv" || fail "$s: merged table differs"
  "$IC" -q drug-response --drug cisplatin --model "$MODEL" --input "$in" --batch-size 16 \
    --metadata species=human --metadata tissue=blood --threads 2 \
    --output "$work/ref/$s.drug$ext" --table "$work/ref/$s.drug.tsv"
  same "$R/drug_response/cisplatin/$s/$s$ext" "$work/ref/$s.drug$ext"
  cmp "$R/drug_response/cisplatin/$s.tsv" "$work/ref/$s.drug.tsv" || fail "$s: drug table differs"
  grep -q '^"INSTRUCTCELL_ANNOTATE":' "$R/versions/$s.versions.yml" || fail "$s: versions.yml"
  [ -s "$R/logs/$s/annotate/part1of4.log" ] || fail "$s: no shard log"
done
"$IC" -q generate --model "$MODEL" --conditions "cell_type=CD14+ Monocyte;tissue=blood" \
  --n-per-condition 12 --seed 7 --threads 2 --output "$work/ref/mono.zarr"
same "$R/generated/mono/mono.zarr" "$work/ref/mono.zarr"
for f in label_counts.tsv label_counts.png label_counts.svg shard_runtimes.tsv; do
  [ -s "$R/summary/$f" ] || fail "summary/$f missing"
done
[ "$(grep -c $'\tshard ' "$R/summary/shard_runtimes.tsv")" -eq 24 ] || fail "shard_runtimes.tsv: not 24 shards"
echo "fp32: 6 merged stores and tables, 1 generated store equal to unsharded runs"

# ------------------------------------------------------------------ 2. int8
log "int8: shards auto (40 cells -> 5 shards of 8-cell units), batch size 8, majority voting"
cat > "$work/int8.yaml" <<EOF
samples: $work/samples.tsv
instructcell: $IC
model: $MODEL
shards: auto
cells_per_shard: 40
batch_size: 8
precision: int8
annotate: {key_added: ic8, majority_voting: true, over_clustering: louvain}
EOF
sm "$work/int8" "$work/int8.yaml" > "$work/int8.log" 2>&1 || { tail -50 "$work/int8.log"; fail "int8 run"; }
R="$work/int8/results"
for s in v2 v3 h5; do
  in=$(store_of $s) ext=$(ext_of $s)
  [ "$(ls "$R/shards/$s/annotate/"part*of5.tsv | wc -l)" -eq 5 ] || fail "$s: auto did not give 5 shards"
  "$IC" -q annotate --model "$MODEL" --input "$in" --batch-size 8 --precision int8 \
    --metadata species=human --metadata tissue=blood --key-added ic8 \
    --majority-voting --over-clustering louvain --threads 2 \
    --output "$work/ref/$s.int8$ext" --table "$work/ref/$s.int8.tsv"
  same "$R/annotated/$s/$s$ext" "$work/ref/$s.int8$ext"
  cmp "$R/annotated/$s.tsv" "$work/ref/$s.int8.tsv" || fail "$s: int8 merged table differs"
done
echo "int8: 3 merged stores and tables equal to unsharded runs with the same batch size"
# The int8 rule is enforced: a shard that ran with another batch size is refused by the merge.
rec="$R/shards/v2/annotate/part2of5.args"
cp "$rec" "$work/part2of5.args.orig"
sed -i 's/--batch-size 8/--batch-size 16/' "$rec"
if sm "$work/int8" "$work/int8.yaml" --forcerun annotate_merge > "$work/int8-mixed.log" 2>&1; then
  fail "merge accepted shards with different batch sizes"
fi
grep -q "shards ran with different settings" "$work/int8/results/logs/v2/annotate/merge.log" "$work/int8-mixed.log" \
  || fail "no message for mixed batch sizes"
echo "int8: a merge of shards with different batch sizes is refused"

# ------------------------------------------------------------------ 3. resume
log "resume: 12 slowed shards, killed after 4 finished"
cat > "$work/bin/slow-instructcell" <<EOF
#!/bin/sh
# The test's slow setting: the same tool, each call delayed by \$SLOW seconds.
[ -n "\${SLOW:-}" ] && sleep "\$SLOW"
exec "$IC" "\$@"
EOF
chmod +x "$work/bin/slow-instructcell"
cat > "$work/resume.yaml" <<EOF
samples: $work/samples-one.tsv
instructcell: $work/bin/slow-instructcell
model: $MODEL
shards: 12
batch_size: 8
precision: fp32
resources:
  annotate: {threads: 1}
EOF
RS="$work/resume/results/shards/v2/annotate"
SLOW=2 setsid "$SNAKEMAKE" --snakefile "$root/workflow/Snakefile" --directory "$work/resume" \
  --configfile "$root/config/config.yaml" "$work/resume.yaml" --profile "$root/workflow/profiles/local" \
  --cores 1 > "$work/resume-killed.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ "$(ls "$RS"/*.args 2> /dev/null | wc -l)" -ge 4 ] && break
  kill -0 $pid 2> /dev/null || fail "the run to be killed ended early"
  sleep 0.2
done
kill -KILL -- -$pid
wait $pid 2> /dev/null || true
finished=$(cd "$RS" && ls *.args | sed 's/\.args$//' | sort)
nfin=$(echo "$finished" | wc -l)
[ "$nfin" -ge 4 ] && [ "$nfin" -lt 12 ] || fail "killed with $nfin finished shards"
(cd "$RS" && for p in $finished; do stat -c '%n %Y %y' "$p.tsv"; done) > "$work/mtimes.before"
echo "killed with $nfin of 12 shards finished: $(echo $finished | tr '\n' ' ')"
# After a kill -9 the lock stays: unlock, then rerun (the profile sets rerun-incomplete).
sm "$work/resume" "$work/resume.yaml" --unlock > /dev/null 2>&1
sm "$work/resume" "$work/resume.yaml" > "$work/resume.log" 2>&1 || { tail -50 "$work/resume.log"; fail "resumed run"; }
# Which shards Snakemake ran, from its log of the resumed run
ran_shards() {
  awk '/rule annotate_shard:/{f=1} f && /wildcards:/{match($0, /i=[0-9]+/); print "part" substr($0, RSTART+2, RLENGTH-2) "of12"; f=0}' "$1" | sort
}
expected=$(comm -23 <(for i in $(seq 1 12); do echo "part${i}of12"; done | sort) <(echo "$finished"))
ran=$(ran_shards "$work/resume.log")
[ "$ran" = "$expected" ] || fail "resume ran [$(echo $ran)] instead of the unfinished [$(echo $expected)]"
(cd "$RS" && for p in $finished; do stat -c '%n %Y %y' "$p.tsv"; done) > "$work/mtimes.after"
cmp "$work/mtimes.before" "$work/mtimes.after" || fail "a finished shard table was rewritten"
"$IC" -q annotate --model "$MODEL" --input "$V2" --batch-size 8 --threads 2 \
  --output "$work/ref/v2.resume.zarr" --table "$work/ref/v2.resume.tsv"
same "$work/resume/results/annotated/v2/v2.zarr" "$work/ref/v2.resume.zarr"
cmp "$work/resume/results/annotated/v2.tsv" "$work/ref/v2.resume.tsv" || fail "resumed table differs"
echo "resume: recomputed only $(echo $ran | wc -w) unfinished shards ($(echo $ran)); finished tables untouched; result equal"

log "resume: one shard's output deleted (and the merge it fed)"
# A finished run whose intermediate shard table is deleted is still complete (Snakemake does not
# rebuild intermediates no target needs); the case here is a lost shard whose merge never ran.
stat -c '%n %Y %y' "$RS"/part*of12.tsv | grep -v '/part3of12.tsv' > "$work/mtimes.before"
rm "$RS/part3of12.tsv" "$RS/part3of12.args"
rm -r "$work/resume/results/annotated"
sm "$work/resume" "$work/resume.yaml" > "$work/resume2.log" 2>&1 || { tail -50 "$work/resume2.log"; fail "rerun"; }
ran=$(ran_shards "$work/resume2.log")
[ "$ran" = "part3of12" ] || fail "rerun after deleting part3 ran [$(echo $ran)]"
stat -c '%n %Y %y' "$RS"/part*of12.tsv | grep -v '/part3of12.tsv' > "$work/mtimes.after"
cmp "$work/mtimes.before" "$work/mtimes.after" || fail "another shard table was rewritten"
same "$work/resume/results/annotated/v2/v2.zarr" "$work/ref/v2.resume.zarr"
echo "resume: only part3of12 recomputed; result equal"

log "workflow local test passed"
