# drug-response for each configured drug: sharded and merged exactly like annotate.


use rule annotate_shard as drug_response_shard with:
    output:
        table=f"{OUT}/shards/{{sample}}/drug_response/{{drug}}/part{{i}}of{{n}}.tsv",
        record=f"{OUT}/shards/{{sample}}/drug_response/{{drug}}/part{{i}}of{{n}}.args",
    params:
        env=ENV,
        ic=IC,
        sub="drug-response",
        args=lambda wc: shard_args("drug_response", wc.sample, wc.drug),
        record=lambda wc: f"model_sha256={MODEL_SHA256} n={wc.n} "
        + shard_args("drug_response", wc.sample, wc.drug),
    threads: threads_for("drug_response")
    resources:
        **resources_for("drug_response"),
    log:
        f"{OUT}/logs/{{sample}}/drug_response/{{drug}}/part{{i}}of{{n}}.log",
    benchmark:
        f"{OUT}/benchmarks/{{sample}}/drug_response/{{drug}}/part{{i}}of{{n}}.tsv"


use rule annotate_merge as drug_response_merge with:
    input:
        store=store,
        tables=shard_files("drug_response", "tsv"),
        records=shard_files("drug_response", "args"),
    output:
        dir=directory(f"{OUT}/drug_response/{{drug}}/{{sample}}"),
        table=f"{OUT}/drug_response/{{drug}}/{{sample}}.tsv",
    params:
        env=ENV,
        ic=IC,
        store=lambda wc, output: f"{output.dir}/{wc.sample}{SAMPLES[wc.sample]['ext']}",
        args=merge_args("drug_response"),
    log:
        f"{OUT}/logs/{{sample}}/drug_response/{{drug}}/merge.log",
    benchmark:
        f"{OUT}/benchmarks/{{sample}}/drug_response/{{drug}}/merge.tsv"
