//! The fp32 tie check of reduced-precision models: bad margins and packages without (intact)
//! fp32 graphs are refused at load; only greedy answers are re-decided; each answer names the
//! precision that decided it.

use instructcell::generation::{BeamSearch, Decoding, DecodingOptions, Sampling};
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::package::Precision;
use instructcell::prompt::{Metadata, Template};
use instructcell::Error;
use std::path::Path;

mod package_support;

use package_support::{edit_manifest, load_or_skip, tiny_copy, tiny_package};

/// Loads `dir` as int8 with the fp32 tie margin `margin`; `None` when ONNX Runtime is absent
/// and not required.
fn load(dir: &Path, precision: Precision, margin: f32) -> Option<Result<Model, Error>> {
    let opts = ModelOptions::default()
        .with_threads(1)
        .with_precision(precision)
        .with_fp32_tie_margin(margin);
    load_or_skip(dir, &opts)
}

#[test]
fn margins_must_be_finite_and_not_negative() {
    for bad in [-0.5, f32::NAN, f32::INFINITY] {
        let Some(r) = load(&tiny_package(), Precision::Int8, bad) else {
            return;
        };
        assert!(
            matches!(r, Err(Error::InvalidArgument(ref m)) if m.contains("tie margin")),
            "{bad}: {r:?}"
        );
    }
    // fp32 models decide everything in fp32 already: the option changes nothing.
    let fp32 = load(&tiny_package(), Precision::Fp32, 0.5)
        .unwrap()
        .unwrap();
    assert_eq!(fp32.fp32_tie_margin(), None);
    let int8 = load(&tiny_package(), Precision::Int8, 0.5)
        .unwrap()
        .unwrap();
    assert_eq!(int8.fp32_tie_margin(), Some(0.5));
}

#[test]
fn packages_without_intact_fp32_graphs_are_refused() {
    let missing = tiny_copy();
    edit_manifest(missing.path(), |v| {
        let kept: Vec<_> = v["graphs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["precision"] != "fp32")
            .cloned()
            .collect();
        v["graphs"] = kept.into();
    });
    let Some(r) = load(missing.path(), Precision::Int8, 0.5) else {
        return;
    };
    assert!(matches!(r, Err(Error::Package { .. })), "{r:?}");
    // Without the check the same package loads: the refusal is the check's.
    let plain = ModelOptions::default()
        .with_threads(1)
        .with_precision(Precision::Int8);
    Model::load(missing.path(), &plain).unwrap();

    let tampered = tiny_copy();
    let decoder = tampered.path().join("fp32/decoder.onnx");
    let mut bytes = std::fs::read(&decoder).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&decoder, bytes).unwrap();
    let r = load(tampered.path(), Precision::Int8, 0.5).unwrap();
    assert!(matches!(r, Err(Error::Package { .. })), "{r:?}");
}

#[test]
fn only_greedy_answers_are_re_decided() {
    let Some(r) = load(&tiny_package(), Precision::Int8, 1e6) else {
        return;
    };
    let model = r.unwrap();
    let template = Template::parse("What cell type is {input}?").unwrap();
    let text = model
        .formatter()
        .format(&template, &Metadata::new(), None, true)
        .unwrap();
    let cells: Vec<Vec<f32>> = (0..3)
        .map(|i| {
            (0..model.dims().num_genes)
                .map(|g| ((g * 7 + i * 13) % 11) as f32 / 4.0)
                .collect()
        })
        .collect();
    let prompts: Vec<Prompt<'_>> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| Prompt {
            text: &text,
            expression: Some(c),
            id: i as u64,
        })
        .collect();
    let run = |d: Decoding| {
        let opts = DecodingOptions::default()
            .with_decoding(d)
            .with_max_new_tokens(6);
        model
            .generate(&prompts, &opts, &CellOptions::default(), None)
            .unwrap()
    };
    // A margin no answer reaches: every greedy answer is the fp32 one.
    let fp32 = load(&tiny_package(), Precision::Fp32, 0.0)
        .unwrap()
        .unwrap();
    let reference = fp32
        .generate(
            &prompts,
            &DecodingOptions::default().with_max_new_tokens(6),
            &CellOptions::default(),
            None,
        )
        .unwrap();
    for (a, want) in run(Decoding::Greedy).iter().zip(&reference) {
        assert_eq!(a.precision, Precision::Fp32);
        assert_eq!(a.tokens, want.tokens);
        assert_eq!(a.min_margin, want.min_margin);
    }
    for d in [
        Decoding::Sample(Sampling::default().with_seed(3)),
        Decoding::Beam(BeamSearch::default().with_num_beams(2)),
    ] {
        for a in run(d) {
            assert_eq!(a.precision, Precision::Int8);
            assert_eq!(a.min_margin, None);
        }
    }
}
