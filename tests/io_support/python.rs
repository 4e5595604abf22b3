//! What Python anndata / mudata read from a store, as JSON, and the comparison of the crate's
//! reading with it. Needs `INSTRUCTCELL_PYTHON` (an interpreter with the packages of
//! tests/data/requirements.txt); callers skip without it.

use std::path::{Path, PathBuf};

use instructcell::io::{AnnDataStore, Column, DataFrame, MatrixSelection, ReadOptions};
use serde_json::Value;

use instructcell::{CsrRows, RowSource};

/// The interpreter, or `None` (the caller skips) with a message.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("INSTRUCTCELL_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("SKIPPED: set INSTRUCTCELL_PYTHON to an interpreter with anndata and mudata");
            None
        }
    }
}

/// Runs `script` with `args`; panics with its output when it fails. Returns stdout.
pub fn run(python: &Path, script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("the Python interpreter could not be started");
    assert!(
        out.status.success(),
        "Python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Dumps obs, var, X and raw (var, X) as anndata reads them; for MuData, of modality `mod`.
const DUMP: &str = r#"
import sys, json, warnings
import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
warnings.filterwarnings("ignore")
path, mod = sys.argv[1], sys.argv[2]
if mod:
    import mudata
    m = mudata.read_h5mu(path) if path.endswith(".h5mu") else mudata.read_zarr(path)
    a = m[mod]
else:
    a = ad.read_h5ad(path) if path.endswith(".h5ad") else ad.read_zarr(path)
def col(s):
    if isinstance(s.dtype, pd.CategoricalDtype):
        return {"kind": "categorical", "codes": s.cat.codes.astype(int).tolist(),
                "categories": [str(c) for c in s.cat.categories]}
    if s.dtype == bool:
        return {"kind": "bool", "values": s.tolist()}
    if np.issubdtype(s.dtype, np.integer):
        return {"kind": "int", "values": [int(x) for x in s]}
    if np.issubdtype(s.dtype, np.floating):
        return {"kind": "float", "values": [None if np.isnan(x) else float(x) for x in s]}
    return {"kind": "string", "values": [None if x is None or x is pd.NA else str(x) for x in s]}
def frame(df):
    return {"index": [str(x) for x in df.index], "columns": [[c, col(df[c])] for c in df.columns]}
def dense(x):
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    return x.astype(np.float64).tolist()
out = {"obs": frame(a.obs), "var": frame(a.var), "X": dense(a.X)}
if a.raw is not None:
    out["raw_var"] = frame(a.raw.var)
    out["raw_X"] = dense(a.raw.X)
json.dump(out, sys.stdout)
"#;

/// What anndata reads from the store at `path` (modality `modality` for MuData).
pub fn dump(python: &Path, path: &Path, modality: Option<&str>) -> Value {
    let text = run(
        python,
        DUMP,
        &[path.to_str().unwrap(), modality.unwrap_or("")],
    );
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<Option<String>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Asserts that `col` holds what anndata read (`want`, one entry of the dump's columns).
pub fn assert_column(what: &str, col: &Column, want: &Value) {
    let values = &want["values"];
    match (want["kind"].as_str().unwrap(), col) {
        (
            "categorical",
            Column::Categorical {
                codes, categories, ..
            },
        ) => {
            let want_codes: Vec<i32> = want["codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_i64().unwrap() as i32)
                .collect();
            assert_eq!(codes, &want_codes, "{what}: codes");
            let want_cats: Vec<String> = strings(&want["categories"])
                .into_iter()
                .map(Option::unwrap)
                .collect();
            assert_eq!(categories, &want_cats, "{what}: categories");
        }
        ("bool", Column::Bool(v)) => {
            let w: Vec<bool> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_bool().unwrap())
                .collect();
            assert_eq!(v, &w, "{what}");
        }
        ("int", Column::Int(v)) => {
            let w: Vec<i64> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect();
            assert_eq!(v, &w, "{what}");
        }
        ("int", Column::UInt(v)) => {
            let w: Vec<u64> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(v, &w, "{what}");
        }
        ("float", Column::Float(v)) => {
            let w: Vec<Option<f64>> = values
                .as_array()
                .unwrap()
                .iter()
                .map(Value::as_f64)
                .collect();
            assert_eq!(v.len(), w.len(), "{what}: length");
            for (i, (a, b)) in v.iter().zip(&w).enumerate() {
                match b {
                    None => assert!(a.is_nan(), "{what}[{i}]: {a} where anndata has NaN"),
                    Some(b) => assert_eq!(a, b, "{what}[{i}]"),
                }
            }
        }
        ("string", c) => assert_eq!(c.to_strings(), strings(values), "{what}"),
        (kind, c) => panic!("{what}: anndata reads a {kind} column, the crate {c:?}"),
    }
}

/// Asserts that `df` equals the dump's dataframe `want` (index, column names and values).
pub fn assert_frame(what: &str, df: &DataFrame, want: &Value) {
    let index: Vec<String> = strings(&want["index"])
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(df.index, index, "{what}: index");
    let cols = want["columns"].as_array().unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c[0].as_str().unwrap()).collect();
    let ours: Vec<&str> = df.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(ours, names, "{what}: column names");
    for ((name, col), want) in df.columns.iter().zip(cols) {
        assert_column(&format!("{what}.{name}"), col, &want[1]);
    }
}

/// The whole source as dense rows, streamed in blocks of `block` (columns in stored order:
/// files written by old tools may keep unsorted indices, as anndata does when reading them).
fn dense_rows(src: &mut dyn RowSource, block: usize) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; src.n_cols()]; src.n_rows()];
    let mut rows = CsrRows::default();
    let mut start = 0;
    while start < src.n_rows() {
        let end = (start + block).min(src.n_rows());
        src.read_rows(start..end, &mut rows).unwrap();
        for r in 0..rows.n_rows() {
            let (idx, val) = rows.row(r);
            for (&c, &v) in idx.iter().zip(val) {
                out[start + r][c as usize] += v;
            }
        }
        start = end;
    }
    out
}

fn assert_matrix(what: &str, got: &[Vec<f32>], want: &Value) {
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        let w: Vec<f32> = w
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(g, &w, "{what}: row {r}");
    }
}

/// Asserts that the store reads as anndata read it: obs, var, X, and raw when there is one.
pub fn assert_store_matches(store: &AnnDataStore, want: &Value) {
    assert_frame("obs", &store.obs().unwrap(), &want["obs"]);
    assert_frame("var", &store.var().unwrap(), &want["var"]);
    let read = |sel: MatrixSelection| {
        let opts = ReadOptions::default()
            .with_matrix(sel)
            .with_check_values(false);
        let mut m = store.matrix(&opts).unwrap();
        dense_rows(&mut m, 97)
    };
    assert_matrix("X", &read(MatrixSelection::X), &want["X"]);
    assert_eq!(store.has_raw().unwrap(), want.get("raw_X").is_some(), "raw");
    if want.get("raw_X").is_some() {
        assert_frame("raw.var", &store.raw_var().unwrap(), &want["raw_var"]);
        assert_matrix("raw.X", &read(MatrixSelection::RawX), &want["raw_X"]);
    }
}
