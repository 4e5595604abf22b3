//! Every refusal of a model package: malformed manifests, wrong formats, missing, truncated and
//! tampered files, unavailable precisions, inconsistent contents.

use instructcell::model::{Model, ModelOptions};
use instructcell::package::{ModelPackage, Precision};
use instructcell::Error;

mod package_support;

use package_support::{edit_manifest, tiny_copy as copy, tiny_package as source};

fn package_problem(err: Error) -> String {
    match err {
        Error::Package { problem, .. } => problem,
        other => panic!("expected a package error, got {other}"),
    }
}

#[test]
fn the_committed_package_is_valid() {
    let p = ModelPackage::open(source()).unwrap();
    assert_eq!(
        p.precisions(),
        vec![Precision::Fp32, Precision::Int8, Precision::Fp16]
    );
    for precision in p.precisions() {
        p.verify(precision).unwrap();
    }
    assert_eq!(p.genes().unwrap().len(), p.manifest().model.num_genes);
    let m = &p.manifest().model;
    assert_eq!(
        p.token_embeddings().unwrap().len(),
        m.vocab_size * m.d_model
    );
}

#[test]
fn not_a_package() {
    let dir = tempfile::tempdir().unwrap();
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("no manifest.json"), "{msg}");
}

#[test]
fn malformed_manifests() {
    let dir = copy();
    std::fs::write(dir.path().join("manifest.json"), "{ not json").unwrap();
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("malformed"), "{msg}");

    let dir = copy();
    edit_manifest(dir.path(), |v| {
        v.as_object_mut().unwrap().remove("graphs");
    });
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("graphs"), "{msg}");

    let dir = copy();
    edit_manifest(dir.path(), |v| v["format"] = "something-else".into());
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("something-else"), "{msg}");

    let dir = copy();
    edit_manifest(dir.path(), |v| v["format_version"] = 99.into());
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("version 99"), "{msg}");

    let dir = copy();
    edit_manifest(dir.path(), |v| v["special_tokens"]["eos"] = 999_999.into());
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("eos"), "{msg}");

    let dir = copy();
    edit_manifest(dir.path(), |v| v["prompt"]["wrapper"] = "no field".into());
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap_err());
    assert!(msg.contains("{prompt}"), "{msg}");
}

#[test]
fn tampered_truncated_and_missing_files_are_refused() {
    let dir = copy();
    let graph = dir.path().join("fp32/decoder.onnx");
    let mut bytes = std::fs::read(&graph).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&graph, &bytes).unwrap();
    let msg = package_problem(
        ModelPackage::open(dir.path())
            .unwrap()
            .verify(Precision::Fp32)
            .unwrap_err(),
    );
    assert!(msg.contains("sha256"), "{msg}");
    // The int8 graphs are untouched, so that precision still verifies.
    ModelPackage::open(dir.path())
        .unwrap()
        .verify(Precision::Int8)
        .unwrap();

    let dir = copy();
    let tok = dir.path().join("tokenizer.json");
    let bytes = std::fs::read(&tok).unwrap();
    std::fs::write(&tok, &bytes[..bytes.len() - 10]).unwrap();
    let msg = package_problem(
        ModelPackage::open(dir.path())
            .unwrap()
            .verify(Precision::Fp32)
            .unwrap_err(),
    );
    assert!(msg.contains("truncated"), "{msg}");

    let dir = copy();
    std::fs::remove_file(dir.path().join("genes.txt")).unwrap();
    let msg = package_problem(
        ModelPackage::open(dir.path())
            .unwrap()
            .verify(Precision::Fp32)
            .unwrap_err(),
    );
    assert!(msg.contains("missing"), "{msg}");

    let dir = copy();
    edit_manifest(dir.path(), |v| {
        v["files"]["genes"]["file"] = "../outside.txt".into()
    });
    let msg = package_problem(
        ModelPackage::open(dir.path())
            .unwrap()
            .verify(Precision::Fp32)
            .unwrap_err(),
    );
    assert!(msg.contains("escapes"), "{msg}");
}

#[test]
fn loading_verifies_before_running_anything() {
    // This path fails before ONNX Runtime is needed, so it runs everywhere.
    let dir = copy();
    let emb = dir.path().join("token_embeddings.npy");
    let mut bytes = std::fs::read(&emb).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&emb, &bytes).unwrap();
    let err = Model::load(dir.path(), &ModelOptions::default()).unwrap_err();
    assert!(err.to_string().contains("token_embeddings.npy"), "{err}");
    assert!(package_problem(err).contains("sha256"));
}

#[test]
fn unavailable_precision_names_the_available_ones() {
    // A copy without its fp16 graphs.
    let dir = copy();
    edit_manifest(dir.path(), |v| {
        let keep = |e: &serde_json::Value| e["precision"] != "fp16";
        for list in ["graphs", "cell_input"] {
            let kept: Vec<_> = v[list]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| keep(e))
                .cloned()
                .collect();
            v[list] = kept.into();
        }
    });
    let err = Model::load(
        dir.path(),
        &ModelOptions::default().with_precision(Precision::Fp16),
    )
    .unwrap_err();
    let msg = package_problem(err);
    assert!(msg.contains("fp16") && msg.contains("fp32, int8"), "{msg}");

    // Graphs without the matching cell input layer do not make a usable precision either.
    let dir = copy();
    edit_manifest(dir.path(), |v| {
        let kept: Vec<_> = v["cell_input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["precision"] != "int8")
            .cloned()
            .collect();
        v["cell_input"] = kept.into();
    });
    let pkg = ModelPackage::open(dir.path()).unwrap();
    assert_eq!(pkg.precisions(), vec![Precision::Fp32, Precision::Fp16]);
    assert!("fp64".parse::<Precision>().is_err());
}

#[test]
fn inconsistent_contents_are_refused() {
    // Gene list of the wrong length (checksums skipped to reach the content check).
    let dir = copy();
    let genes = dir.path().join("genes.txt");
    let text = std::fs::read_to_string(&genes).unwrap();
    std::fs::write(&genes, text.lines().skip(1).collect::<Vec<_>>().join("\n")).unwrap();
    let msg = package_problem(ModelPackage::open(dir.path()).unwrap().genes().unwrap_err());
    assert!(msg.contains("genes listed"), "{msg}");

    // An embedding file that is not a float32 matrix.
    let dir = copy();
    std::fs::write(
        dir.path().join("token_embeddings.npy"),
        b"\x93NUMPY garbage",
    )
    .unwrap();
    let msg = package_problem(
        ModelPackage::open(dir.path())
            .unwrap()
            .token_embeddings()
            .unwrap_err(),
    );
    assert!(msg.contains(".npy"), "{msg}");
}

#[test]
fn graphs_without_the_per_layer_cache_interface_are_refused() {
    // The manifest claims one more decoder layer than the graphs have: the per-layer cache
    // names no longer match, which must be refused at load time, not at the first step.
    let dir = copy();
    edit_manifest(dir.path(), |v| {
        let layers = v["model"]["num_decoder_layers"].as_u64().unwrap();
        v["model"]["num_decoder_layers"] = (layers + 1).into();
    });
    match Model::load(dir.path(), &ModelOptions::default()) {
        Err(Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
        }
        Err(err) => {
            let msg = package_problem(err);
            assert!(msg.contains("per-layer cache"), "{msg}");
        }
        Ok(_) => panic!("a package with mismatched cache tensors loaded"),
    }
}
