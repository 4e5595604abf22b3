//! `info`: what a model package and a dataset hold, and how they fit together.

use std::path::Path;

use instructcell::genes::AlignOptions;
use instructcell::io::{
    check_obs_writable, inspect_matrix, MatrixSelection, StoreOptions, DEFAULT_SAMPLE_ROWS,
};
use instructcell::package::ModelPackage;
use instructcell::pipeline::{Dataset, InputOptions};
use instructcell::AnnDataStore;
use serde_json::{json, Value};

use crate::cli::InfoArgs;
use crate::common::model_dir;
use crate::exit::{AtStage, CmdResult, Stage};

fn package_info(dir: &Path) -> CmdResult<(Value, Vec<String>)> {
    let pkg = ModelPackage::open(dir).at(Stage::Model)?;
    let m = pkg.manifest();
    let genes = pkg.genes().at(Stage::Model)?;
    let precisions: Vec<&str> = pkg.precisions().iter().map(|p| p.as_str()).collect();
    let int8: Vec<String> = pkg
        .int8_weight_sets()
        .iter()
        .map(|w| format!("{w:?}").to_lowercase())
        .collect();
    let mut bytes_by_precision = serde_json::Map::new();
    for g in &m.graphs {
        let key = match &g.int8_weights {
            Some(w) if w != "signed" => format!("{}-{w}", g.precision),
            _ => g.precision.clone(),
        };
        let e = bytes_by_precision.entry(key).or_insert(json!(0u64));
        *e = json!(e.as_u64().unwrap_or(0) + g.bytes);
    }
    let runtime = instructcell::runtime::runtime();
    let providers: Value = match &runtime {
        Ok(rt) => json!(rt.available_providers()),
        Err(e) => json!(format!(
            "ONNX Runtime not loaded: {}",
            crate::exit::one_line(&e.to_string())
        )),
    };
    let v = json!({
        "path": dir.display().to_string(),
        "format_version": m.format_version,
        "variant": m.variant,
        "precisions": precisions,
        "int8_weight_encodings": int8,
        "graph_bytes": bytes_by_precision,
        "genes": genes.len(),
        "first_genes": genes.iter().take(5).collect::<Vec<_>>(),
        "d_model": m.model.d_model,
        "encoder_layers": m.model.num_encoder_layers,
        "decoder_layers": m.model.num_decoder_layers,
        "vocab_size": m.model.vocab_size,
        "query_tokens": m.model.num_query_tokens,
        "label_sets": m.label_sets,
        "providers_available": providers,
    });
    Ok((v, genes))
}

fn store_info(path: &Path, args: &InfoArgs, genes: Option<&[String]>) -> CmdResult<Value> {
    let mut store_opts = StoreOptions::default();
    if let Some(m) = &args.modality {
        store_opts = store_opts.with_modality(m.clone());
    }
    let store = AnnDataStore::open_with(path, &store_opts).at(Stage::Run)?;
    let mut matrices = Vec::new();
    let mut candidates = vec![MatrixSelection::X];
    candidates.extend(
        store
            .layers()
            .at(Stage::Run)?
            .into_iter()
            .map(MatrixSelection::Layer),
    );
    if store.has_raw().at(Stage::Run)? {
        candidates.push(MatrixSelection::RawX);
    }
    for sel in &candidates {
        match inspect_matrix(&store, sel, DEFAULT_SAMPLE_ROWS) {
            Ok(r) => matrices.push(json!({"element": r.element, "holds": r.content, "detail": r.detail})),
            Err(e) => matrices.push(json!({"element": format!("{sel:?}"), "error": crate::exit::one_line(&e.to_string())})),
        }
    }
    let mut opts = InputOptions::default().with_modality(args.modality.clone());
    if let Some(g) = &args.gene_symbols {
        opts = opts.with_gene_symbols(g.clone());
    }
    let writable = match check_obs_writable(path, store.modality()) {
        Ok(()) => json!(true),
        Err(e) => json!(format!("no: {}", crate::exit::one_line(&e.to_string()))),
    };
    let mut v = json!({
        "path": path.display().to_string(),
        "format": format!("{:?}", store.format()),
        "modality": store.modality(),
        "layout": if store.is_legacy() { "pre-0.7 anndata" } else { "anndata 0.7+" },
        "obs_writable": writable,
        "cells": store.n_obs().at(Stage::Run)?,
        "genes": store.n_vars().at(Stage::Run)?,
        "layers": store.layers().at(Stage::Run)?,
        "raw": store.has_raw().at(Stage::Run)?,
        "obs_columns": store.obs_column_names().at(Stage::Run)?,
        "matrices": matrices,
    });
    match Dataset::open(path, &opts) {
        Ok(data) => {
            v["chosen"] = json!(data.matrix_element());
            v["chunk_rows"] = json!(data.chunk_rows());
            v["shard_unit"] = json!(data.shard_unit(args.batch_size));
            v["max_shards"] = json!(data.n_cells().div_ceil(data.shard_unit(args.batch_size)));
            if let Some(vocab) = genes {
                match instructcell::GeneAlignment::new(
                    data.gene_names(),
                    vocab,
                    &AlignOptions::default(),
                ) {
                    Ok(a) => {
                        let r = a.report();
                        v["gene_overlap"] = json!({
                            "matched": r.matched, "model_genes": r.n_vocab,
                            "dataset_genes": r.n_dataset,
                            "fraction": r.matched_fraction(),
                            "first_missing": r.top_missing.iter().take(5).collect::<Vec<_>>(),
                        });
                    }
                    Err(e) => v["gene_overlap"] = json!(crate::exit::one_line(&e.to_string())),
                }
            }
        }
        Err(e) => v["chosen"] = json!(format!("none: {}", crate::exit::one_line(&e.to_string()))),
    }
    Ok(v)
}

fn print_text(prefix: &str, v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(_) => {
                        println!("{prefix}{k}:");
                        print_text(&format!("{prefix}  "), x);
                    }
                    Value::Array(a) if a.iter().any(|e| e.is_object()) => {
                        println!("{prefix}{k}:");
                        for e in a {
                            let line: Vec<String> = e
                                .as_object()
                                .map(|o| {
                                    o.iter()
                                        .map(|(k, v)| format!("{k}: {}", scalar(v)))
                                        .collect()
                                })
                                .unwrap_or_else(|| vec![scalar(e)]);
                            println!("{prefix}  - {}", line.join(", "));
                        }
                    }
                    _ => println!("{prefix}{k}: {}", scalar(x)),
                }
            }
        }
        other => println!("{prefix}{}", scalar(other)),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Runs `info`.
pub fn run(args: &InfoArgs) -> CmdResult {
    let dir = model_dir(args.model.as_deref())?;
    let (model, genes) = package_info(&dir)?;
    let mut out = json!({ "model": model });
    if let Some(input) = &args.input {
        out["input"] = store_info(input, args, Some(&genes))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print_text("", &out);
    }
    Ok(())
}
