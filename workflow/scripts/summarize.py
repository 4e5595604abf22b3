"""Run summary (Snakemake `script:`): label counts per sample as TSV and stacked bars (PNG, SVG),
and the run time of every shard and merge from the `benchmark:` files."""

import csv
import os
import re
import sys
from collections import Counter, OrderedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(sm.log[0], "w")
outdir = sm.params.outdir.rstrip("/")
column = sm.params.column
csv.field_size_limit(1 << 30)


def task_of(path):
    """(sample, task) of a merged table: annotated/S.tsv or drug_response/D/S.tsv."""
    rel = os.path.relpath(path, outdir)
    parts = rel.split(os.sep)
    sample = parts[-1][: -len(".tsv")]
    task = "annotate" if parts[0] == "annotated" else f"drug_response/{parts[1]}"
    return sample, task


# ------------------------------------------------------------------ label counts
counts = OrderedDict()  # (sample, task) -> Counter
for path in sm.input.tables:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        cols = reader.fieldnames or []
        col = column
        if col == "auto":
            col = "assigned" if "assigned" in cols else "label"
        if col not in cols:
            raise SystemExit(f"error: {path} has no column {col!r} (has {cols})")
        counts[task_of(path)] = Counter(row[col] for row in reader)
    print(f"{path}: {sum(counts[task_of(path)].values())} cells, column {col}", file=sys.stderr)

with open(sm.output.counts, "w", newline="") as fh:
    w = csv.writer(fh, delimiter="\t", lineterminator="\n")
    w.writerow(["sample", "task", "label", "cells", "fraction"])
    for (sample, task), c in counts.items():
        total = sum(c.values())
        for label, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])):
            w.writerow([sample, task, label, n, f"{n / total:.6f}"])

tasks = list(OrderedDict.fromkeys(t for _, t in counts))
fig, axes = plt.subplots(
    1, len(tasks), figsize=(max(6, 1.2 * len(counts) + 5), 4.8), squeeze=False
)
for ax, task in zip(axes[0], tasks):
    samples = [s for s, t in counts if t == task]
    labels = sorted({l for (s, t), c in counts.items() if t == task for l in c})
    cmap = plt.get_cmap("tab20", max(len(labels), 1))
    bottom = [0.0] * len(samples)
    for k, label in enumerate(labels):
        vals = []
        for s in samples:
            c = counts[(s, task)]
            vals.append(c.get(label, 0) / max(sum(c.values()), 1))
        ax.bar(samples, vals, bottom=bottom, color=cmap(k), label=label, width=0.7)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_title(task)
    ax.set_ylabel("fraction of cells")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
fig.tight_layout()
fig.savefig(sm.output.png, dpi=150)
fig.savefig(sm.output.svg)

# ------------------------------------------------------------------ run times
shard_re = re.compile(r"part(\d+)of(\d+)\.tsv$")


def read_benchmark(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return rows[-1] if rows else None


def cells_in(table):
    with open(table) as fh:
        return max(sum(1 for _ in fh) - 1, 0)


with open(sm.output.runtimes, "w", newline="") as fh:
    w = csv.writer(fh, delimiter="\t", lineterminator="\n")
    w.writerow(
        ["sample", "task", "job", "shards", "cells", "seconds", "cpu_seconds", "max_rss_mb", "cells_per_s"]
    )
    merges = OrderedDict()
    for table in sm.input.shards:
        rel = os.path.relpath(table, os.path.join(outdir, "shards"))
        sample, rest = rel.split(os.sep, 1)
        task = os.path.dirname(rest)
        i, n = shard_re.search(table).groups()
        bench = read_benchmark(os.path.join(outdir, "benchmarks", rel))
        cells = cells_in(table)
        merges.setdefault((sample, task), [n, 0])[1] += cells
        if bench is None:
            continue
        secs = float(bench["s"])
        w.writerow(
            [sample, task, f"shard {i}", n, cells, f"{secs:.3f}", bench.get("cpu_time", ""),
             bench.get("max_rss", ""), f"{cells / secs:.1f}" if secs > 0 else ""]
        )
    for (sample, task), (n, cells) in merges.items():
        path = os.path.join(outdir, "benchmarks", sample, task, "merge.tsv")
        if os.path.exists(path):
            bench = read_benchmark(path)
            secs = float(bench["s"])
            w.writerow(
                [sample, task, "merge", n, cells, f"{secs:.3f}", bench.get("cpu_time", ""),
                 bench.get("max_rss", ""), f"{cells / secs:.1f}" if secs > 0 else ""]
            )
