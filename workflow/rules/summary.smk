# Per run: label counts per sample (TSV + stacked bars) and the run time of every shard.


def _summary_tables():
    tables = []
    for s in SAMPLES:
        if annotate_enabled():
            tables.append(merged_table(s))
        for d in drugs():
            tables.append(merged_table(s, "drug_response", d))
    return tables


def _summary_shards(wc):
    shards = []
    for s in SAMPLES:
        if annotate_enabled():
            shards += shard_files("annotate", "tsv")(SimpleNamespace(sample=s))
        for d in drugs():
            shards += shard_files("drug_response", "tsv")(SimpleNamespace(sample=s, drug=d))
    return shards


rule summary:
    input:
        tables=_summary_tables(),
        shards=_summary_shards,
    output:
        counts=f"{OUT}/summary/label_counts.tsv",
        png=f"{OUT}/summary/label_counts.png",
        svg=f"{OUT}/summary/label_counts.svg",
        runtimes=f"{OUT}/summary/shard_runtimes.tsv",
    params:
        outdir=OUT,
        column=(config.get("summary") or {}).get("column", "auto"),
    log:
        f"{OUT}/logs/summary.log",
    script:
        "../scripts/summarize.py"
