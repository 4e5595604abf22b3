#!/usr/bin/env bash
# The workflow on a real SLURM: a private single-node cluster on this machine (Debian's SLURM
# 22.05: munged, slurmdbd on a private MariaDB for sacct, slurmctld, slurmd), the workflow run
# with workflow/profiles/slurm through snakemake-executor-plugin-slurm, then checks that every
# shard and merge ran as a SLURM job (sacct), that the result equals the local profile's and one
# unsharded run's, byte for byte. Stops every daemon it started, also on failure.
# Idempotent: installs what is missing (apt, as root), wipes its own state in
# target/slurm-test/ on each run, uses its own ports (SLURM 16817-16819, MariaDB 13306).
# Usage: bash .ci/slurm-test.sh   (env: INSTRUCTCELL_BIN, ORT_DYLIB_PATH, as run_local.sh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$SECONDS
log() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - start)); }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ------------------------------------------------------------------ packages
log "packages"
need=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client slurmdbd:slurmdbd \
  munged:munge mariadbd:mariadb-server; do
  command -v "${pair%%:*}" > /dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "slurm-test: installing ${need[*]} (apt)"
  $SUDO apt-get update -qq
  # policy-rc.d: do not let the packages start their own daemons
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends \
    "${need[@]}" > /dev/null
fi
export PATH="/usr/sbin:$PATH"
bash .ci/setup-snakemake.sh
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  [ -x target/venv-data/bin/python ] || bash .ci/setup.sh
  ORT_DYLIB_PATH="$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
  export ORT_DYLIB_PATH
fi

# ------------------------------------------------------------------ state, config
state="$root/target/slurm-test"
run="$state/run"
# Stop what an earlier, interrupted run may have left, then start clean.
for pidfile in "$run"/*.pid; do
  [ -e "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2> /dev/null; then kill "$pid" 2> /dev/null || true; fi
done
sleep 1
rm -rf "$state"
mkdir -p "$state"/{etc,log,run,ctld,spool,mysql,work/bin}
work="$state/work"
started=()
cleanup() {
  local rc=$?
  set +e
  for ((k = ${#started[@]} - 1; k >= 0; k--)); do
    local pid=${started[k]}
    kill "$pid" 2> /dev/null && for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2> /dev/null && kill -KILL "$pid" 2> /dev/null
  done
  if [ -n "${etc_conf_written:-}" ] && grep -qF "$marker" /etc/slurm/slurm.conf 2> /dev/null; then
    rm -f /etc/slurm/slurm.conf
  fi
  [ $rc -eq 0 ] || { echo "slurm-test: logs in $state/log" >&2; tail -n 20 "$state"/log/*.log >&2 2> /dev/null; }
  echo "slurm-test: daemons stopped; total $((SECONDS - start)) s"
}
trap cleanup EXIT

host=$(hostname -s)
# The node as slurmd sees it (CPUs, sockets, cores, memory), memory minus 10 % for the OS.
node=$(slurmd -C 2> /dev/null | head -n 1)
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<< "$node")
node=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/; s/^NodeName=[^ ]*/NodeName=$host/" <<< "$node")
export SLURM_CONF="$state/etc/slurm.conf"
cat > "$SLURM_CONF" << EOF
ClusterName=ictest
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
# no cgroups in a container: plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
# sacct needs the accounting database (slurmdbd); the job completion log is a second record
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=16819
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.txt
MinJobAge=600
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
# Job steps run by the plugin (srun inside the batch job) drop SLURM_* variables, SLURM_CONF
# included (snakemake-executor-plugin-slurm-jobstep 0.6), so they read the default
# /etc/slurm/slurm.conf: put a copy there, unless the machine has a real one.
marker="# written by instructcell .ci/slurm-test.sh"
if [ -e /etc/slurm/slurm.conf ] && ! grep -qF "$marker" /etc/slurm/slurm.conf; then
  fail "/etc/slurm/slurm.conf exists and is not this test's: run the test on a machine without SLURM"
fi
mkdir -p /etc/slurm
{ echo "$marker"; cat "$SLURM_CONF"; } > /etc/slurm/slurm.conf
etc_conf_written=1
cat > "$state/etc/cgroup.conf" << EOF
# unused (proctrack/linuxproc, task/none), present so no daemon looks for a system one
CgroupPlugin=autodetect
IgnoreSystemd=yes
EOF
cat > "$state/etc/slurmdbd.conf" << EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=16819
SlurmUser=root
PidFile=$run/slurmdbd.pid
LogFile=$state/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=13306
StorageUser=slurm
StoragePass=slurm-ci
StorageLoc=slurm_acct_db
EOF
chmod 600 "$state/etc/slurmdbd.conf"

# ------------------------------------------------------------------ daemons
log "munge"
if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || { mungekey --create --force 2> /dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1k count=1 status=none; }
  chown munge:munge /etc/munge/munge.key 2> /dev/null || true
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2> /dev/null || true
  runuser -u munge -- munged --foreground > "$state/log/munged.log" 2>&1 &
  started+=($!)
  echo $! > "$run/munged.pid"
  for _ in $(seq 1 50); do munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge > /dev/null || fail "munged does not answer"
fi

log "mariadb (private, 127.0.0.1:13306)"
mariadb-install-db --no-defaults --user=root --datadir="$state/mysql" --auth-root-authentication-method=socket \
  --skip-test-db > "$state/log/mariadb-install.log" 2>&1
mariadbd --no-defaults --user=root --datadir="$state/mysql" --socket="$run/mysql.sock" \
  --port=13306 --bind-address=127.0.0.1 --pid-file="$run/mariadbd.pid" \
  --innodb-buffer-pool-size=64M > "$state/log/mariadbd.log" 2>&1 &
started+=($!)
for _ in $(seq 1 100); do mariadb --no-defaults --socket="$run/mysql.sock" -e 'select 1' > /dev/null 2>&1 && break; sleep 0.2; done
mariadb --no-defaults --socket="$run/mysql.sock" -e "
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm-ci';
  CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm-ci';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" || fail "mariadb"

log "slurmdbd, slurmctld, slurmd"
slurmdbd -D > "$state/log/slurmdbd.out" 2>&1 &
started+=($!)
for _ in $(seq 1 100); do sacctmgr -n list cluster > /dev/null 2>&1 && break; sleep 0.2; done
sacctmgr -i add cluster ictest > /dev/null
sacctmgr -i add account ci Description=ci Organization=ci > /dev/null
sacctmgr -i add user root Account=ci DefaultAccount=ci > /dev/null
slurmctld -D -i > "$state/log/slurmctld.out" 2>&1 &
started+=($!)
for _ in $(seq 1 100); do scontrol ping 2> /dev/null | grep -q UP && break; sleep 0.2; done
slurmd -D > "$state/log/slurmd.out" 2>&1 &
started+=($!)
for _ in $(seq 1 150); do
  [ "$(sinfo -h -n "$host" -o %t 2> /dev/null)" = "idle" ] && break
  sleep 0.2
done
sinfo
[ "$(sinfo -h -n "$host" -o %t)" = "idle" ] || fail "node $host is not idle"
# a first job, end to end
jid=$(sbatch --parsable --wrap 'hostname' -o "$state/log/hello.out")
for _ in $(seq 1 100); do
  [ "$(sacct -n -X -j "$jid" -o State%20 | tr -d ' ')" = "COMPLETED" ] && break
  sleep 0.3
done
[ "$(sacct -n -X -j "$jid" -o State%20 | tr -d ' ')" = "COMPLETED" ] || fail "test job $jid did not complete"
echo "sbatch + sacct work (job $jid)"

# ------------------------------------------------------------------ the workflow
if [ -n "${INSTRUCTCELL_BIN:-}" ]; then
  bin="$INSTRUCTCELL_BIN"
else
  cargo build -q --bin instructcell
  bin="$root/target/debug/instructcell"
fi
cp "$bin" "$work/bin/instructcell"
IC="$work/bin/instructcell"
MODEL="$work/model"
cp -r "${INSTRUCTCELL_MODEL:-$root/onnx/models/pbmc-small}" "$MODEL"
SNAKEMAKE="$root/target/venv-workflow/bin/snakemake"
V2="$root/examples/data/pbmc68k_heldout.zarr"
V3="$root/examples/data/pbmc68k_heldout.v3.zarr"
printf 'sample\tpath\tspecies\ttissue\nv2\t%s\thuman\tblood\nv3\t%s\thuman\tblood\n' "$V2" "$V3" > "$work/samples.tsv"
cat > "$work/config.yaml" << EOF
samples: $work/samples.tsv
instructcell: $IC
model: $MODEL
ort_dylib_path: $ORT_DYLIB_PATH
shards: 4
batch_size: 16
precision: fp32
annotate: {p_thres: 0.5}
resources:
  annotate: {threads: 1, mem_mb: 1000, runtime: 10}
  merge: {threads: 1, mem_mb: 1000, runtime: 10}
EOF

log "workflow, slurm profile"
t0=$SECONDS
"$SNAKEMAKE" --snakefile "$root/workflow/Snakefile" --directory "$work/slurm" \
  --configfile "$root/config/config.yaml" "$work/config.yaml" --profile "$root/workflow/profiles/slurm" \
  --slurm-init-seconds-before-status-checks 2 --latency-wait 5 > "$work/slurm.log" 2>&1 \
  || { tail -n 60 "$work/slurm.log"; fail "workflow on SLURM"; }
slurm_s=$((SECONDS - t0))
echo "workflow on SLURM: $slurm_s s"

log "workflow, local profile (the comparison)"
"$SNAKEMAKE" --snakefile "$root/workflow/Snakefile" --directory "$work/local" \
  --configfile "$root/config/config.yaml" "$work/config.yaml" --profile "$root/workflow/profiles/local" \
  --cores 2 > "$work/local.log" 2>&1 || { tail -n 60 "$work/local.log"; fail "workflow, local"; }

log "checks"
for s in v2 v3; do
  diff -r "$work/slurm/results/annotated/$s" "$work/local/results/annotated/$s" > /dev/null \
    || fail "$s: SLURM store differs from the local run's"
  cmp "$work/slurm/results/annotated/$s.tsv" "$work/local/results/annotated/$s.tsv" || fail "$s: table"
  in=$V2
  [ $s = v3 ] && in=$V3
  "$IC" -q annotate --model "$MODEL" --input "$in" --batch-size 16 --metadata species=human \
    --metadata tissue=blood --p-thres 0.5 --threads 2 --output "$work/$s.ref.zarr" --table "$work/$s.ref.tsv"
  diff -r "$work/slurm/results/annotated/$s/$s.zarr" "$work/$s.ref.zarr" > /dev/null || fail "$s: differs from one run"
  cmp "$work/slurm/results/annotated/$s.tsv" "$work/$s.ref.tsv" || fail "$s: table differs from one run"
done
echo "SLURM results = local results = one unsharded run (2 stores, 2 tables)"
sacct -X -P -n --starttime today -o JobID,JobName%40,State,ExitCode,NodeList,Elapsed,Comment%120 > "$work/sacct.txt"
echo "sacct (this run's workflow jobs):"
grep -E 'rule_(annotate_shard|annotate_merge)' "$work/sacct.txt" | sed 's/|/  /g' | head -n 12
nshard=$(grep -c 'rule_annotate_shard.*' "$work/sacct.txt" || true)
nshard_ok=$(grep 'rule_annotate_shard' "$work/sacct.txt" | grep -c '|COMPLETED|0:0|' || true)
nmerge_ok=$(grep 'rule_annotate_merge' "$work/sacct.txt" | grep -c '|COMPLETED|0:0|' || true)
[ "$nshard" -eq 8 ] && [ "$nshard_ok" -eq 8 ] || fail "sacct: $nshard_ok of $nshard shard jobs completed, want 8"
[ "$nmerge_ok" -eq 2 ] || fail "sacct: $nmerge_ok merge jobs completed, want 2"
grep -q 'rule_info\|rule_summary\|rule_versions' "$work/sacct.txt" && fail "a local rule went to SLURM"
njc=$(grep -c 'JobState=COMPLETED' "$state/log/jobcomp.txt" || true)
echo "sacct: 8 shard jobs and 2 merge jobs COMPLETED 0:0 on $host; jobcomp log: $njc completed jobs"
log "slurm test passed (workflow on SLURM $slurm_s s)"
