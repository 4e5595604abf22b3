# generate: one job per configured condition, each its own new store (results/generated/C/C.zarr).


rule generate:
    input:
        manifest=MANIFEST,
    output:
        directory(f"{OUT}/generated/{{condition}}"),
    params:
        env=ENV,
        ic=IC,
        model=lambda wc, input: os.path.dirname(input.manifest),
        store=lambda wc: generated_store(wc.condition),
        spec=lambda wc: GENERATE[wc.condition]["conditions"],
        n=lambda wc: GENERATE[wc.condition]["n"],
        seed=(config.get("generate") or {}).get("seed", 0),
        counts=(config.get("generate") or {}).get("counts", "sample"),
        batch_size=(config.get("generate") or {}).get("batch_size", 16),
        precision=(config.get("generate") or {}).get("precision", "fp32"),
        device=DEVICE_ARGS,
    threads: threads_for("generate")
    resources:
        **resources_for("generate"),
    retries: RETRIES
    log:
        f"{OUT}/logs/generate/{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/generate/{{condition}}.tsv"
    shell:
        "mkdir -p {output:q}; {params.env}{params.ic:q} generate --model {params.model:q} "
        "--conditions {params.spec:q} "
        "--n-per-condition {params.n} --seed {params.seed} --counts {params.counts} "
        "--batch-size {params.batch_size} --precision {params.precision} {params.device} "
        "--threads {threads} --output {params.store:q} > {log:q} 2>&1"
