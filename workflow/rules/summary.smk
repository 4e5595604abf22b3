# Per run: label counts per sample (TSV + stacked bars) and the run time of every shard.


rule summary:
    input:
        tables=summary_tables(),
        shards=summary_shards,
    output:
        counts=f"{OUT}/summary/label_counts.tsv",
        png=f"{OUT}/summary/label_counts.png",
        svg=f"{OUT}/summary/label_counts.svg",
        runtimes=f"{OUT}/summary/shard_runtimes.tsv",
    params:
        # the results directory, from the output's path
        outdir=lambda wc, output: os.path.dirname(os.path.dirname(output.counts)),
        column=(config.get("summary") or {}).get("column", "auto"),
    log:
        f"{OUT}/logs/summary.log",
    script:
        "../scripts/summarize.py"
