# Configuration, sample sheet, tool resolution and shard planning shared by every rule.

import csv
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import sys
from types import SimpleNamespace

REPO = os.path.abspath(os.path.join(workflow.basedir, ".."))
OUT = config.get("outdir", "results").rstrip("/")


def _fail(msg):
    raise WorkflowError(f"instructcell workflow: {msg}")


# ---------------------------------------------------------------- tool, model, environment


def _resolve_binary():
    want = str(config.get("instructcell") or "").strip()
    if want:
        found = shutil.which(want) if os.sep not in want else want
        if not found or not os.access(found, os.X_OK):
            _fail(f"instructcell binary {want!r} not found or not executable")
        return os.path.abspath(found)
    found = shutil.which("instructcell")
    if found:
        return os.path.abspath(found)
    release = os.path.join(REPO, "target", "release", "instructcell")
    if os.access(release, os.X_OK):
        return release
    _fail(
        "no instructcell binary: put it on PATH, set `instructcell:` in the config, or build "
        "target/release/instructcell (cargo build --release --bin instructcell)"
    )


def _resolve_model():
    want = str(config.get("model") or "").strip() or os.environ.get("INSTRUCTCELL_MODEL", "")
    if not want:
        want = os.path.join(REPO, "onnx", "models", "pbmc-small")
    want = os.path.abspath(want)
    if not os.path.isfile(os.path.join(want, "manifest.json")):
        _fail(f"model package {want} has no manifest.json")
    return want


IC = _resolve_binary()
MODEL = _resolve_model()
# Declared as an input of every model-running rule: a new model re-runs what depends on it.
MANIFEST = os.path.join(MODEL, "manifest.json")
with open(MANIFEST, "rb") as fh:
    MODEL_SHA256 = hashlib.sha256(fh.read()).hexdigest()

_ort = str(config.get("ort_dylib_path") or "").strip()
# Prefix of every shell command: the ONNX Runtime library the jobs load (SLURM jobs inherit the
# submitting environment too, this makes it explicit for clusters where that is not the case).
ENV = f"export ORT_DYLIB_PATH={shlex.quote(os.path.abspath(_ort))}; " if _ort else ""

# ---------------------------------------------------------------- run-wide model settings

# One batch size and one precision for the whole run, applied to every shard: int8 activations
# are quantized per batch, so int8 answers equal an unsharded run's only when every shard cuts
# the same batches (fp32 answers do not depend on the batch).
BATCH_SIZE = config.get("batch_size", 16)
if isinstance(BATCH_SIZE, bool) or not isinstance(BATCH_SIZE, int) or BATCH_SIZE < 1:
    _fail(f"batch_size must be one positive integer for the whole run, got {BATCH_SIZE!r}")
PRECISION = str(config.get("precision", "fp32"))

GPU = config.get("gpu") or {}
USE_GPU = bool(GPU.get("enabled", False))
DEVICE_ARGS = ""
if USE_GPU:
    DEVICE_ARGS = f"--device {shlex.quote(str(GPU.get('device', 'cuda')))}"
    if GPU.get("allow_fallback", False):
        DEVICE_ARGS += " --allow-fallback"

RETRIES = int(config.get("retries", 1))

# ---------------------------------------------------------------- samples

_RESERVED = {"sample", "path"}


def _read_samples(path):
    if not os.path.isfile(path):
        _fail(f"sample sheet {path} not found")
    rows = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader((l for l in fh if l.strip() and not l.startswith("#")), delimiter="\t")
        cols = reader.fieldnames or []
        if "sample" not in cols or "path" not in cols:
            _fail(f"sample sheet {path} needs the columns sample and path (has {cols})")
        for bad in ("batch_size", "precision"):
            if bad in cols:
                _fail(
                    f"sample sheet column {bad!r}: {bad} is one value per run (config key), "
                    "so that every shard cuts the same batches"
                )
        for row in reader:
            name = (row.get("sample") or "").strip()
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                _fail(f"sample name {name!r}: use letters, digits, '.', '_' and '-'")
            if name in rows:
                _fail(f"sample {name!r} appears twice in {path}")
            store = os.path.abspath(row["path"].strip().rstrip("/"))
            if store.endswith(".h5ad"):
                ext = ".h5ad"
            elif store.endswith(".zarr") or os.path.exists(os.path.join(store, "zarr.json")) or os.path.exists(
                os.path.join(store, ".zgroup")
            ):
                ext = ".zarr"
            else:
                _fail(f"sample {name}: {store} is neither .h5ad nor a zarr store (the merge writes the same format)")
            meta = {k: (v or "").strip() for k, v in row.items() if k not in _RESERVED and k is not None}
            rows[name] = {"path": store, "ext": ext, "metadata": {k: v for k, v in meta.items() if v}}
    if not rows:
        _fail(f"sample sheet {path} lists no samples")
    return rows


SAMPLES = _read_samples(config.get("samples", "config/samples.tsv"))
_sample_re = "|".join(re.escape(s) for s in SAMPLES)


wildcard_constraints:
    sample=_sample_re,
    i=r"\d+",
    n=r"\d+",
    drug=r"[A-Za-z0-9._+-]+",
    condition=r"[A-Za-z0-9._+-]+",


def store(wc):
    return SAMPLES[wc.sample]["path"]


# ---------------------------------------------------------------- tasks and their flags


def _q(v):
    return shlex.quote(str(v))


def _input_args():
    sel = config.get("input") or {}
    args = []
    if sel.get("layer"):
        args.append(f"--layer {_q(sel['layer'])}")
    if sel.get("use_raw"):
        args.append("--use-raw")
    if sel.get("use_x"):
        args.append("--use-x")
    if sel.get("gene_symbols"):
        args.append(f"--gene-symbols {_q(sel['gene_symbols'])}")
    return args


def task_config(task):
    key = "annotate" if task == "annotate" else "drug_response"
    return config.get(key) or {}


def shard_args(task, sample, drug=None):
    """Every flag of a shard job except --shard, --table and --threads: identical for all shards."""
    tc = task_config(task)
    args = [f"--model {_q(MODEL)}", f"--batch-size {BATCH_SIZE}", f"--precision {_q(PRECISION)}"]
    if drug is not None:
        args.append(f"--drug {_q(drug)}")
    args += _input_args()
    if tc.get("mode"):
        args.append(f"--mode {_q(tc['mode'])}")
    if tc.get("labels"):
        args.append(f"--labels {_q(tc['labels'])}")
    if tc.get("labels_from_obs"):
        args.append(f"--labels-from-obs {_q(tc['labels_from_obs'])}")
    if tc.get("template"):
        args.append(f"--template {_q(tc['template'])}")
    if tc.get("max_new_tokens"):
        args.append(f"--max-new-tokens {int(tc['max_new_tokens'])}")
    for k, v in SAMPLES[sample]["metadata"].items():
        args.append(f"--metadata {_q(f'{k}={v}')}")
    if DEVICE_ARGS:
        args.append(DEVICE_ARGS)
    return " ".join(args)


def merge_args(task):
    """Post-processing flags: they belong to the merge, never to the shards."""
    tc = task_config(task)
    args = [f"--key-added {_q(tc.get('key_added') or 'instructcell')}"]
    if tc.get("p_thres") is not None:
        args.append(f"--p-thres {float(tc['p_thres'])}")
    if tc.get("majority_voting"):
        if not tc.get("over_clustering"):
            _fail(f"{task}: majority_voting needs over_clustering (an obs column)")
        args.append(f"--majority-voting --over-clustering {_q(tc['over_clustering'])}")
    return " ".join(args)


def drugs():
    return [str(d) for d in (config.get("drug_response") or {}).get("drugs") or []]


def annotate_enabled():
    return bool((config.get("annotate") or {}).get("enabled", True))


def processes():
    """The processes of a sample, as keys of its versions.yml."""
    names = ["INSTRUCTCELL_INFO"]
    if annotate_enabled():
        names.append("INSTRUCTCELL_ANNOTATE")
    if drugs():
        names.append("INSTRUCTCELL_DRUG_RESPONSE")
    return names + ["INSTRUCTCELL_MERGE"]


# ---------------------------------------------------------------- resources


def res(kind, key, default):
    r = config.get("resources") or {}
    return (r.get(kind) or {}).get(key, (r.get("default") or {}).get(key, default))


def threads_for(kind):
    return int(res(kind, "threads", 1))


def resources_for(kind, model=True):
    """mem_mb and runtime (minutes) from the config, doubled on each retry; gres for GPU jobs."""
    mem = int(res(kind, "mem_mb", 4000))
    runtime = int(res(kind, "runtime", 60))
    out = {
        "mem_mb": lambda wc, attempt: mem * attempt,
        "runtime": lambda wc, attempt: runtime * attempt,
    }
    if model and USE_GPU and GPU.get("gres", "gpu:1"):
        out["gres"] = str(GPU.get("gres", "gpu:1"))
    return out


# ---------------------------------------------------------------- shard planning


def plan_shards(sample):
    """N for a sample: the configured number or `auto`, from the checkpoint's `info --json`."""
    with open(checkpoints.info.get(sample=sample).output[0]) as fh:
        info = json.load(fh)["input"]
    cells, unit, most = int(info["cells"]), int(info["shard_unit"]), int(info["max_shards"])
    want = config.get("shards", 4)
    if str(want).strip().lower() == "auto":
        target = int(config.get("cells_per_shard", 250000))
        per = max(unit, int(round(target / unit)) * unit)  # whole units
        n = math.ceil(cells / per)
    else:
        n = int(want)
        if n < 1:
            _fail(f"shards must be a positive integer or auto, got {want!r}")
    if n > most:
        print(
            f"instructcell workflow: {sample}: {n} shards capped to {most} "
            f"({cells} cells, unit {unit} = lcm(batch size, chunk rows))",
            file=sys.stderr,
        )
        n = most
    return max(1, n)


def task_dir(task, drug=None):
    return "annotate" if task == "annotate" else f"drug_response/{drug}"


def shard_files(task, kind):
    """Input function: the shard tables (kind 'tsv') or their argument records (kind 'args')."""

    def inner(wc):
        drug = getattr(wc, "drug", None)
        n = plan_shards(wc.sample)
        d = f"{OUT}/shards/{wc.sample}/{task_dir(task, drug)}"
        return [f"{d}/part{i}of{n}.{kind}" for i in range(1, n + 1)]

    return inner


def merged_dir(sample, task="annotate", drug=None):
    """The merge's output directory (Snakemake keeps its .snakemake_timestamp there, outside
    the store, so the store itself is byte for byte what one unsharded run writes)."""
    if task == "annotate":
        return f"{OUT}/annotated/{sample}"
    return f"{OUT}/drug_response/{drug}/{sample}"


def merged_store(sample, task="annotate", drug=None):
    return f"{merged_dir(sample, task, drug)}/{sample}{SAMPLES[sample]['ext']}"


def merged_table(sample, task="annotate", drug=None):
    return f"{merged_dir(sample, task, drug)}.tsv"


# ---------------------------------------------------------------- generation


def _slug(text):
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "condition"


def generate_conditions():
    gc = config.get("generate") or {}
    out = {}
    for entry in gc.get("conditions") or []:
        if isinstance(entry, str):
            entry = {"conditions": entry}
        spec = str(entry["conditions"])
        name = _slug(str(entry.get("name") or spec.split(";")[0].split("=", 1)[-1]))
        if name in out:
            _fail(f"generate: two conditions named {name!r} (give them a name:)")
        out[name] = {"conditions": spec, "n": int(entry.get("n", gc.get("n_per_condition", 10)))}
    return out


GENERATE = generate_conditions()


def generated_dir(name):
    return f"{OUT}/generated/{name}"


def generated_store(name):
    fmt = str((config.get("generate") or {}).get("format", "zarr")).lstrip(".")
    return f"{generated_dir(name)}/{name}.{fmt}"


# ---------------------------------------------------------------- summary


def summary_tables():
    tables = []
    for s in SAMPLES:
        if annotate_enabled():
            tables.append(merged_table(s))
        for d in drugs():
            tables.append(merged_table(s, "drug_response", d))
    return tables


def summary_shards(wc):
    shards = []
    for s in SAMPLES:
        if annotate_enabled():
            shards += shard_files("annotate", "tsv")(SimpleNamespace(sample=s))
        for d in drugs():
            shards += shard_files("drug_response", "tsv")(SimpleNamespace(sample=s, drug=d))
    return shards


# ---------------------------------------------------------------- targets


def all_targets():
    targets = []
    for s in SAMPLES:
        if annotate_enabled():
            targets += [merged_dir(s), merged_table(s)]
        for d in drugs():
            targets += [merged_dir(s, "drug_response", d), merged_table(s, "drug_response", d)]
        targets.append(f"{OUT}/versions/{s}.versions.yml")
    if SAMPLES and (annotate_enabled() or drugs()):
        targets += [
            f"{OUT}/summary/label_counts.tsv",
            f"{OUT}/summary/label_counts.png",
            f"{OUT}/summary/label_counts.svg",
            f"{OUT}/summary/shard_runtimes.tsv",
        ]
    targets += [generated_dir(name) for name in GENERATE]
    return targets
