//! The `instructcell` binary on MuData written by Python mudata and on scanpy's pre-0.7
//! `pbmc68k_reduced.h5ad`: `--modality` picks what is read and annotated, the answers equal those
//! on the same cells as plain AnnData, the results go into the modality with everything else
//! kept (checked by mudata), and stores that cannot take them fail before the run with the
//! documented exit code. Skipped without `INSTRUCTCELL_PYTHON`.
#![cfg(all(feature = "cli", feature = "h5ad"))]

mod cli_support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use cli_support::*;
use instructcell::io::{AnnDataStore, Column, StoreOptions};
use serde_json::{json, Value};

const MAKE: &str = include_str!("data/make_mudata.py");
const COMPARE: &str = include_str!("data/compare_stores.py");

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("INSTRUCTCELL_PYTHON").map(PathBuf::from);
    if p.is_none() {
        eprintln!("skipped: set INSTRUCTCELL_PYTHON to an interpreter with anndata and mudata");
    }
    p
}

/// Runs `script` (a file's text) with `args`; returns stdout, panics with the output on failure.
fn py(python: &Path, dir: &Path, script: &str, args: &[&OsStr]) -> String {
    let file = dir.join("script.py");
    std::fs::write(&file, script).unwrap();
    let o = Command::new(python).arg(&file).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "python failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn annotate(args: &[&OsStr]) -> std::process::Output {
    let mut all: Vec<&OsStr> = vec!["annotate".as_ref(), "--key-added".as_ref(), "ic".as_ref()];
    all.extend_from_slice(args);
    run_os(&all)
}

/// compare_stores.py's form of a column the crate reads back.
fn column_spec(col: &Column) -> Value {
    match col {
        Column::Categorical {
            codes, categories, ..
        } => json!({
            "kind": "categorical",
            "categories": categories,
            "values": codes.iter().map(|&c| (c >= 0).then(|| categories[c as usize].clone())).collect::<Vec<_>>(),
        }),
        Column::Float(v) => json!({
            "kind": "float",
            "values": v.iter().map(|x| (!x.is_nan()).then_some(*x)).collect::<Vec<_>>(),
        }),
        Column::String(v) => json!({"kind": "string", "values": v}),
        Column::Bool(v) => json!({"kind": "bool", "values": v}),
        other => panic!("unexpected column {other:?}"),
    }
}

/// Checks with mudata that `output` is `input` plus the `ic*` columns in modality `modality`,
/// with the values the crate reads back.
fn check_output(python: &Path, dir: &Path, input: &Path, output: &Path, modality: &str) {
    let store =
        AnnDataStore::open_with(output, &StoreOptions::default().with_modality(modality)).unwrap();
    let names = store.obs_column_names().unwrap();
    let new: serde_json::Map<String, Value> = names
        .iter()
        .filter(|n| *n == "ic" || n.starts_with("ic_"))
        .map(|n| (n.clone(), column_spec(&store.obs_column(n).unwrap())))
        .collect();
    assert!(
        new.contains_key("ic") && new.contains_key("ic_confidence"),
        "{names:?}"
    );
    let spec = dir.join("spec.json");
    let body = json!({"modality": modality, "new": new});
    std::fs::write(&spec, serde_json::to_vec(&body).unwrap()).unwrap();
    py(
        python,
        dir,
        COMPARE,
        &[input.as_os_str(), output.as_os_str(), spec.as_os_str()],
    );
}

fn bytes(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    if path.is_dir() {
        tree(path)
    } else {
        vec![(PathBuf::new(), std::fs::read(path).unwrap())]
    }
}

#[test]
fn mudata_modalities_are_annotated_in_new_stores_and_in_place() {
    let Some(python) = python() else { return };
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    py(&python, d, MAKE, &[heldout().as_os_str(), d.as_os_str()]);
    let (h5mu, zarr, two) = (
        d.join("multi.h5mu"),
        d.join("multi.zarr"),
        d.join("two.h5mu"),
    );
    let base = d.join("base.tsv");
    ok(&annotate(&[
        "-q".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--table".as_ref(),
        base.as_os_str(),
    ]));
    let base = std::fs::read_to_string(&base).unwrap();

    // A new .h5mu: the rna modality (the default) gets the columns; the answers are those of
    // the same cells read as AnnData.
    for input in [&h5mu, &zarr] {
        let ext = input.extension().unwrap().to_str().unwrap();
        let (out, table) = (d.join(format!("out.{ext}")), d.join(format!("t_{ext}.tsv")));
        let before = bytes(input);
        let o = annotate(&[
            "-i".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--table".as_ref(),
            table.as_os_str(),
        ]);
        ok(&o);
        assert!(
            stderr(&o).contains("MuData modality 'rna'"),
            "{}",
            stderr(&o)
        );
        assert_eq!(bytes(input), before, "the input changed");
        assert_eq!(std::fs::read_to_string(&table).unwrap(), base);
        check_output(&python, d, input, &out, "rna");
    }

    // In place, naming the modality, on a copy of the zarr store.
    let edited = d.join("edited.zarr");
    cli_copy(&zarr, &edited);
    ok(&annotate(&[
        "-q".as_ref(),
        "-i".as_ref(),
        edited.as_os_str(),
        "--modality".as_ref(),
        "rna".as_ref(),
        "--in-place".as_ref(),
    ]));
    check_output(&python, d, &zarr, &edited, "rna");

    // Two modalities, none called rna: the choice is asked for, before any work.
    let before = entries(d);
    let o = annotate(&[
        "-i".as_ref(),
        two.as_os_str(),
        "-o".as_ref(),
        d.join("x.h5mu").as_os_str(),
    ]);
    fails(&o, 3, "--modality NAME");
    assert!(stderr(&o).contains("gex, adt"), "{}", stderr(&o));
    fails(
        &annotate(&[
            "-i".as_ref(),
            h5mu.as_os_str(),
            "--modality".as_ref(),
            "atac".as_ref(),
        ]),
        3,
        "no modality 'atac'",
    );
    fails(
        &annotate(&[
            "-i".as_ref(),
            heldout().as_os_str(),
            "--modality".as_ref(),
            "rna".as_ref(),
        ]),
        2,
        "not MuData",
    );
    assert_eq!(entries(d), before, "a failed run left files");
    let t = d.join("gex.tsv");
    ok(&annotate(&[
        "-q".as_ref(),
        "-i".as_ref(),
        two.as_os_str(),
        "--modality".as_ref(),
        "gex".as_ref(),
        "--table".as_ref(),
        t.as_os_str(),
    ]));
    assert_eq!(std::fs::read_to_string(&t).unwrap(), base);

    // info names the modality.
    let o = run_os(&[
        "info".as_ref(),
        "--json".as_ref(),
        "-i".as_ref(),
        two.as_os_str(),
        "--modality".as_ref(),
        "adt".as_ref(),
    ]);
    ok(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["input"]["modality"], "adt");
    assert_eq!(v["input"]["genes"], 6);
    assert_eq!(v["input"]["obs_writable"], true);
}

#[test]
fn pre_07_anndata_is_annotated_to_a_table_and_refused_as_an_output() {
    let Some(python) = python() else { return };
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let legacy = PathBuf::from(
        py(
            &python,
            d,
            "import os, scanpy; print(os.path.join(os.path.dirname(scanpy.__file__), \
             'datasets', '10x_pbmc68k_reduced.h5ad'))",
            &[],
        )
        .trim(),
    );
    let before = std::fs::read(&legacy).unwrap();
    let table = d.join("t.tsv");
    let o = annotate(&[
        "-i".as_ref(),
        legacy.as_os_str(),
        "--table".as_ref(),
        table.as_os_str(),
    ]);
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("pre-0.7") && err.contains("raw/X") && err.contains("expm1"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&table).unwrap().lines().count(),
        701
    );
    // Its obs is a record array: no new members. Refused before the run, nothing written.
    let (out, t2) = (d.join("out.h5ad"), d.join("t2.tsv"));
    let o = annotate(&[
        "-i".as_ref(),
        legacy.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--table".as_ref(),
        t2.as_os_str(),
    ]);
    fails(&o, 6, "record array");
    assert!(
        !stderr(&o).contains("cells/s"),
        "the run started: {}",
        stderr(&o)
    );
    assert!(!out.exists() && !t2.exists());
    assert_eq!(std::fs::read(&legacy).unwrap(), before);
    let o = run_os(&[
        "info".as_ref(),
        "--json".as_ref(),
        "-i".as_ref(),
        legacy.as_os_str(),
    ]);
    ok(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["input"]["layout"], "pre-0.7 anndata");
    assert!(v["input"]["obs_writable"]
        .as_str()
        .unwrap()
        .contains("record array"));
    assert_eq!(v["input"]["chosen"], "raw/X");
}

/// Copies the zarr directory `from` to `to`.
fn cli_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            cli_copy(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
