//! The `instructcell` binary on the bundled model and held-out store: every subcommand, table
//! format and flag family, run as a real process.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::*;
use instructcell::AnnDataStore;

fn read_col(store: &std::path::Path, name: &str) -> Vec<Option<String>> {
    AnnDataStore::open(store)
        .unwrap()
        .obs_column(name)
        .unwrap()
        .to_strings()
}

#[test]
fn annotate_writes_a_store_and_tables_in_every_format() {
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zarr");
    let tsv = dir.path().join("t.tsv");
    let o = run_os(&[
        "annotate".as_ref(),
        "--input".as_ref(),
        heldout().as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
        "--table".as_ref(),
        tsv.as_os_str(),
        "--mode".as_ref(),
        "scored".as_ref(),
        "--key-added".as_ref(),
        "ic".as_ref(),
    ]);
    ok(&o);
    // Input untouched, output = input + 4 columns.
    let store = AnnDataStore::open(&out).unwrap();
    let names = store.obs_column_names().unwrap();
    for c in [
        "bulk_labels",
        "ic",
        "ic_confidence",
        "ic_text",
        "ic_precision",
    ] {
        assert!(names.iter().any(|n| n == c), "{c} missing from {names:?}");
    }
    assert!(!AnnDataStore::open(heldout())
        .unwrap()
        .obs_column_names()
        .unwrap()
        .iter()
        .any(|n| n == "ic"));
    let labels = read_col(&out, "ic");
    let truth = read_col(&out, "bulk_labels");
    let correct = labels.iter().zip(&truth).filter(|(a, b)| a == b).count();
    assert!(correct as f64 / 178.0 > 0.7, "{correct}/178 correct");
    // The table: a header, 178 rows, one probability column per label summing to 1.
    let text = std::fs::read_to_string(&tsv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        &header[..6],
        ["cell", "row", "label", "confidence", "text", "precision"]
    );
    assert_eq!(header.iter().filter(|h| h.starts_with("p_")).count(), 10);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 178);
    let first: Vec<&str> = rows[0].split('\t').collect();
    let total: f32 = first[6..].iter().map(|v| v.parse::<f32>().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    assert_eq!(Some(first[2].to_string()), labels[0]);
    // Same answers as CSV and JSON lines (read back through the library).
    for ext in ["csv", "jsonl"] {
        let t = dir.path().join(format!("t.{ext}"));
        ok(&run_os(&[
            "-q".as_ref(),
            "annotate".as_ref(),
            "-i".as_ref(),
            heldout().as_os_str(),
            "--table".as_ref(),
            t.as_os_str(),
            "--mode".as_ref(),
            "scored".as_ref(),
        ]));
        let a = instructcell::pipeline::read_table(&tsv).unwrap();
        let b = instructcell::pipeline::read_table(&t).unwrap();
        assert_eq!(a.predictions, b.predictions, "{ext}");
        assert_eq!(a.cell_names, b.cell_names);
    }
    // Output exists now: refused without --overwrite, input and output unchanged.
    let before = tree(&out);
    let o = run_os(&[
        "annotate".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    fails(&o, 6, "--overwrite");
    assert_eq!(tree(&out), before);
}

#[test]
fn post_processing_metadata_and_label_sources() {
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.tsv");
    let o = run_os(&[
        "-q".as_ref(),
        "annotate".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--table".as_ref(),
        t.as_os_str(),
        "--mode".as_ref(),
        "scored".as_ref(),
        "--p-thres".as_ref(),
        "0.999".as_ref(),
        "--majority-voting".as_ref(),
        "--over-clustering".as_ref(),
        "louvain".as_ref(),
        "--metadata".as_ref(),
        "species=human".as_ref(),
        "--metadata".as_ref(),
        "tissue=obs:tissue".as_ref(),
        "--labels-from-obs".as_ref(),
        "bulk_labels".as_ref(),
    ]);
    ok(&o);
    let text = std::fs::read_to_string(&t).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (c_conf, c_assigned, c_major) =
        (col("confidence"), col("assigned"), col("majority_voting"));
    let mut unassigned = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let conf: f32 = f[c_conf].parse().unwrap();
        if conf < 0.999 {
            assert_eq!(f[c_assigned], "Unassigned");
            unassigned += 1;
        } else {
            assert_eq!(f[c_assigned], f[col("label")]);
        }
        assert!(!f[c_major].is_empty());
    }
    assert!(
        unassigned > 0,
        "a threshold of 0.999 leaves some cells unassigned"
    );
    // A label list, a label file, and free answers without a label set.
    let labels = dir.path().join("labels.txt");
    std::fs::write(&labels, "CD19+ B\nCD56+ NK\n\nCD14+ Monocyte\n").unwrap();
    for l in [
        labels.as_os_str(),
        "CD19+ B,CD56+ NK,CD14+ Monocyte".as_ref(),
    ] {
        let o = run_os(&[
            "annotate".as_ref(),
            "-i".as_ref(),
            heldout().as_os_str(),
            "--labels".as_ref(),
            l,
        ]);
        ok(&o);
        let out = stdout(&o);
        assert!(
            out.lines().skip(1).all(|x| x.starts_with("CD19+ B")
                || x.starts_with("CD56+ NK")
                || x.starts_with("CD14+ Monocyte")),
            "{out}"
        );
    }
    ok(&run_os(&[
        "annotate".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--mode".as_ref(),
        "free".as_ref(),
        "--template".as_ref(),
        "Which cell type is this cell? {input}".as_ref(),
    ]));
}

#[test]
fn drug_response_generate_instruct_info_versions() {
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("drug.jsonl");
    ok(&run_os(&[
        "-q".as_ref(),
        "drug-response".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--drug".as_ref(),
        "cisplatin".as_ref(),
        "--mode".as_ref(),
        "scored".as_ref(),
        "--table".as_ref(),
        t.as_os_str(),
    ]));
    let rows = instructcell::pipeline::read_table(&t).unwrap();
    assert_eq!(rows.predictions.len(), 178);
    assert_eq!(rows.labels, ["sensitive", "resistant"]);
    // Generation: inline and file conditions, zarr and h5ad.
    let cond = dir.path().join("conditions.tsv");
    std::fs::write(&cond, "cell_type\tn\nCD14+ Monocyte\t3\nCD19+ B\t2\n").unwrap();
    for (spec, name, n) in [
        (cond.to_str().unwrap().to_string(), "gen.zarr", 5),
        ("cell_type=CD56+ NK".to_string(), "gen.h5ad", 4),
    ] {
        let out = dir.path().join(name);
        let o = run_os(&[
            "generate".as_ref(),
            "--conditions".as_ref(),
            spec.as_ref(),
            "--n-per-condition".as_ref(),
            "4".as_ref(),
            "--output".as_ref(),
            out.as_os_str(),
            "--seed".as_ref(),
            "7".as_ref(),
        ]);
        ok(&o);
        let s = AnnDataStore::open(&out).unwrap();
        assert_eq!(s.n_obs().unwrap(), n, "{name}");
        assert_eq!(s.n_vars().unwrap(), 765);
    }
    // Instructions: once, and per cell.
    let o = run(&["instruct", "--template", "Generate one CD19+ B."]);
    ok(&o);
    assert!(!stdout(&o).trim().is_empty());
    let t = dir.path().join("answers.csv");
    ok(&run_os(&[
        "-q".as_ref(),
        "instruct".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--template".as_ref(),
        "What cell type is this? {input}".as_ref(),
        "--table".as_ref(),
        t.as_os_str(),
    ]));
    assert_eq!(std::fs::read_to_string(&t).unwrap().lines().count(), 179);
    // info (text and JSON) and versions.
    let o = run_os(&[
        "info".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--json".as_ref(),
    ]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["input"]["cells"], 178);
    assert_eq!(v["input"]["chosen"], "X");
    assert_eq!(v["input"]["matrices"][0]["holds"], "counts");
    assert_eq!(v["input"]["gene_overlap"]["matched"], 765);
    assert_eq!(
        v["model"]["label_sets"]["cell_type"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let o = run(&["info"]);
    ok(&o);
    assert!(stdout(&o).contains("precisions: fp32, int8"));
    let o = run(&["versions", "--process", "NFCORE_ANNOTATE"]);
    ok(&o);
    let y = stdout(&o);
    for k in [
        "\"NFCORE_ANNOTATE\":",
        "  instructcell: \"",
        "  onnxruntime: \"1.",
        "  model: \"pbmc-small\"",
        "  model_manifest_sha256: \"",
    ] {
        assert!(y.contains(k), "{k} not in {y}");
    }
    let o = run(&["--version"]);
    ok(&o);
    assert!(stdout(&o).starts_with("instructcell "));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in [
        "annotate",
        "drug-response",
        "generate",
        "instruct",
        "merge",
        "info",
    ] {
        let o = run(&[sub, "--help"]);
        ok(&o);
        let h = stdout(&o);
        assert!(h.contains("Example"), "{sub}: {h}");
        assert!(h.contains("--model") || sub == "merge", "{sub}");
    }
    let o = run(&["--help"]);
    assert!(stdout(&o).contains("Exit codes"));
}
