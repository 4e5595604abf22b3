//! Constrained and scored answers on the tiny package: the label trie always yields a label of
//! the set, and teacher-forced scores agree with the incremental decoder's log-probabilities.

use instructcell::generation::{
    BeamSearch, Decoding, DecodingOptions, LabelTrie, StopReason, TokenFilter,
};
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::Error;
use std::path::PathBuf;

fn load() -> Option<Model> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-random");
    match Model::load(dir, &ModelOptions::default().with_threads(2)) {
        Ok(m) => Some(m),
        Err(Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

const LABELS: [&str; 5] = [
    "CD14+ Monocyte",
    "CD19+ B",
    "CD56+ NK",
    "Dendritic",
    "CD8+ Cytotoxic T",
];

fn cells(model: &Model, n: usize) -> Vec<Vec<f32>> {
    let g = model.dims().num_genes;
    (0..n)
        .map(|i| {
            (0..g)
                .map(|j| ((i * 17 + j * 3) % 13) as f32 * 0.25)
                .collect()
        })
        .collect()
}

fn prompts<'a>(text: &'a str, exprs: &'a [Vec<f32>]) -> Vec<Prompt<'a>> {
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| Prompt {
            text,
            expression: Some(e),
            id: i as u64,
        })
        .collect()
}

const TEXT: &str = "User:\nWhich type is <CELL><CELL0></CELL>? (CD14+ Monocyte, CD19+ B, CD56+ NK, Dendritic, CD8+ Cytotoxic T)\n\nAssistant:\n";

/// Forces one fixed sequence.
struct Force(Vec<u32>);
impl TokenFilter for Force {
    fn filter(&self, _r: u64, generated: &[u32], scores: &mut [f32]) {
        let want = self.0[generated.len()];
        for (t, s) in scores.iter_mut().enumerate() {
            if t as u32 != want {
                *s = f32::NEG_INFINITY;
            }
        }
    }
}

#[test]
fn scores_equal_the_incremental_log_likelihood() {
    let Some(m) = load() else { return };
    let exprs = cells(&m, 4);
    let ps = prompts(TEXT, &exprs);
    let labels: Vec<Vec<u32>> = LABELS.iter().map(|l| m.label_tokens(l).unwrap()).collect();
    let scores = m.score(&ps, &labels).unwrap();
    assert_eq!(scores.len(), 4);
    let eos = m.package().manifest().special_tokens.eos;
    for (j, lab) in labels.iter().enumerate() {
        let mut forced = lab.clone();
        forced.push(eos);
        let opts = DecodingOptions::default().with_max_new_tokens(forced.len());
        let out = m
            .generate(
                &ps,
                &opts,
                &CellOptions::default(),
                Some(&Force(forced.clone())),
            )
            .unwrap();
        for (i, a) in out.iter().enumerate() {
            assert_eq!(a.tokens, forced);
            let incremental: f32 = a.logprobs.iter().sum();
            assert!(
                (incremental - scores[i][j]).abs() < 1e-3,
                "prompt {i} label {j}: {incremental} vs {}",
                scores[i][j]
            );
        }
    }
    assert!(m.score(&ps, &[]).is_err());
    assert!(m.score(&ps, &[vec![]]).is_err());
}

#[test]
fn constrained_decoding_always_yields_a_label() {
    let Some(m) = load() else { return };
    let exprs = cells(&m, 8);
    let ps = prompts(TEXT, &exprs);
    let eos = m.package().manifest().special_tokens.eos;
    let labels: Vec<Vec<u32>> = LABELS.iter().map(|l| m.label_tokens(l).unwrap()).collect();
    for stop_early in [false, true] {
        let trie = LabelTrie::new(&labels, eos, stop_early).unwrap();
        for decoding in [
            Decoding::Greedy,
            Decoding::Beam(BeamSearch::default().with_num_beams(3)),
        ] {
            let opts = DecodingOptions::default()
                .with_max_new_tokens(32)
                .with_decoding(decoding);
            let out = m
                .generate(&ps, &opts, &CellOptions::default(), Some(&trie))
                .unwrap();
            for a in &out {
                assert_eq!(a.stop, StopReason::Token(eos), "{:?}", a.tokens);
                let label = trie.resolve(&a.tokens).expect("a label of the set");
                if !stop_early {
                    assert_eq!(&a.tokens[..a.tokens.len() - 1], &labels[label][..]);
                    assert_eq!(a.text, LABELS[label]);
                } else {
                    assert!(a.tokens.len() <= labels[label].len() + 1);
                }
            }
        }
    }
}
