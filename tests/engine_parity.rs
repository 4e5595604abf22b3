//! Parity of the engine with the PyTorch reference, on golden outputs recorded by
//! `tests/data/golden/make_golden.py` (the seeded random `tiny` package) and
//! `tests/data/golden/make_golden_trained.py` (the bundled trained `pbmc-small` model on held-out
//! PBMCs, every task in both answer styles). Each fixture names its package; every test runs over
//! both fixtures, and the trained one is skipped with a message when its file or package is absent.
//!
//! Tolerances: token ids (prompt, greedy, beam search) must match exactly, and so must the decoded
//! greedy text where the fixture records it; float tensors must agree within 1e-4 of the tensor's
//! largest magnitude (fp32 graphs, different kernels); encoder row sums within 1e-4 of the
//! largest recorded entry times the row width.

use instructcell::generation::{BeamSearch, Decoding, DecodingOptions, StopReason, TokenFilter};
use instructcell::model::{Answer, CellOptions, Model, ModelOptions, Prompt};
use instructcell::package::{ModelPackage, Precision};
use serde_json::Value;
use std::path::PathBuf;

const REL_TOL: f32 = 1e-4;

/// Golden files under `tests/data/golden/`, and whether each must be present.
const FIXTURES: [(&str, bool); 2] = [("tiny_random.json", true), ("pbmc_small.json", false)];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Case {
    prompt: String,
    ids: Vec<u32>,
    counts: Option<(Vec<usize>, Vec<f32>)>,
    expression: Option<Vec<f32>>,
    cell_embeddings: Option<Vec<f32>>,
    /// Positions and values of a few complete encoder output rows, and every row's sum.
    encoder_rows: (Vec<usize>, Vec<f32>),
    encoder_row_sums: Vec<f32>,
    greedy: Vec<u32>,
    text: Option<String>,
    beam3: Vec<u32>,
    logits: Option<Vec<f32>>,
    signal_sequence: Vec<u32>,
    condition: Vec<f32>,
    z: Vec<f32>,
    log_library: f32,
    mu: Vec<f32>,
    theta: Vec<f32>,
    zi_logits: Vec<f32>,
    /// Smallest top-1/top-2 fp32 logit margin along the greedy answer, where recorded.
    greedy_min_margin: Option<f32>,
}

/// One golden file: its package, decoding settings and cases.
struct Golden {
    name: &'static str,
    package: PathBuf,
    /// SHA-256 of the package's token embeddings the fixture was recorded for, where it says.
    weights_sha256: Option<String>,
    max_new_tokens: usize,
    logit_steps: usize,
    cases: Vec<Case>,
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn ints(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn case(c: &Value) -> Case {
    Case {
        prompt: c["prompt"].as_str().unwrap().to_string(),
        ids: ints(&c["ids"]),
        counts: c.get("counts").map(|k| {
            (
                ints(&k["indices"])
                    .into_iter()
                    .map(|i| i as usize)
                    .collect(),
                floats(&k["values"]),
            )
        }),
        expression: c.get("expression").map(floats),
        cell_embeddings: c.get("cell_embeddings").map(floats),
        encoder_rows: (
            ints(&c["encoder_rows"]["positions"])
                .into_iter()
                .map(|p| p as usize)
                .collect(),
            floats(&c["encoder_rows"]["values"]),
        ),
        encoder_row_sums: floats(&c["encoder_row_sums"]),
        greedy: ints(&c["greedy"]),
        text: c.get("text").map(|t| t.as_str().unwrap().to_string()),
        beam3: ints(&c["beam3"]),
        logits: c.get("logits").map(floats),
        signal_sequence: ints(&c["signal_sequence"]),
        condition: floats(&c["condition"]),
        z: floats(&c["z"]),
        log_library: c["log_library"].as_f64().unwrap() as f32,
        mu: floats(&c["mu"]),
        theta: floats(&c["theta"]),
        zi_logits: floats(&c["zi_logits"]),
        greedy_min_margin: c
            .get("greedy_min_margin")
            .and_then(Value::as_f64)
            .map(|m| m as f32),
    }
}

/// The golden file `name`, or `None` (with a message) when an optional one or its package is absent.
fn golden(name: &'static str, required: bool) -> Option<Golden> {
    let path = root().join("tests/data/golden").join(name);
    if !required && !path.exists() {
        eprintln!("skipping {name}: no fixture at {}", path.display());
        return None;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let g: Value = serde_json::from_str(&text).unwrap();
    let package = root().join(g["package"].as_str().unwrap());
    if !required && !package.join("manifest.json").exists() {
        eprintln!("skipping {name}: no package at {}", package.display());
        return None;
    }
    Some(Golden {
        name,
        package,
        weights_sha256: g
            .get("token_embeddings_sha256")
            .map(|s| s.as_str().unwrap().to_string()),
        max_new_tokens: g["max_new_tokens"].as_u64().unwrap() as usize,
        logit_steps: g["logit_steps"].as_u64().unwrap() as usize,
        cases: g["cases"].as_array().unwrap().iter().map(case).collect(),
    })
}

/// Every available fixture with its package loaded at `precision`; empty when ONNX Runtime is
/// absent here (set INSTRUCTCELL_REQUIRE_ORT=1 to fail instead, as the repository's test script
/// does).
fn fixtures(precision: Precision) -> Vec<(Golden, Model)> {
    fixtures_with(
        ModelOptions::default()
            .with_threads(2)
            .with_precision(precision),
    )
}

/// [`fixtures`] with every package loaded with `opts`.
fn fixtures_with(opts: ModelOptions) -> Vec<(Golden, Model)> {
    let precision = opts.precision;
    let mut out = Vec::new();
    for (name, required) in FIXTURES {
        let Some(g) = golden(name, required) else {
            continue;
        };
        // fp16 graphs are optional in a package; fp32 and int8 are expected everywhere.
        let offered = ModelPackage::open(&g.package)
            .map(|p| p.precisions().contains(&precision))
            .unwrap_or(true);
        if precision == Precision::Fp16 && !offered {
            eprintln!("skipping {name}: its package has no fp16 graphs");
            continue;
        }
        match Model::load(&g.package, &opts) {
            Ok(m) => {
                if let Some(want) = &g.weights_sha256 {
                    let have = &m.package().manifest().files.token_embeddings.sha256;
                    assert_eq!(
                        have,
                        want,
                        "{name} was recorded for other weights than {}: regenerate it (see \
                         tests/data/README.md)",
                        g.package.display()
                    );
                }
                out.push((g, m));
            }
            Err(instructcell::Error::OnnxRuntimeNotFound { .. })
                if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
            {
                eprintln!("skipping: ONNX Runtime not installed");
                return Vec::new();
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    out
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let err = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= REL_TOL * scale,
        "{what}: max abs error {err} > {REL_TOL} × {scale}"
    );
}

fn prompts(cases: &[Case]) -> Vec<Prompt<'_>> {
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| Prompt {
            text: &c.prompt,
            expression: c.expression.as_deref(),
            id: i as u64,
        })
        .collect()
}

#[test]
fn prompt_tokens_are_identical() {
    for (g, model) in fixtures(Precision::Fp32) {
        for c in &g.cases {
            assert_eq!(
                model.tokenize(&c.prompt).unwrap(),
                c.ids,
                "{}: {:?}",
                g.name,
                c.prompt
            );
        }
    }
}

#[test]
fn preprocessing_and_cell_encoder_match() {
    for (g, model) in fixtures(Precision::Fp32) {
        let n = model.dims().num_genes;
        for (i, c) in g.cases.iter().enumerate() {
            let Some((idx, vals)) = &c.counts else {
                continue;
            };
            let total: f32 = vals.iter().sum();
            let mut expr = vec![0f32; n];
            for (&j, &v) in idx.iter().zip(vals) {
                expr[j] = (v / total * 1e4).ln_1p();
            }
            let want = c.expression.as_ref().unwrap();
            assert_close(&format!("{} expression {i}", g.name), &expr, want);
            let emb = model.encode_cells(want, 1).unwrap();
            let what = format!("{} cell embeddings {i}", g.name);
            assert_close(&what, &emb, c.cell_embeddings.as_ref().unwrap());
        }
    }
}

#[test]
fn encoder_states_match_in_one_ragged_batch() {
    for (g, model) in fixtures(Precision::Fp32) {
        let d = model.dims().d_model;
        let states = model.encoder_states(&prompts(&g.cases)).unwrap();
        for (i, (h, c)) in states.iter().zip(&g.cases).enumerate() {
            let what = format!("{} encoder states {i}", g.name);
            assert_eq!(h.len(), c.encoder_row_sums.len() * d, "{what}: positions");
            let (positions, values) = &c.encoder_rows;
            let rows: Vec<f32> = positions
                .iter()
                .flat_map(|&p| h[p * d..(p + 1) * d].iter().copied())
                .collect();
            assert_close(&format!("{what}: rows {positions:?}"), &rows, values);
            // A row sum may cancel to near zero: compare against the row's scale instead.
            let scale = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (p, want) in c.encoder_row_sums.iter().enumerate() {
                let got: f64 = h[p * d..(p + 1) * d].iter().map(|&x| x as f64).sum();
                assert!(
                    (got as f32 - want).abs() <= REL_TOL * scale * d as f32,
                    "{what}: row {p} sums to {got}, reference {want}"
                );
            }
        }
    }
}

#[test]
fn greedy_decoding_is_token_identical_in_one_ragged_batch() {
    for (g, model) in fixtures(Precision::Fp32) {
        assert!(g.cases.len() >= 20, "{}: too few cases", g.name);
        let opts = DecodingOptions::default().with_max_new_tokens(g.max_new_tokens);
        let answers = model
            .generate(&prompts(&g.cases), &opts, &CellOptions::default(), None)
            .unwrap();
        for (i, (a, c)) in answers.iter().zip(&g.cases).enumerate() {
            assert_eq!(a.tokens, c.greedy, "{} case {i}: {:?}", g.name, c.prompt);
            if let Some(text) = &c.text {
                assert_eq!(&a.text, text, "{} case {i}: decoded text", g.name);
            }
            if let Some(logits) = &c.logits {
                // Log-probabilities of the chosen tokens against the reference logits.
                let steps = g.logit_steps;
                let v = logits.len() / steps;
                for s in 0..steps.min(a.tokens.len()) {
                    let row = &logits[s * v..(s + 1) * v];
                    let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                    let lse = m + row.iter().map(|x| (x - m).exp()).sum::<f32>().ln();
                    let want = row[a.tokens[s] as usize] - lse;
                    assert!(
                        (a.logprobs[s] - want).abs() < 1e-4,
                        "{} case {i} step {s}",
                        g.name
                    );
                }
            }
        }
    }
}

#[test]
fn greedy_is_independent_of_batching() {
    for (g, model) in fixtures(Precision::Fp32) {
        let opts = DecodingOptions::default().with_max_new_tokens(g.max_new_tokens);
        let all = prompts(&g.cases);
        for chunk in all.chunks(5) {
            let answers = model
                .generate(chunk, &opts, &CellOptions::default(), None)
                .unwrap();
            for (a, p) in answers.iter().zip(chunk) {
                let want = &g.cases[p.id as usize].greedy;
                assert_eq!(&a.tokens, want, "{} case {}", g.name, p.id);
            }
        }
    }
}

#[test]
fn beam_search_is_token_identical() {
    for (g, model) in fixtures(Precision::Fp32) {
        let opts = DecodingOptions::default()
            .with_max_new_tokens(g.max_new_tokens)
            .with_decoding(Decoding::Beam(BeamSearch::default().with_num_beams(3)));
        let answers = model
            .generate(&prompts(&g.cases), &opts, &CellOptions::default(), None)
            .unwrap();
        let differ: Vec<usize> = answers
            .iter()
            .zip(&g.cases)
            .enumerate()
            .filter(|(_, (a, c))| a.tokens != c.beam3)
            .map(|(i, _)| i)
            .collect();
        assert!(
            differ.is_empty(),
            "{}: beam search differs on cases {differ:?}",
            g.name
        );
    }
}

#[test]
fn condition_and_generator_match() {
    for (g, model) in fixtures(Precision::Fp32) {
        let seqs: Vec<Vec<u32>> = g.cases.iter().map(|c| c.signal_sequence.clone()).collect();
        let conds = model.conditions(&prompts(&g.cases), &seqs).unwrap();
        for (i, (got, c)) in conds.iter().zip(&g.cases).enumerate() {
            let name = g.name;
            assert_close(&format!("{name} condition {i}"), got, &c.condition);
            let p = model
                .generator_params(std::slice::from_ref(&c.condition), &c.z, &[c.log_library])
                .unwrap();
            assert_close(&format!("{name} mu {i}"), &p.mu, &c.mu);
            assert_close(&format!("{name} theta {i}"), &p.theta, &c.theta);
            assert_close(&format!("{name} zi_logits {i}"), &p.zi_logits, &c.zi_logits);
        }
    }
}

/// Forces a fixed answer ending with the signal token.
struct Force(Vec<Vec<u32>>);
impl TokenFilter for Force {
    fn filter(&self, request: u64, generated: &[u32], scores: &mut [f32]) {
        let want = self.0[request as usize][generated.len()];
        for (t, s) in scores.iter_mut().enumerate() {
            if t as u32 != want {
                *s = f32::NEG_INFINITY;
            }
        }
    }
}

#[test]
fn signal_token_yields_a_seeded_cell_with_the_reference_condition() {
    for (g, model) in fixtures(Precision::Fp32) {
        let cases = &g.cases[..6];
        let force = Force(cases.iter().map(|c| c.signal_sequence.clone()).collect());
        let longest = cases.iter().map(|c| c.signal_sequence.len()).max().unwrap();
        let opts = DecodingOptions::default().with_max_new_tokens(longest);
        let cell_opts = CellOptions::default().with_seed(42);
        let run = || {
            model
                .generate(&prompts(cases), &opts, &cell_opts, Some(&force))
                .unwrap()
        };
        let a = run();
        let signal = model.package().manifest().special_tokens.signal[0];
        for (i, (ans, c)) in a.iter().zip(cases).enumerate() {
            assert_eq!(ans.stop, StopReason::Token(signal), "{} case {i}", g.name);
            let cell = ans.cell.as_ref().expect("a generated cell");
            let what = format!("{} condition {i}", g.name);
            assert_close(&what, &cell.condition, &c.condition);
            assert_eq!(cell.counts.n_rows(), 1);
            assert_eq!(cell.counts.n_cols, model.dims().num_genes);
            assert!(cell
                .counts
                .data
                .iter()
                .all(|v| v.fract() == 0.0 && *v > 0.0));
        }
        assert_eq!(a, run(), "{}: seeded cells are reproducible", g.name);
        let other = model
            .generate(
                &prompts(cases),
                &opts,
                &CellOptions::default().with_seed(43),
                Some(&force),
            )
            .unwrap();
        assert_ne!(
            a.iter().map(|x| x.cell.clone()).collect::<Vec<_>>(),
            other.iter().map(|x| x.cell.clone()).collect::<Vec<_>>()
        );
    }
}

/// Greedy agreement of a reduced-precision package with the fp32 reference ids:
/// `(identical sequences, identical first tokens, mean common prefix, the answers)`.
fn agreement(model: &Model, g: &Golden) -> (usize, usize, f32, Vec<Answer>) {
    let cases = &g.cases;
    let opts = DecodingOptions::default().with_max_new_tokens(g.max_new_tokens);
    let answers = model
        .generate(&prompts(cases), &opts, &CellOptions::default(), None)
        .unwrap();
    let pairs = || answers.iter().zip(cases);
    let same = pairs().filter(|(a, c)| a.tokens == c.greedy).count();
    let first = pairs()
        .filter(|(a, c)| a.tokens.first() == c.greedy.first())
        .count();
    let prefix: usize = pairs()
        .map(|(a, c)| {
            a.tokens
                .iter()
                .zip(&c.greedy)
                .take_while(|(x, y)| x == y)
                .count()
        })
        .sum();
    let mean_prefix = prefix as f32 / cases.len() as f32;
    (same, first, mean_prefix, answers)
}

#[test]
fn int8_graphs_track_fp32_greedy() {
    for (g, model) in fixtures(Precision::Int8) {
        let n = g.cases.len();
        let (same, first, prefix, answers) = agreement(&model, &g);
        eprintln!(
            "{}: int8 greedy agreement: {same}/{n} sequences, first token {first}, mean common prefix {prefix:.1}",
            g.name
        );
        // On the random package, weights scaled up to make outputs input-dependent amplify
        // quantization noise, so whole sequences drift apart after a few tokens (12/28 equal when
        // this was written); the first decision must still agree on the large majority of prompts.
        assert!(
            first * 10 >= n * 8,
            "{}: int8 first token agrees with fp32 on only {first}/{n} prompts",
            g.name
        );
        // Where fp32 decides every token by a clear margin (trained fixtures record it), int8
        // must give the same answer; only near-ties may resolve otherwise.
        for (i, (a, c)) in answers.iter().zip(&g.cases).enumerate() {
            if c.greedy_min_margin.is_some_and(|m| m >= CLEAR_MARGIN) {
                assert_eq!(
                    a.tokens, c.greedy,
                    "{} case {i}: int8 differs although fp32 decides by {:?}",
                    g.name, c.greedy_min_margin
                );
            }
        }
    }
}

#[test]
fn int8_with_fp32_tie_margin_gives_the_reference_answers() {
    let opts = ModelOptions::default()
        .with_threads(2)
        .with_precision(Precision::Int8)
        .with_fp32_tie_margin(TIE_MARGIN);
    for (g, model) in fixtures_with(opts) {
        assert_eq!(model.fp32_tie_margin(), Some(TIE_MARGIN));
        let n = g.cases.len();
        let (same, _, _, answers) = agreement(&model, &g);
        let redecided = answers
            .iter()
            .filter(|a| a.precision == Precision::Fp32)
            .count();
        eprintln!(
            "{}: int8 with fp32 near-ties (< {TIE_MARGIN} nats): {same}/{n} sequences equal the \
             reference, {redecided} re-decided in fp32",
            g.name
        );
        for (i, (a, c)) in answers.iter().zip(&g.cases).enumerate() {
            assert_eq!(
                a.tokens, c.greedy,
                "{} case {i} ({:?}, margin {:?})",
                g.name, a.precision, a.min_margin
            );
            // An answer int8 kept decided every step by at least the margin.
            if a.precision == Precision::Int8 {
                assert!(
                    a.min_margin.is_some_and(|m| m >= TIE_MARGIN),
                    "{} case {i}",
                    g.name
                );
            } else {
                assert_eq!(a.precision, Precision::Fp32);
            }
        }
        // The trained model decides most of its answers clearly: int8 keeps those.
        if records_margins(&g) {
            assert!(
                redecided < n,
                "{}: every answer was re-decided in fp32",
                g.name
            );
        }
    }
}

/// Whether a fixture records fp32 margins (the trained one does; the random one's answers are
/// all near-ties).
fn records_margins(g: &Golden) -> bool {
    g.cases.iter().any(|c| c.greedy_min_margin.is_some())
}

/// Three times the largest change of a top-1/top-2 margin between int8 and fp32 measured over
/// the trained fixture's answers (0.16 nats; `Model::margin_shift` on held-out answers: 0.18).
const TIE_MARGIN: f32 = 0.5;

/// A top-1/top-2 logit margin that int8 quantization noise must not overturn.
const CLEAR_MARGIN: f32 = 0.05;

#[test]
fn fp16_graphs_track_fp32_greedy() {
    for (g, model) in fixtures(Precision::Fp16) {
        let n = g.cases.len();
        let (same, first, prefix, _) = agreement(&model, &g);
        eprintln!(
            "{}: fp16 greedy agreement: {same}/{n} sequences, first token {first}, mean common prefix {prefix:.1}",
            g.name
        );
        // fp16 keeps far more precision than int8: every first decision must agree.
        assert_eq!(first, n, "{}: fp16 first tokens differ from fp32", g.name);
    }
}
