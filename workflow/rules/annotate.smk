# Per store: `info --json` (checkpoint: sizes the shards), one job per shard, one merge.


checkpoint info:
    input:
        store=store,
        manifest=MANIFEST,
    output:
        f"{OUT}/info/{{sample}}.json",
    params:
        env=ENV,
        ic=IC,
        model=lambda wc, input: os.path.dirname(input.manifest),
        batch_size=BATCH_SIZE,
    log:
        f"{OUT}/logs/{{sample}}/info.log",
    shell:
        "{params.env}{params.ic:q} info --model {params.model:q} --input {input.store:q} --batch-size {params.batch_size} "
        "--json > {output:q} 2> {log:q}"


# The record (.args) holds every setting of the shard but its index: the merge refuses shards
# that ran with different settings (batch size, precision, model, flags).
rule annotate_shard:
    input:
        store=store,
        manifest=MANIFEST,
    output:
        table=f"{OUT}/shards/{{sample}}/annotate/part{{i}}of{{n}}.tsv",
        record=f"{OUT}/shards/{{sample}}/annotate/part{{i}}of{{n}}.args",
    params:
        env=ENV,
        ic=IC,
        sub="annotate",
        args=lambda wc: shard_args("annotate", wc.sample),
        record=lambda wc: f"model_sha256={MODEL_SHA256} n={wc.n} "
        + shard_args("annotate", wc.sample),
    threads: threads_for("annotate")
    resources:
        **resources_for("annotate"),
    retries: RETRIES
    log:
        f"{OUT}/logs/{{sample}}/annotate/part{{i}}of{{n}}.log",
    benchmark:
        f"{OUT}/benchmarks/{{sample}}/annotate/part{{i}}of{{n}}.tsv"
    shell:
        "{params.env}{params.ic:q} {params.sub} {params.args} --input {input.store:q} "
        "--shard {wildcards.i}/{wildcards.n} --table {output.table:q} --threads {threads} "
        "> {log:q} 2>&1 && printf '%s\\n' {params.record:q} > {output.record:q}"


# Post-processing (--p-thres, --majority-voting) happens here, on all cells at once. The store
# (same format as the input) goes into the output directory: results/annotated/S/S.zarr.
rule annotate_merge:
    input:
        store=store,
        tables=shard_files("annotate", "tsv"),
        records=shard_files("annotate", "args"),
    output:
        dir=directory(f"{OUT}/annotated/{{sample}}"),
        table=f"{OUT}/annotated/{{sample}}.tsv",
    params:
        env=ENV,
        ic=IC,
        store=lambda wc, output: f"{output.dir}/{wc.sample}{SAMPLES[wc.sample]['ext']}",
        args=merge_args("annotate"),
    threads: threads_for("merge")
    resources:
        **resources_for("merge", model=False),
    retries: RETRIES
    log:
        f"{OUT}/logs/{{sample}}/annotate/merge.log",
    benchmark:
        f"{OUT}/benchmarks/{{sample}}/annotate/merge.tsv"
    shell:
        "if [ $(sort -u {input.records:q} | wc -l) -ne 1 ]; then "
        "echo 'error: the shards ran with different settings (one batch_size, precision and model "
        "per run):' >&2; sort -u {input.records:q} >&2; exit 2; fi; mkdir -p {output.dir:q}; "
        "{params.env}{params.ic:q} merge --input {input.store:q} --tables {input.tables:q} --output {params.store:q} "
        "--table {output.table:q} {params.args} > {log:q} 2>&1"


rule versions:
    input:
        manifest=MANIFEST,
    output:
        f"{OUT}/versions/{{sample}}.versions.yml",
    params:
        env=ENV,
        ic=IC,
        model=lambda wc, input: os.path.dirname(input.manifest),
        processes=lambda wc: " ".join(processes()),
        snakemake=snakemake.__version__,
    log:
        f"{OUT}/logs/{{sample}}/versions.log",
    shell:
        "{params.env}( for p in {params.processes}; do {params.ic:q} versions --model {params.model:q} --process $p; "
        "done; "
        "printf 'WORKFLOW_INSTRUCTCELL:\\n  snakemake: \"%s\"\\n  instructcell_binary: \"%s\"\\n' "
        "{params.snakemake:q} {params.ic:q} ) > {output:q} 2> {log:q}"
