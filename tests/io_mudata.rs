//! MuData stores (`.h5mu` with its 512-byte user block, MuData zarr) written by Python mudata:
//! a modality reads as the AnnData mudata gives, in blocks of any size; obs columns go into
//! that modality, in a new store or in place, with every other element of every modality and
//! the global obs, obsm and uns as they were; bad modality choices are typed errors that
//! change nothing. Skipped without `INSTRUCTCELL_PYTHON`.
#![cfg(feature = "h5ad")]

mod io_support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use instructcell::io::{
    add_obs_columns, check_obs_writable, write_store_with_obs_columns, AddColumnsOptions,
    AnnDataStore, Column, CopyOptions, MatrixSelection, ReadOptions, StoreOptions, StoreProblem,
};
use instructcell::Error;
use io_support::python::{assert_store_matches, dump, python, run};
use io_support::{copy_tree, densify, snapshot};
use serde_json::{json, Value};

const MAKE: &str = include_str!("data/make_mudata.py");
const COMPARE: &str = include_str!("data/compare_stores.py");

/// HDF5 descriptors are inherited by Python children (see io_writeback.rs): writes and Python
/// runs take turns.
static TURNS: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURNS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The MuData fixtures written into a fresh directory, or `None` without Python.
fn fixtures() -> Option<(PathBuf, tempfile::TempDir)> {
    let py = python()?;
    let dir = tempfile::tempdir().unwrap();
    let heldout = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/pbmc68k_heldout.zarr");
    let _t = turn();
    run(
        &py,
        MAKE,
        &[heldout.to_str().unwrap(), dir.path().to_str().unwrap()],
    );
    Some((py, dir))
}

fn open(path: &Path, modality: Option<&str>) -> instructcell::Result<AnnDataStore> {
    let mut opts = StoreOptions::default();
    if let Some(m) = modality {
        opts = opts.with_modality(m);
    }
    AnnDataStore::open_with(path, &opts)
}

/// A categorical with a missing value, a float with NaN, a string and a bool column.
fn new_columns(n: usize) -> Vec<(String, Column)> {
    vec![
        (
            "ic".into(),
            Column::Categorical {
                codes: (0..n)
                    .map(|i| if i % 9 == 4 { -1 } else { (i % 2) as i32 })
                    .collect(),
                categories: vec!["B".into(), "T".into()],
                ordered: false,
            },
        ),
        (
            "ic_confidence".into(),
            Column::Float(
                (0..n)
                    .map(|i| {
                        if i % 5 == 1 {
                            f64::NAN
                        } else {
                            i as f64 / n as f64
                        }
                    })
                    .collect(),
            ),
        ),
        (
            "ic_text".into(),
            Column::String((0..n).map(|i| format!("cell {i} → B")).collect()),
        ),
        (
            "ic_kept".into(),
            Column::Bool((0..n).map(|i| i % 3 == 0).collect()),
        ),
    ]
}

/// compare_stores.py's spec for [`new_columns`] in modality `modality`.
fn spec(n: usize, modality: &str) -> Value {
    let labels: Vec<Option<&str>> = (0..n)
        .map(|i| (i % 9 != 4).then_some(["B", "T"][i % 2]))
        .collect();
    let conf: Vec<Option<f64>> = (0..n)
        .map(|i| (i % 5 != 1).then_some(i as f64 / n as f64))
        .collect();
    json!({
        "modality": modality,
        "new": {
            "ic": {"kind": "categorical", "values": labels, "categories": ["B", "T"]},
            "ic_confidence": {"kind": "float", "values": conf},
            "ic_text": {"kind": "string", "values": (0..n).map(|i| format!("cell {i} → B")).collect::<Vec<_>>()},
            "ic_kept": {"kind": "bool", "values": (0..n).map(|i| i % 3 == 0).collect::<Vec<_>>()},
        }
    })
}

fn compare(py: &Path, dir: &Path, input: &Path, output: &Path, spec: &Value) {
    let script = dir.join("compare.py");
    std::fs::write(&script, COMPARE).unwrap();
    let spec_file = dir.join("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec(spec).unwrap()).unwrap();
    let _t = turn();
    let out = std::process::Command::new(py)
        .arg(&script)
        .arg(input)
        .arg(output)
        .arg(&spec_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "compare {} {}:\n{}{}",
        input.display(),
        output.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_no_such_modality(e: &Error) -> bool {
    matches!(
        e,
        Error::Store {
            problem: StoreProblem::NoSuchModality { .. },
            ..
        }
    )
}

#[test]
fn modalities_read_as_mudata_reads_them() {
    let Some((py, dir)) = fixtures() else { return };
    for name in ["multi.h5mu", "multi.zarr"] {
        let path = dir.path().join(name);
        // No modality named: rna.
        let rna = open(&path, None).unwrap();
        assert_eq!(rna.modality(), Some("rna"));
        let want = dump(&py, &path, Some("rna"));
        assert_store_matches(&rna, &want);
        let prot = open(&path, Some("prot")).unwrap();
        assert_eq!(prot.modality(), Some("prot"));
        assert_store_matches(&prot, &dump(&py, &path, Some("prot")));
        // Block reads of every size give the same matrix (bounded memory: one block at a time).
        let opts = ReadOptions::default()
            .with_matrix(MatrixSelection::X)
            .with_check_values(false);
        let whole = densify(&mut rna.matrix(&opts).unwrap(), 1000);
        for block in [1, 7, 64, 177] {
            let got = densify(&mut rna.matrix(&opts).unwrap(), block);
            assert_eq!(got, whole, "{name}: block {block}");
        }
        let layer = ReadOptions::default()
            .with_matrix(MatrixSelection::Layer("counts_copy".into()))
            .with_check_values(false);
        assert_eq!(densify(&mut rna.matrix(&layer).unwrap(), 13), whole);
    }
}

#[test]
fn new_store_gets_the_columns_in_the_modality_and_keeps_everything_else() {
    let Some((py, dir)) = fixtures() else { return };
    for name in ["multi.h5mu", "multi.zarr"] {
        let input = dir.path().join(name);
        let n = open(&input, None).unwrap().n_obs().unwrap();
        for modality in ["rna", "prot"] {
            let before = snapshot(&input);
            let output = dir.path().join(format!("out_{modality}_{name}"));
            let named = (modality != "rna").then(|| modality.to_string());
            {
                let _t = turn();
                write_store_with_obs_columns(
                    &input,
                    &output,
                    &new_columns(n),
                    &CopyOptions::default().with_modality(named),
                )
                .unwrap();
            }
            assert_eq!(snapshot(&input), before, "{name}: the input changed");
            compare(&py, dir.path(), &input, &output, &spec(n, modality));
            let after = snapshot(&output);
            if name.ends_with(".h5mu") {
                // The user block mudata wrote stays as it was.
                assert_eq!(after[Path::new("")][..512], before[Path::new("")][..512]);
            } else {
                // Every file outside the modality's obs is byte for byte the input's.
                let obs = Path::new("mod").join(modality).join("obs");
                for (rel, bytes) in &before {
                    if !rel.starts_with(&obs) && !rel.ends_with(".zmetadata") {
                        assert_eq!(
                            after.get(rel),
                            Some(bytes),
                            "{name}: {} changed",
                            rel.display()
                        );
                    }
                }
            }
            let back = open(&output, Some(modality)).unwrap();
            for (col, want) in new_columns(n) {
                let got = back.obs_column(&col).unwrap();
                match (&got, &want) {
                    (Column::Float(a), Column::Float(b)) => assert!(a
                        .iter()
                        .zip(b)
                        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))),
                    _ => assert_eq!(got, want, "{col}"),
                }
            }
        }
    }
}

#[test]
fn in_place_write_into_a_modality() {
    let Some((py, dir)) = fixtures() else { return };
    for name in ["multi.h5mu", "multi.zarr"] {
        let original = dir.path().join(name);
        let edited = dir.path().join(format!("edited_{name}"));
        if original.is_dir() {
            copy_tree(&original, &edited);
        } else {
            std::fs::copy(&original, &edited).unwrap();
        }
        // The read takes its turn too: a Python child started meanwhile by another test would
        // inherit the HDF5 descriptor, and with it the file's lock.
        let n = {
            let _t = turn();
            open(&edited, None).unwrap().n_obs().unwrap()
        };
        {
            let _t = turn();
            add_obs_columns(
                &edited,
                &new_columns(n),
                &AddColumnsOptions::default().with_modality(Some("rna".into())),
            )
            .unwrap();
            // Again without overwrite: refused, nothing changes.
            let snap = snapshot(&edited);
            let e = add_obs_columns(&edited, &new_columns(n), &AddColumnsOptions::default())
                .unwrap_err();
            assert!(
                matches!(
                    &e,
                    Error::Store {
                        problem: StoreProblem::AlreadyExists,
                        ..
                    }
                ),
                "{e}"
            );
            assert_eq!(snapshot(&edited), snap);
            add_obs_columns(
                &edited,
                &new_columns(n),
                &AddColumnsOptions::default().with_overwrite(true),
            )
            .unwrap();
        }
        compare(&py, dir.path(), &original, &edited, &spec(n, "rna"));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.contains(".tmp") || n.starts_with('.')),
            "temporaries left: {names:?}"
        );
    }
}

#[test]
fn modality_errors_are_typed_and_change_nothing() {
    let Some((_py, dir)) = fixtures() else { return };
    let two = dir.path().join("two.h5mu");
    let multi = dir.path().join("multi.h5mu");
    let before = (snapshot(&two), snapshot(&multi));
    // Two modalities, none named rna: the choice must be made, and the message lists them.
    let e = open(&two, None).unwrap_err();
    assert!(is_no_such_modality(&e), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("gex") && msg.contains("adt") && msg.contains("--modality"),
        "{msg}"
    );
    assert_eq!(open(&two, Some("adt")).unwrap().n_vars().unwrap(), 6);
    let e = open(&multi, Some("atac")).unwrap_err();
    assert!(
        is_no_such_modality(&e) && e.to_string().contains("rna, prot"),
        "{e}"
    );
    // The same on the write side, before anything is written.
    let n = open(&multi, None).unwrap().n_obs().unwrap();
    let out = dir.path().join("never.h5mu");
    let e = {
        let _t = turn();
        write_store_with_obs_columns(
            &multi,
            &out,
            &new_columns(n),
            &CopyOptions::default().with_modality(Some("atac".into())),
        )
        .unwrap_err()
    };
    assert!(is_no_such_modality(&e), "{e}");
    assert!(!out.exists());
    let e = {
        let _t = turn();
        add_obs_columns(&two, &new_columns(n), &AddColumnsOptions::default()).unwrap_err()
    };
    assert!(is_no_such_modality(&e), "{e}");
    assert!(is_no_such_modality(
        &check_obs_writable(&two, None).unwrap_err()
    ));
    check_obs_writable(&two, Some("gex")).unwrap();
    // A modality named for a plain AnnData store is a usage error.
    let heldout = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/pbmc68k_heldout.zarr");
    let e = open(&heldout, Some("rna")).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(matches!(
        check_obs_writable(&heldout, Some("rna")).unwrap_err(),
        Error::InvalidArgument(_)
    ));
    // An HDF5 MuData cannot become a zarr store by its name.
    let e = {
        let _t = turn();
        write_store_with_obs_columns(
            &multi,
            dir.path().join("wrong.zarr"),
            &new_columns(n),
            &CopyOptions::default(),
        )
        .unwrap_err()
    };
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert_eq!((snapshot(&two), snapshot(&multi)), before);
}
