//! The two int8 weight encodings of a package: both sets verified and loadable, the CPU's
//! choice by default, older signed-only packages refused where their products would saturate,
//! and every malformed or missing set refused with a package error.

use instructcell::model::{Model, ModelOptions};
use instructcell::package::{Int8Weights, ModelPackage, Precision};
use instructcell::Error;
use std::path::Path;

mod package_support;

use package_support::{edit_manifest, load_or_skip, tiny_copy, tiny_package as source};

/// A private copy of the tiny package with its manifest edited by `f`.
fn edited(f: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tiny_copy();
    edit_manifest(dir.path(), f);
    dir
}

/// Keeps the graph entries for which `keep` holds.
fn retain_graphs(v: &mut serde_json::Value, keep: impl Fn(&serde_json::Value) -> bool) {
    let kept: Vec<_> = v["graphs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| keep(g))
        .cloned()
        .collect();
    v["graphs"] = kept.into();
}

/// A package as format 2 wrote it: signed int8 graphs only, no `int8_weights` fields.
fn signed_only() -> tempfile::TempDir {
    edited(|v| {
        v["format_version"] = 2.into();
        retain_graphs(v, |g| g["int8_weights"] != "unsigned");
        for g in v["graphs"].as_array_mut().unwrap() {
            g.as_object_mut().unwrap().remove("int8_weights");
        }
    })
}

fn problem(err: Error) -> String {
    match err {
        Error::Package { problem, .. } => problem,
        other => panic!("expected a package error, got {other}"),
    }
}

/// Loads int8 graphs; `None` when ONNX Runtime is absent and not required.
fn load_int8(dir: &Path, weights: Option<Int8Weights>) -> Option<Result<Model, Error>> {
    let mut opts = ModelOptions::default()
        .with_threads(1)
        .with_precision(Precision::Int8);
    if let Some(w) = weights {
        opts = opts.with_int8_weights(w);
    }
    load_or_skip(dir, &opts)
}

#[test]
fn the_committed_package_has_both_sets() {
    let p = ModelPackage::open(source()).unwrap();
    assert_eq!(p.manifest().format_version, 3);
    assert_eq!(
        p.int8_weight_sets(),
        [Int8Weights::Signed, Int8Weights::Unsigned]
    );
    for w in [Int8Weights::Signed, Int8Weights::Unsigned] {
        p.verify_in(Precision::Int8, Some(w)).unwrap();
        let e = p.graph_in("decoder", Precision::Int8, Some(w)).unwrap();
        assert_eq!(
            e.file.starts_with("int8-unsigned/"),
            w == Int8Weights::Unsigned
        );
    }
    // fp32 ignores the encoding.
    let e = p
        .graph_in("decoder", Precision::Fp32, Some(Int8Weights::Unsigned))
        .unwrap();
    assert_eq!(e.file, "fp32/decoder.onnx");
}

#[test]
fn loading_picks_the_cpu_preference_or_the_request() {
    let Some(m) = load_int8(&source(), None) else {
        return;
    };
    assert_eq!(m.unwrap().int8_weights(), Some(Int8Weights::preferred()));
    for w in [Int8Weights::Signed, Int8Weights::Unsigned] {
        let m = load_int8(&source(), Some(w)).unwrap().unwrap();
        assert_eq!(m.int8_weights(), Some(w));
        assert_eq!(m.precision(), Precision::Int8);
    }
}

#[test]
fn signed_only_packages_load_only_where_exact_unless_forced() {
    let dir = signed_only();
    let p = ModelPackage::open(dir.path()).unwrap();
    assert_eq!(p.int8_weight_sets(), [Int8Weights::Signed]);
    assert_eq!(
        p.precisions(),
        [Precision::Fp32, Precision::Int8, Precision::Fp16]
    );
    let Some(auto) = load_int8(dir.path(), None) else {
        return;
    };
    match Int8Weights::preferred() {
        Int8Weights::Signed => assert_eq!(auto.unwrap().int8_weights(), Some(Int8Weights::Signed)),
        _ => {
            let msg = problem(auto.unwrap_err());
            assert!(
                msg.contains("saturating") && msg.contains("add-unsigned-int8"),
                "{msg}"
            );
        }
    }
    let forced = load_int8(dir.path(), Some(Int8Weights::Signed)).unwrap();
    assert_eq!(forced.unwrap().int8_weights(), Some(Int8Weights::Signed));
    let msg = problem(
        load_int8(dir.path(), Some(Int8Weights::Unsigned))
            .unwrap()
            .unwrap_err(),
    );
    assert!(
        msg.contains("unsigned weights") && msg.contains("signed"),
        "{msg}"
    );
}

#[test]
fn an_unsigned_only_package_loads_everywhere() {
    let dir = edited(|v| retain_graphs(v, |g| g["int8_weights"] != "signed"));
    let p = ModelPackage::open(dir.path()).unwrap();
    assert_eq!(p.int8_weight_sets(), [Int8Weights::Unsigned]);
    assert!(p
        .graph("decoder", Precision::Int8)
        .unwrap()
        .file
        .starts_with("int8-unsigned/"));
    let Some(m) = load_int8(dir.path(), None) else {
        return;
    };
    assert_eq!(m.unwrap().int8_weights(), Some(Int8Weights::Unsigned));
}

#[test]
fn a_tampered_set_is_refused_and_the_other_still_loads() {
    let dir = edited(|_| {});
    let graph = dir.path().join("int8-unsigned/decoder.onnx");
    let mut bytes = std::fs::read(&graph).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&graph, bytes).unwrap();
    let p = ModelPackage::open(dir.path()).unwrap();
    match p.verify_in(Precision::Int8, Some(Int8Weights::Unsigned)) {
        Err(Error::Package { path, problem }) => {
            assert!(path.ends_with("int8-unsigned/decoder.onnx"), "{path:?}");
            assert!(problem.contains("sha256"), "{problem}");
        }
        other => panic!("expected a checksum refusal, got {other:?}"),
    }
    p.verify_in(Precision::Int8, Some(Int8Weights::Signed))
        .unwrap();
    let Some(r) = load_int8(dir.path(), Some(Int8Weights::Unsigned)) else {
        return;
    };
    assert!(matches!(r, Err(Error::Package { .. })));
    assert!(load_int8(dir.path(), Some(Int8Weights::Signed))
        .unwrap()
        .is_ok());
}

/// A manifest edit.
type Edit = dyn Fn(&mut serde_json::Value);

#[test]
fn malformed_encodings_and_versions_are_refused() {
    let cases: [(&str, Box<Edit>, &str); 4] = [
        (
            "encoding on an fp32 graph",
            Box::new(|v| v["graphs"][0]["int8_weights"] = "signed".into()),
            "names int8 weights",
        ),
        (
            "unknown encoding",
            Box::new(|v| {
                for g in v["graphs"].as_array_mut().unwrap() {
                    if g["int8_weights"] == "unsigned" {
                        g["int8_weights"] = "int4".into();
                    }
                }
            }),
            "unknown int8 weights",
        ),
        (
            "format 1",
            Box::new(|v| v["format_version"] = 1.into()),
            "format version 1",
        ),
        (
            "format 4",
            Box::new(|v| v["format_version"] = 4.into()),
            "format version 4",
        ),
    ];
    for (what, edit, expected) in cases {
        let dir = edited(|v| edit(v));
        let msg = problem(ModelPackage::open(dir.path()).unwrap_err());
        assert!(msg.contains(expected), "{what}: {msg}");
    }
}
