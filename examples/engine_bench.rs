//! Drives the engine for `benches/compare_engine.py`: greedy outputs for given prompts (parity
//! with the PyTorch reference) and cells/s at fixed batch sizes and output lengths.
//!
//! ```text
//! engine_bench parity PACKAGE PRECISION THREADS IN.json OUT.json
//! engine_bench speed  PACKAGE PRECISION THREADS PROMPT_TOKENS NEW_TOKENS BATCH CELLS
//! ```
//! PRECISION is `fp32`, `int8` (the encoding this CPU multiplies exactly), `int8-signed`,
//! `int8-unsigned` or `fp16`, optionally followed by `+ties=M`: near-ties under `M` nats are
//! re-decided by the fp32 graphs (`ModelOptions::fp32_tie_margin`).
//! `parity` reads `{"max_new_tokens": n, "cases": [{"prompt": text, "expression": [..]}]}` and
//! writes the generated token ids. `speed` builds prompts of exactly PROMPT_TOKENS encoder
//! positions after splicing, forces NEW_TOKENS output tokens, and prints one JSON line.

use instructcell::generation::DecodingOptions;
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::rng::Rng;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 4 {
        return Err("usage: engine_bench parity|speed PACKAGE PRECISION THREADS ...".into());
    }
    // PRECISION: fp32, int8, fp16, or int8-signed / int8-unsigned to force the weight encoding;
    // `+ties=M` leaves near-ties under M nats to the fp32 graphs.
    let opts = ModelOptions::default()
        .with_threads(a[3].parse()?)
        .with_precision_spec(&a[2])?;
    let t = Instant::now();
    let model = Model::load(&a[1], &opts)?;
    eprintln!(
        "loaded {} ({}) in {:.1} s",
        a[1],
        a[2],
        t.elapsed().as_secs_f64()
    );
    match a[0].as_str() {
        "parity" => parity(&model, &a[4], &a[5]),
        "speed" => speed(
            &model,
            a[4].parse()?,
            a[5].parse()?,
            a[6].parse()?,
            a[7].parse()?,
        ),
        other => Err(format!("unknown mode {other}").into()),
    }
}

fn parity(model: &Model, input: &str, output: &str) -> Result<(), Box<dyn std::error::Error>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(input)?)?;
    let max_new = v["max_new_tokens"].as_u64().ok_or("max_new_tokens")? as usize;
    let cases = v["cases"].as_array().ok_or("cases")?;
    let texts: Vec<String> = cases
        .iter()
        .map(|c| c["prompt"].as_str().unwrap_or_default().to_string())
        .collect();
    let exprs: Vec<Vec<f32>> = cases
        .iter()
        .map(|c| {
            c["expression"]
                .as_array()
                .map(|x| x.iter().map(|y| y.as_f64().unwrap_or(0.0) as f32).collect())
                .unwrap_or_default()
        })
        .collect();
    let mut out = Vec::new();
    for (i, (t, e)) in texts.iter().zip(&exprs).enumerate() {
        let p = Prompt {
            text: t,
            expression: Some(e),
            id: i as u64,
        };
        let ans = model.generate(
            &[p],
            &DecodingOptions::default().with_max_new_tokens(max_new),
            &CellOptions::default(),
            None,
        )?;
        out.push(ans[0].tokens.clone());
    }
    std::fs::write(output, serde_json::to_string(&out)?)?;
    Ok(())
}

/// A prompt whose spliced length is exactly `positions`.
fn prompt_of_length(model: &Model, positions: usize) -> Result<String, Box<dyn std::error::Error>> {
    let q = model.dims().num_query_tokens;
    let cell = &model.package().manifest().prompt.cell_text;
    let wrap = |body: &str| {
        model
            .package()
            .manifest()
            .prompt
            .wrapper
            .replacen("{prompt}", body, 1)
    };
    let words = [
        "which", "cell", "type", "is", "this", "human", "blood", "sample",
    ];
    let mut body = format!("Cell {cell}.");
    for i in 0..10_000 {
        let len = model.tokenize(&wrap(&body))?.len() - 1 + q;
        if len == positions {
            return Ok(wrap(&body));
        }
        if len > positions {
            return Err(format!("cannot hit {positions} positions exactly").into());
        }
        body.push(' ');
        body.push_str(words[i % words.len()]);
    }
    Err("prompt too short".into())
}

fn speed(
    model: &Model,
    positions: usize,
    new_tokens: usize,
    batch: usize,
    cells: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let text = prompt_of_length(model, positions)?;
    let g = model.dims().num_genes;
    let mut rng = Rng::new(1);
    let exprs: Vec<Vec<f32>> = (0..cells)
        .map(|_| {
            (0..g)
                .map(|_| {
                    if rng.uniform() < 0.1 {
                        (rng.uniform() * 5.0) as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let gen = DecodingOptions::default()
        .with_min_new_tokens(new_tokens)
        .with_max_new_tokens(new_tokens);
    let run =
        |range: std::ops::Range<usize>| -> Result<(usize, usize), Box<dyn std::error::Error>> {
            let prompts: Vec<Prompt<'_>> = range
                .map(|i| Prompt {
                    text: &text,
                    expression: Some(&exprs[i]),
                    id: i as u64,
                })
                .collect();
            let out = model.generate(&prompts, &gen, &CellOptions::default(), None)?;
            let redecided = out
                .iter()
                .filter(|a| a.precision != model.precision())
                .count();
            Ok((out.iter().map(|a| a.tokens.len()).sum(), redecided))
        };
    run(0..batch.min(cells))?; // warm-up: first-run allocations and kernel selection
    let t = Instant::now();
    let (mut tokens, mut redecided) = (0, 0);
    let mut start = 0;
    while start < cells {
        let end = (start + batch).min(cells);
        let (t, r) = run(start..end)?;
        tokens += t;
        redecided += r;
        start = end;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{{\"engine\":\"rust\",\"precision\":\"{}\",\"int8_weights\":\"{}\",\"batch\":{batch},\"new_tokens\":{new_tokens},\"cells\":{cells},\"seconds\":{secs:.4},\"cells_per_s\":{:.3},\"tokens\":{tokens},\"fp32_tie_margin\":{},\"redecided\":{redecided}}}",
        model.precision().as_str(),
        model.int8_weights().map_or("none", |w| w.as_str()),
        cells as f64 / secs,
        model.fp32_tie_margin().map_or("null".to_string(), |m| m.to_string()),
    );
    Ok(())
}
