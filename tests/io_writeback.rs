//! Write-back that keeps everything: [`write_store_with_obs_columns`] copies a store with new obs
//! columns, every other element byte for byte, and [`add_obs_columns`] edits `.h5ad` files in
//! place through a copy. Python anndata writes rich inputs (zarr v2, v3, sharded v3, `.h5ad`)
//! and checks every element of the outputs when INSTRUCTCELL_PYTHON is set; the committed
//! fixtures cover the same paths without Python.

mod io_support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use instructcell::io::{
    add_obs_columns, write_store_with_obs_columns, AddColumnsOptions, AnnDataStore, Column,
    CopyOptions, ReadOptions, StoreProblem,
};
use instructcell::Error;
use io_support::{copy_tree, densify, expected, fixture, python_check, snapshot};
use serde_json::{json, Value};

/// Writes the rich AnnData inputs (see its docstring).
const MAKE_PY: &str = r##"
"""Writes a rich AnnData into OUT_DIR as rich.h5ad, rich_v2.zarr, rich_v3.zarr and
rich_v3_sharded.zarr (the zarr v3 ones when anndata can write v3), and empty_obs.h5ad (an obs
without columns, whose column-order h5py stores as an empty float array)."""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

out = sys.argv[1]
rng = np.random.default_rng(0)
n, m = 40, 12
obs = pd.DataFrame(
    {
        "cell_type": pd.Categorical(rng.choice(["T", "B", "NK"], n)),
        "score": rng.normal(size=n),
        "label": [f"cell label {i}" for i in range(n)],
        "kept": rng.random(n) > 0.5,
        "n_genes": rng.integers(0, 1000, n),
        "batch": pd.array([i if i % 5 else None for i in range(n)], dtype="Int64"),
        "doublet": pd.array([bool(i % 2) if i % 7 else None for i in range(n)], dtype="boolean"),
    },
    index=[f"cell{i}" for i in range(n)],
)
var = pd.DataFrame(
    {
        "gene_ids": [f"ENSG{i:05d}" for i in range(m)],
        "highly_variable": rng.random(m) > 0.5,
        "means": rng.random(m),
        "chrom": pd.Categorical(rng.choice(["1", "2", "X"], m)),
    },
    index=[f"G{i}" for i in range(m)],
)
X = sp.random(n, m, density=0.3, format="csr", random_state=0, dtype=np.float32)
a = ad.AnnData(X=X, obs=obs, var=var)
a.layers["dense"] = rng.random((n, m))
a.layers["counts"] = sp.random(n, m, density=0.2, format="csr", random_state=1, dtype=np.float32)
a.layers["spliced_csc"] = sp.random(n, m, density=0.2, format="csc", random_state=4)
a.obsm["X_umap"] = rng.normal(size=(n, 2))
a.obsm["X_pca"] = rng.normal(size=(n, 5)).astype(np.float32)
a.obsp["connectivities"] = sp.random(n, n, density=0.1, format="csr", random_state=2)
a.obsp["distances"] = sp.random(n, n, density=0.1, format="csr", random_state=5)
a.varm["PCs"] = rng.normal(size=(m, 5))
a.uns["title"] = "rich test store"
a.uns["numbers"] = np.arange(5)
a.uns["cell_type_colors"] = np.array(["#ff0000", "#00ff00", "#0000ff"], dtype=object)
a.uns["nested"] = {
    "params": {"n_neighbors": 15, "method": "umap", "weights": np.array([1.5, 2.5, 3.5])},
    "names": np.array(["x", "y"], dtype=object),
    "flag": True,
}
raw = ad.AnnData(
    X=sp.random(n, m + 3, density=0.3, format="csr", random_state=3, dtype=np.float32),
    obs=pd.DataFrame(index=a.obs_names),
    var=pd.DataFrame(
        {"raw_ids": [f"R{i}" for i in range(m + 3)]}, index=[f"RAW{i}" for i in range(m + 3)]
    ),
)
a.raw = raw

a.write_h5ad(os.path.join(out, "rich.h5ad"))
ad.AnnData(X=np.ones((3, 2), dtype=np.float32)).write_h5ad(os.path.join(out, "empty_obs.h5ad"))
if hasattr(ad.settings, "zarr_write_format"):
    ad.settings.zarr_write_format = 2
a.write_zarr(os.path.join(out, "rich_v2.zarr"))
if hasattr(ad.settings, "zarr_write_format"):
    ad.settings.zarr_write_format = 3
    a.write_zarr(os.path.join(out, "rich_v3.zarr"))
    if hasattr(ad.settings, "auto_shard_zarr_v3"):
        ad.settings.auto_shard_zarr_v3 = True
        a.write_zarr(os.path.join(out, "rich_v3_sharded.zarr"))
print("ok")
"##;

/// Compares an output with its input element by element (see its docstring).
const COMPARE_PY: &str = include_str!("data/compare_stores.py");

/// HDF5 opens files without close-on-exec: a Python child started while another test thread
/// holds an `.h5ad` open read-write inherits that descriptor and its exclusive lock, and the
/// file stays locked until the child exits. Column writes and Python runs take turns.
static TURNS: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    TURNS.lock().unwrap_or_else(|e| e.into_inner())
}

fn add_cols(
    path: impl AsRef<Path>,
    columns: &[(String, Column)],
    opts: &AddColumnsOptions,
) -> instructcell::Result<()> {
    let _turn = turn();
    add_obs_columns(path, columns, opts)
}

fn write_copy(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    columns: &[(String, Column)],
    opts: &CopyOptions,
) -> instructcell::Result<()> {
    let _turn = turn();
    write_store_with_obs_columns(input, output, columns, opts)
}

fn python_check_turn(store: &Path, spec: &Value) {
    let _turn = turn();
    python_check(store, spec)
}

const N_FIXTURE: usize = 20;
const N_RICH: usize = 40;
const CATEGORIES: [&str; 3] = ["alpha", "beta", "gamma"];

fn python() -> Option<OsString> {
    std::env::var_os("INSTRUCTCELL_PYTHON")
}

fn skip_notice(what: &str) {
    eprintln!(
        "SKIPPED: {what} (set INSTRUCTCELL_PYTHON to an interpreter with anndata, see \
         tests/data/requirements.txt)"
    );
}

/// Runs `script` (written to `dir`) with `args`, failing the test with its output on error.
fn run_python(python: &OsString, dir: &Path, name: &str, script: &str, args: &[&Path]) {
    let file = dir.join(name);
    std::fs::write(&file, script).unwrap();
    let _turn = turn();
    let out = std::process::Command::new(python)
        .arg(&file)
        .args(args)
        .output()
        .expect("INSTRUCTCELL_PYTHON could not be started");
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The names in `dir`, sorted (temporaries included: nothing may be left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The metadata documents a column addition rewrites; every other input file must survive.
fn rewritten(rel: &Path) -> bool {
    [".zmetadata", "zarr.json", "obs/.zattrs", "obs/zarr.json"]
        .iter()
        .any(|m| rel == Path::new(m))
}

/// Checks a zarr output against its input's snapshot: every input file but the rewritten
/// metadata is there with the same bytes, and the only new files are the new columns.
fn zarr_bytes_kept(input: &BTreeMap<PathBuf, Vec<u8>>, output: &Path, new: &[(String, Column)]) {
    let out = snapshot(output);
    for (rel, bytes) in input {
        if !rewritten(rel) {
            assert!(
                out.get(rel) == Some(bytes),
                "{} differs in {}",
                rel.display(),
                output.display()
            );
        }
    }
    for rel in out.keys().filter(|r| !input.contains_key(*r)) {
        assert!(
            new.iter()
                .any(|(n, _)| rel.starts_with(Path::new("obs").join(n))),
            "unexpected new file {} in {}",
            rel.display(),
            output.display()
        );
    }
}

/// A categorical (with a missing value), a float (with NaN), a string and a bool column.
fn new_columns(n: usize) -> Vec<(String, Column)> {
    vec![
        (
            "predicted".into(),
            Column::Categorical {
                codes: (0..n)
                    .map(|i| if i % 7 == 3 { -1 } else { (i % 3) as i32 })
                    .collect(),
                categories: CATEGORIES.iter().map(|c| c.to_string()).collect(),
                ordered: false,
            },
        ),
        (
            "confidence".into(),
            Column::Float(
                (0..n)
                    .map(|i| {
                        if i % 5 == 2 {
                            f64::NAN
                        } else {
                            i as f64 / n as f64
                        }
                    })
                    .collect(),
            ),
        ),
        (
            "response".into(),
            Column::String((0..n).map(|i| format!("answer {i}: é")).collect()),
        ),
        (
            "passed_qc".into(),
            Column::Bool((0..n).map(|i| i % 2 == 0).collect()),
        ),
    ]
}

/// What Python must read for [`new_columns`], in compare.py's form.
fn new_spec(n: usize) -> Value {
    let labels: Vec<Option<&str>> = (0..n)
        .map(|i| (i % 7 != 3).then_some(CATEGORIES[i % 3]))
        .collect();
    let conf: Vec<Option<f64>> = (0..n)
        .map(|i| (i % 5 != 2).then_some(i as f64 / n as f64))
        .collect();
    json!({
        "predicted": {"kind": "categorical", "values": labels, "categories": CATEGORIES},
        "confidence": {"kind": "float", "values": conf},
        "response": {"kind": "string", "values": (0..n).map(|i| format!("answer {i}: é")).collect::<Vec<_>>()},
        "passed_qc": {"kind": "bool", "values": (0..n).map(|i| i % 2 == 0).collect::<Vec<_>>()},
    })
}

/// Column equality that counts NaN equal to NaN.
fn same_column(a: &Column, b: &Column) -> bool {
    match (a, b) {
        (Column::Float(x), Column::Float(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()))
        }
        _ => a == b,
    }
}

/// The Rust reader sees the input's obs columns first, unchanged, then the new ones.
fn rust_reads_back(input: &Path, output: &Path, new: &[(String, Column)]) {
    let before = AnnDataStore::open(input).unwrap().obs().unwrap();
    let store = AnnDataStore::open(output).unwrap();
    assert_eq!(store.format(), AnnDataStore::open(input).unwrap().format());
    let after = store.obs().unwrap();
    assert_eq!(after.index, before.index);
    let names: Vec<&str> = after.columns.iter().map(|(n, _)| n.as_str()).collect();
    let mut want: Vec<&str> = before.columns.iter().map(|(n, _)| n.as_str()).collect();
    for (name, _) in new {
        if !want.contains(&name.as_str()) {
            want.push(name);
        }
    }
    assert_eq!(names, want, "{}", output.display());
    for (name, col) in &before.columns {
        if !new.iter().any(|(n, _)| n == name) {
            assert_eq!(&store.obs_column(name).unwrap(), col, "{name}");
        }
    }
    for (name, col) in new {
        let got = store.obs_column(name).unwrap();
        assert!(same_column(&got, col), "{name}: {got:?} != {col:?}");
    }
}

/// The fixtures a copy is made from: zarr v2, v3, sharded v3, and `.h5ad` with the feature.
fn fixture_inputs() -> Vec<&'static str> {
    let mut v = vec!["v2_csr.zarr", "v3_csr.zarr", "v3_sharded.zarr"];
    if cfg!(feature = "h5ad") {
        v.push("csr_plain.h5ad");
    }
    v
}

/// A private copy of a committed fixture, in `dir`.
fn private_copy(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    if fixture(name).is_dir() {
        copy_tree(&fixture(name), &to);
    } else {
        std::fs::copy(fixture(name), &to).unwrap();
    }
    to
}

fn is_store_problem(e: &Error, want: &StoreProblem) -> bool {
    matches!(e, Error::Store { problem, .. } if problem == want)
}

#[test]
fn copy_keeps_the_input_and_every_other_byte() {
    for name in fixture_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let input = private_copy(tmp.path(), name);
        let output = tmp.path().join(format!("out_{name}"));
        let before = snapshot(&input);
        let cols = new_columns(N_FIXTURE);
        write_copy(&input, &output, &cols, &CopyOptions::default()).unwrap();
        assert!(snapshot(&input) == before, "{name}: the input changed");
        if input.is_dir() {
            zarr_bytes_kept(&before, &output, &cols);
        }
        rust_reads_back(&input, &output, &cols);
        let mut x = AnnDataStore::open(&output)
            .unwrap()
            .matrix(&ReadOptions::default())
            .unwrap();
        assert_eq!(densify(&mut x, 7), expected().x, "{name}");
        let mut names = [name.to_string(), format!("out_{name}")];
        names.sort();
        assert_eq!(listing(tmp.path()), names, "{name}: no temporaries left");
    }
}

#[test]
fn copy_of_rich_anndata_keeps_every_element() {
    let Some(py) = python() else {
        return skip_notice("write-back of rich AnnData stores written by Python");
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_python(&py, dir, "make.py", MAKE_PY, &[dir]);
    let mut inputs = vec!["rich_v2.zarr", "rich_v3.zarr", "rich_v3_sharded.zarr"];
    if cfg!(feature = "h5ad") {
        inputs.push("rich.h5ad");
    }
    let spec = dir.join("spec.json");
    std::fs::write(&spec, json!({"new": new_spec(N_RICH)}).to_string()).unwrap();
    let cols = new_columns(N_RICH);
    for name in inputs {
        let input = dir.join(name);
        if !input.exists() {
            eprintln!("SKIPPED: {name} (the installed anndata cannot write it)");
            continue;
        }
        let output = dir.join(format!("out_{name}"));
        let before = snapshot(&input);
        write_copy(&input, &output, &cols, &CopyOptions::default()).unwrap();
        assert!(snapshot(&input) == before, "{name}: the input changed");
        if input.is_dir() {
            zarr_bytes_kept(&before, &output, &cols);
        }
        rust_reads_back(&input, &output, &cols);
        run_python(
            &py,
            dir,
            "compare.py",
            COMPARE_PY,
            &[&input, &output, &spec],
        );
        assert!(
            !listing(dir).iter().any(|n| n.starts_with('.')),
            "temporaries left: {:?}",
            listing(dir)
        );
    }
}

#[cfg(feature = "h5ad")]
#[test]
fn add_obs_columns_to_rich_h5ad_in_place() {
    let Some(py) = python() else {
        return skip_notice("in-place .h5ad write-back read by Python");
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_python(&py, dir, "make.py", MAKE_PY, &[dir]);
    let spec = dir.join("spec.json");
    // The rich file, and one whose empty column-order h5py stored as an empty float array.
    for (name, n) in [("rich.h5ad", N_RICH), ("empty_obs.h5ad", 3)] {
        let original = dir.join(name);
        let edited = dir.join(format!("edited_{name}"));
        std::fs::copy(&original, &edited).unwrap();
        let cols = new_columns(n);
        add_cols(&edited, &cols, &AddColumnsOptions::default()).unwrap();
        rust_reads_back(&original, &edited, &cols);
        std::fs::write(&spec, json!({"new": new_spec(n)}).to_string()).unwrap();
        run_python(
            &py,
            dir,
            "compare.py",
            COMPARE_PY,
            &[&original, &edited, &spec],
        );
    }
    assert!(
        !listing(dir).iter().any(|n| n.starts_with('.')),
        "{:?}",
        listing(dir)
    );
}

#[cfg(feature = "h5ad")]
#[test]
fn add_obs_columns_to_h5ad_fixture_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let file = private_copy(tmp.path(), "csr_plain.h5ad");
    let cols = new_columns(N_FIXTURE);
    add_cols(&file, &cols, &AddColumnsOptions::default()).unwrap();
    rust_reads_back(&fixture("csr_plain.h5ad"), &file, &cols);
    let mut x = AnnDataStore::open(&file)
        .unwrap()
        .matrix(&ReadOptions::default())
        .unwrap();
    assert_eq!(densify(&mut x, 6), expected().x);
    assert_eq!(listing(tmp.path()), ["csr_plain.h5ad"]);
    let spec = new_spec(N_FIXTURE);
    let obs: serde_json::Map<String, Value> = spec
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!({"kind": v["kind"], "values": v["values"]})))
        .collect();
    python_check_turn(
        &file,
        &json!({"reference": fixture("csr_plain.h5ad"), "obs": obs}),
    );
}

#[cfg(feature = "h5ad")]
#[test]
fn h5ad_existing_column_refused_then_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let file = private_copy(tmp.path(), "csr_plain.h5ad");
    let before = snapshot(&file);
    let replacement = vec![("cell_type".to_string(), Column::Float(vec![2.5; N_FIXTURE]))];
    let e = add_cols(&file, &replacement, &AddColumnsOptions::default()).unwrap_err();
    assert!(
        matches!(&e, Error::Store { problem: StoreProblem::AlreadyExists, element, .. } if element == "obs/cell_type"),
        "{e:?}"
    );
    assert!(
        snapshot(&file) == before,
        "a refused write changed the file"
    );
    assert_eq!(listing(tmp.path()), ["csr_plain.h5ad"]);
    // A refusal among several columns writes none of them.
    let mut mixed = new_columns(N_FIXTURE);
    mixed.extend(replacement.clone());
    assert!(add_cols(&file, &mixed, &AddColumnsOptions::default()).is_err());
    assert!(snapshot(&file) == before);

    let overwrite = AddColumnsOptions::default().with_overwrite(true);
    add_cols(&file, &replacement, &overwrite).unwrap();
    let store = AnnDataStore::open(&file).unwrap();
    assert_eq!(store.obs_column("cell_type").unwrap(), replacement[0].1);
    assert_eq!(store.obs_column_names().unwrap(), ["cell_type"]);
    assert_eq!(listing(tmp.path()), ["csr_plain.h5ad"]);
    python_check_turn(
        &file,
        &json!({"obs": {"cell_type": {"kind": "float", "values": vec![2.5; N_FIXTURE]}}}),
    );
}

#[cfg(feature = "h5ad")]
#[test]
fn h5ad_argument_errors_leave_the_file_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let file = private_copy(tmp.path(), "csr_plain.h5ad");
    let before = snapshot(&file);
    let opts = AddColumnsOptions::default();
    let short = vec![("x".to_string(), Column::Float(vec![1.0; 3]))];
    assert!(matches!(
        add_cols(&file, &short, &opts),
        Err(Error::Shape(_))
    ));
    let bad_name = vec![("a/b".to_string(), Column::Float(vec![1.0; N_FIXTURE]))];
    assert!(matches!(
        add_cols(&file, &bad_name, &opts),
        Err(Error::InvalidArgument(_))
    ));
    let index = vec![("_index".to_string(), Column::Float(vec![1.0; N_FIXTURE]))];
    assert!(add_cols(&file, &index, &opts).is_err());
    let twice = vec![
        ("t".to_string(), Column::Float(vec![1.0; N_FIXTURE])),
        ("t".to_string(), Column::Float(vec![2.0; N_FIXTURE])),
    ];
    assert!(matches!(
        add_cols(&file, &twice, &opts),
        Err(Error::InvalidArgument(_))
    ));
    assert!(snapshot(&file) == before);
    assert_eq!(listing(tmp.path()), ["csr_plain.h5ad"]);
}

#[test]
fn copy_refuses_existing_column_unless_overwrite_columns() {
    for name in fixture_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let input = private_copy(tmp.path(), name);
        let before = snapshot(&input);
        let output = tmp.path().join(format!("out_{name}"));
        let cols = vec![("cell_type".to_string(), Column::Float(vec![0.5; N_FIXTURE]))];
        let e = write_copy(&input, &output, &cols, &CopyOptions::default()).unwrap_err();
        assert!(
            is_store_problem(&e, &StoreProblem::AlreadyExists),
            "{name}: {e:?}"
        );
        assert_eq!(
            listing(tmp.path()),
            [name],
            "{name}: nothing may be created"
        );

        let opts = CopyOptions::default().with_overwrite_columns(true);
        write_copy(&input, &output, &cols, &opts).unwrap();
        assert!(snapshot(&input) == before, "{name}");
        let store = AnnDataStore::open(&output).unwrap();
        assert_eq!(store.obs_column("cell_type").unwrap(), cols[0].1, "{name}");
        // Replaced where it was: first.
        assert_eq!(store.obs_column_names().unwrap()[0], "cell_type");
        assert_eq!(
            AnnDataStore::open(&input)
                .unwrap()
                .obs_column_names()
                .unwrap(),
            store.obs_column_names().unwrap()
        );
        python_check_turn(
            &output,
            &json!({"obs": {"cell_type": {"kind": "float", "values": vec![0.5; N_FIXTURE]}}}),
        );
    }
}

#[test]
fn copy_refuses_an_existing_output_unless_overwrite_output() {
    for name in fixture_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let input = private_copy(tmp.path(), name);
        let ext = if name.ends_with(".h5ad") {
            "h5ad"
        } else {
            "zarr"
        };
        let output = tmp.path().join(format!("existing.{ext}"));
        std::fs::create_dir(&output).unwrap();
        std::fs::write(output.join("keep"), b"user data").unwrap();
        let cols = new_columns(N_FIXTURE);
        let e = write_copy(&input, &output, &cols, &CopyOptions::default()).unwrap_err();
        assert!(
            matches!(&e, Error::Store { problem: StoreProblem::AlreadyExists, path, .. } if path == &output),
            "{name}: {e:?}"
        );
        assert_eq!(std::fs::read(output.join("keep")).unwrap(), b"user data");
        assert_eq!(listing(&output), ["keep"]);
        let mut names = vec![format!("existing.{ext}"), name.to_string()];
        names.sort();
        assert_eq!(listing(tmp.path()), names, "{name}");

        let opts = CopyOptions::default().with_overwrite_output(true);
        write_copy(&input, &output, &cols, &opts).unwrap();
        rust_reads_back(&input, &output, &cols);
        assert!(!output.join("keep").exists());
        assert_eq!(listing(tmp.path()), names, "{name}: no temporaries left");
    }
}

#[test]
fn copy_path_errors_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let zarr = private_copy(dir, "v3_csr.zarr");
    let cols = new_columns(N_FIXTURE);
    let opts = CopyOptions::default().with_overwrite_output(true);
    let listed = listing(dir);

    let missing = dir.join("no_such_dir");
    let e = write_copy(&zarr, missing.join("out.zarr"), &cols, &opts).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, .. } if path == &missing),
        "{e:?}"
    );
    assert!(e.to_string().contains("no_such_dir"), "{e}");

    for same in [zarr.clone(), dir.join(".").join("v3_csr.zarr")] {
        let e = write_copy(&zarr, &same, &cols, &opts).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("add_obs_columns")),
            "{e:?}"
        );
    }
    let inside = zarr.join("copy.zarr");
    let e = write_copy(&zarr, &inside, &cols, &opts).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    // Replacing a directory that holds the input would delete the input.
    let e = write_copy(&zarr, dir, &cols, &opts).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");

    let e = write_copy(&zarr, dir.join("out.h5ad"), &cols, &opts).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("not supported")),
        "{e:?}"
    );
    let h5ad = private_copy(dir, "csr_plain.h5ad");
    let e = write_copy(&h5ad, dir.join("out.zarr"), &cols, &opts).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("not supported")),
        "{e:?}"
    );
    let not_a_store = dir.join("notes.txt");
    std::fs::write(&not_a_store, b"hello").unwrap();
    let e = write_copy(&not_a_store, dir.join("out.zarr"), &cols, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Store {
                problem: StoreProblem::UnknownFormat(_),
                ..
            }
        ),
        "{e:?}"
    );

    let mut want = listed;
    want.extend(["csr_plain.h5ad".to_string(), "notes.txt".to_string()]);
    want.sort();
    assert_eq!(listing(dir), want);
    assert!(!missing.exists());
    assert!(!inside.exists());
}

#[test]
fn copy_argument_errors_create_nothing() {
    for name in fixture_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let input = private_copy(tmp.path(), name);
        let output = tmp.path().join(format!("out_{name}"));
        let opts = CopyOptions::default();
        let short = vec![("x".to_string(), Column::Float(vec![1.0; 3]))];
        let e = write_copy(&input, &output, &short, &opts).unwrap_err();
        assert!(matches!(e, Error::Shape(_)), "{name}: {e:?}");
        let bad_code = vec![(
            "c".to_string(),
            Column::Categorical {
                codes: vec![5; N_FIXTURE],
                categories: vec!["a".into()],
                ordered: false,
            },
        )];
        let e = write_copy(&input, &output, &bad_code, &opts).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{name}: {e:?}");
        assert_eq!(listing(tmp.path()), [name]);
    }
}

#[test]
fn copy_with_no_columns_is_a_plain_copy() {
    for name in fixture_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let input = private_copy(tmp.path(), name);
        let output = tmp.path().join(format!("out_{name}"));
        write_copy(&input, &output, &[], &CopyOptions::default()).unwrap();
        assert!(snapshot(&output) == snapshot(&input), "{name}");
    }
}

#[cfg(not(feature = "h5ad"))]
#[test]
fn h5ad_needs_the_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let file = private_copy(tmp.path(), "csr_plain.h5ad");
    let cols = new_columns(N_FIXTURE);
    let want = StoreProblem::FeatureDisabled("h5ad");
    let e = add_cols(&file, &cols, &AddColumnsOptions::default()).unwrap_err();
    assert!(is_store_problem(&e, &want), "{e:?}");
    let out = tmp.path().join("out.h5ad");
    let e = write_copy(&file, &out, &cols, &CopyOptions::default()).unwrap_err();
    assert!(is_store_problem(&e, &want), "{e:?}");
    assert_eq!(listing(tmp.path()), ["csr_plain.h5ad"]);
}

/// Times write-back on big stores: set INSTRUCTCELL_WRITEBACK_BENCH to a directory holding any
/// of big.h5ad, big_v2.zarr, big_v3.zarr and run with `--ignored --nocapture`. Outputs are
/// written beside the inputs and deleted; big.h5ad also gets the columns in place.
#[test]
#[ignore = "needs big stores named by INSTRUCTCELL_WRITEBACK_BENCH"]
fn bench_write_back_of_big_stores() {
    let Some(dir) = std::env::var_os("INSTRUCTCELL_WRITEBACK_BENCH").map(PathBuf::from) else {
        return eprintln!("SKIPPED: set INSTRUCTCELL_WRITEBACK_BENCH");
    };
    let size = |p: &Path| snapshot_size(p) as f64 / 1e9;
    for name in ["big.h5ad", "big_v2.zarr", "big_v3.zarr"] {
        let input = dir.join(name);
        if !input.exists() {
            continue;
        }
        let n = AnnDataStore::open(&input)
            .unwrap()
            .obs_names()
            .unwrap()
            .len();
        let cols = new_columns(n);
        let output = dir.join(format!("out_{name}"));
        let opts = CopyOptions::default()
            .with_overwrite_output(true)
            .with_overwrite_columns(true);
        let t = std::time::Instant::now();
        write_copy(&input, &output, &cols, &opts).unwrap();
        let copy_s = t.elapsed().as_secs_f64();
        println!(
            "write_store_with_obs_columns {name}: {:.2} GB, {n} cells, {copy_s:.2} s",
            size(&input)
        );
        if output.is_dir() {
            std::fs::remove_dir_all(&output).unwrap();
        } else {
            std::fs::remove_file(&output).unwrap();
        }
        let t = std::time::Instant::now();
        add_cols(
            &input,
            &cols,
            &AddColumnsOptions::default().with_overwrite(true),
        )
        .unwrap();
        println!(
            "add_obs_columns (in place) {name}: {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
}

/// Total bytes of the files at or under `path`.
fn snapshot_size(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| snapshot_size(&e.unwrap().path()))
            .sum()
    } else {
        std::fs::metadata(path).unwrap().len()
    }
}

#[cfg(all(feature = "h5ad", unix))]
#[test]
fn h5ad_in_place_through_a_symlink_edits_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let file = private_copy(tmp.path(), "csr_plain.h5ad");
    let link = tmp.path().join("link.h5ad");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let cols = new_columns(N_FIXTURE);
    add_cols(&link, &cols, &AddColumnsOptions::default()).unwrap();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    rust_reads_back(&fixture("csr_plain.h5ad"), &file, &cols);
    assert_eq!(listing(tmp.path()), ["csr_plain.h5ad", "link.h5ad"]);
}
