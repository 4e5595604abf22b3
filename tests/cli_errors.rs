//! Every bad input to the `instructcell` binary ends with its documented exit code, one
//! `error:` line naming the problem, and no output written; signals cancel cleanly.
#![cfg(feature = "cli")]

mod cli_support;
mod package_support;

use std::ffi::OsStr;
use std::path::Path;

use cli_support::*;
use instructcell::io::{AnnDataWriter, Column, DataFrame, WriteOptions};
use instructcell::CsrRows;
use package_support::copy_dir;

/// A small zarr store with `genes` and one row per entry of `rows` (dense values).
fn store(path: &Path, genes: &[&str], rows: &[Vec<f32>]) {
    let names: Vec<String> = genes.iter().map(|g| g.to_string()).collect();
    let mut w = AnnDataWriter::create(path, &names, &WriteOptions::default()).unwrap();
    let mut csr = CsrRows::new(genes.len());
    for r in rows {
        let idx: Vec<u32> = (0..r.len() as u32)
            .filter(|&j| r[j as usize] != 0.0)
            .collect();
        let val: Vec<f32> = idx.iter().map(|&j| r[j as usize]).collect();
        csr.push_row(&idx, &val).unwrap();
    }
    w.append(&csr).unwrap();
    let n = rows.len();
    w.finish(&DataFrame::new(
        (0..n).map(|i| format!("c{i}")).collect(),
        vec![("group".into(), Column::String(vec!["a".into(); n]))],
    ))
    .unwrap();
}

fn annotate_to(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut a: Vec<&OsStr> = vec![
        "annotate".as_ref(),
        "-i".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    run_os(&a)
}

#[test]
fn bad_inputs_give_documented_codes_and_write_nothing() {
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.zarr");
    let model_genes: Vec<String> =
        std::fs::read_to_string(root().join("onnx/models/pbmc-small/genes.txt"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let g: Vec<&str> = model_genes.iter().take(100).map(String::as_str).collect();
    let good_row: Vec<f32> = (0..100).map(|j| (j % 3) as f32).collect();

    // Input data: missing, not a store, no gene overlap, negative and NaN values.
    fails(
        &annotate_to(&d.join("nope.h5ad"), &out, &[]),
        3,
        "nope.h5ad",
    );
    std::fs::write(d.join("notes.txt"), "hello").unwrap();
    fails(
        &annotate_to(&d.join("notes.txt"), &out, &[]),
        3,
        "notes.txt",
    );
    let other = d.join("other.zarr");
    store(
        &other,
        &["GENE_A", "GENE_B", "GENE_C"],
        &[vec![1.0, 2.0, 3.0]],
    );
    fails(
        &annotate_to(&other, &out, &[]),
        3,
        "vocabulary genes were found",
    );
    let neg = d.join("neg.zarr");
    let mut bad = good_row.clone();
    bad[1] = -0.5;
    store(&neg, &g, &[good_row.clone(), bad]);
    fails(&annotate_to(&neg, &out, &[]), 3, "--layer");
    let nan = d.join("nan.zarr");
    let mut bad = good_row.clone();
    bad[2] = f32::NAN;
    store(&nan, &g, &[bad, good_row.clone()]);
    fails(&annotate_to(&nan, &out, &[]), 3, "X");
    let zero = d.join("zero.zarr");
    store(&zero, &g, &[good_row.clone(), vec![0.0; 100]]);
    fails(&annotate_to(&zero, &out, &[]), 3, "cell 1");
    assert!(!out.exists());

    // Usage: labels, templates, modes, shards, precision, metadata.
    let h = heldout();
    for (extra, needle) in [
        (vec!["--labels", " , ,"], "empty"),
        (
            vec!["--labels-from-obs", "no_such_column"],
            "no_such_column",
        ),
        (
            vec!["--template", "Which cell type? Choose one of {choices}."],
            "{input}",
        ),
        (vec!["--mode", "sideways"], "sideways"),
        (vec!["--precision", "int4"], "int4"),
        (vec!["--metadata", "species"], "KEY=VALUE"),
        (vec!["--metadata", "tissue=obs:nowhere"], "nowhere"),
        (vec!["--p-thres", "1.5"], "1.5"),
        (vec!["--threads", "0"], "--threads"),
        (
            vec!["--majority-voting", "--over-clustering", "nowhere"],
            "nowhere",
        ),
    ] {
        let o = annotate_to(&h, &out, &extra);
        if extra[0] == "--mode" {
            assert_eq!(o.status.code(), Some(2), "{extra:?}");
        } else {
            fails(&o, 2, needle);
        }
        assert!(!out.exists(), "{extra:?}");
    }

    // A GPU provider that cannot start: an error, or a reported fallback when allowed.
    if cfg!(feature = "cuda") {
        let o = annotate_to(&h, &out, &["--device", "cuda"]);
        if o.status.code() == Some(5) {
            assert!(!out.exists());
            let o = annotate_to(&h, &out, &["--device", "cuda", "--allow-fallback"]);
            ok(&o);
            assert!(stderr(&o).contains("could not start"), "{}", stderr(&o));
            std::fs::remove_dir_all(&out).unwrap();
        } else {
            ok(&o); // a machine with a GPU
            std::fs::remove_dir_all(&out).unwrap();
        }
    }

    // Model package: missing, tampered.
    fails(
        &annotate_to(&h, &out, &["--model", d.join("no-model").to_str().unwrap()]),
        4,
        "no-model",
    );
    let pkg = d.join("pkg");
    copy_dir(&root().join("onnx/models/pbmc-small"), &pkg);
    let graph = std::fs::read_dir(pkg.join("fp32"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension() == Some("onnx".as_ref()))
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&graph).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&graph, bytes).unwrap();
    fails(
        &annotate_to(&h, &out, &["--model", pkg.to_str().unwrap()]),
        4,
        "sha256",
    );
    assert!(!out.exists());

    // Output: exists, unwritable place; a 10x directory cannot take columns.
    std::fs::create_dir(&out).unwrap();
    fails(&annotate_to(&h, &out, &[]), 6, "already exists");
    std::fs::remove_dir(&out).unwrap();
    let deep = d.join("missing-dir").join("out.zarr");
    fails(&annotate_to(&h, &deep, &[]), 6, "missing-dir");
    let t = d.join("t.parquet");
    fails(
        &run_os(&[
            "annotate".as_ref(),
            "-i".as_ref(),
            h.as_os_str(),
            "--table".as_ref(),
            t.as_os_str(),
        ]),
        2,
        ".tsv",
    );
    assert_eq!(
        entries(d),
        [
            "nan.zarr",
            "neg.zarr",
            "notes.txt",
            "other.zarr",
            "pkg",
            "zero.zarr"
        ]
    );
}

/// The held-out cells repeated `times` times, as a zarr store at `path`.
fn repeated_heldout(path: &Path, times: usize) {
    use instructcell::RowSource;
    let store = instructcell::AnnDataStore::open(heldout()).unwrap();
    let mut m = store.matrix(&Default::default()).unwrap();
    let genes = m.gene_names().to_vec();
    let mut rows = CsrRows::new(genes.len());
    let n = m.n_rows();
    m.read_rows(0..n, &mut rows).unwrap();
    let mut w = AnnDataWriter::create(path, &genes, &WriteOptions::default()).unwrap();
    for _ in 0..times {
        w.append(&rows).unwrap();
    }
    let names = (0..n * times).map(|i| format!("c{i}")).collect();
    w.finish(&DataFrame::new(names, vec![])).unwrap();
}

#[cfg(unix)]
#[test]
fn signals_cancel_without_output() {
    if skip_without_ort() {
        return;
    }
    let big_dir = tempfile::tempdir().unwrap();
    let big = big_dir.path().join("big.zarr");
    repeated_heldout(&big, 40);
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.zarr");
        // 7,120 cells in batches of one: the run lasts far longer than it takes to interrupt.
        let mut child = cmd()
            .args(["annotate", "--batch-size", "1", "-i"])
            .arg(&big)
            .arg("-o")
            .arg(&out)
            .arg("--table")
            .arg(dir.path().join("t.tsv"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Signal once the model is loaded and cells are being answered.
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let n = std::io::BufRead::read_line(&mut err, &mut line).unwrap();
            seen.push_str(&line);
            if n == 0 || line.contains("label set") {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let killed = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        std::io::Read::read_to_string(&mut err, &mut seen).unwrap();
        assert_eq!(status.code(), Some(code), "{seen}");
        assert!(seen.contains("interrupted"), "{seen}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }
}
