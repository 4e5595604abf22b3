//! Helpers shared by the IO integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use instructcell::{CsrRows, RowSource};

/// The committed fixture directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures")
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// Facts about the fixtures written by make_fixtures.py.
pub struct Expected {
    pub x: Vec<Vec<f32>>,
    pub raw_x: Vec<Vec<f32>>,
    pub zero_cells: Vec<usize>,
}

pub fn expected() -> Expected {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mat = |k: &str| -> Vec<Vec<f32>> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect()
    };
    Expected {
        x: mat("X"),
        raw_x: mat("raw_X"),
        zero_cells: v["zero_cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect(),
    }
}

/// Streams the whole source in blocks of `block` rows into a dense matrix.
pub fn densify(src: &mut dyn RowSource, block: usize) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; src.n_cols()]; src.n_rows()];
    let mut rows = CsrRows::default();
    let mut start = 0;
    while start < src.n_rows() {
        let end = (start + block).min(src.n_rows());
        src.read_rows(start..end, &mut rows).unwrap();
        rows.validate().unwrap();
        assert_eq!(rows.n_rows(), end - start);
        for r in 0..rows.n_rows() {
            let (idx, val) = rows.row(r);
            assert!(
                idx.windows(2).all(|w| w[0] < w[1]),
                "columns sorted within a row"
            );
            for (&c, &v) in idx.iter().zip(val) {
                out[start + r][c as usize] = v;
            }
        }
        start = end;
    }
    out
}

/// Copies a directory tree (fixtures are read-only inputs; writes go to copies).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Runs `tests/data/check_roundtrip.py STORE SPEC` with the interpreter named by
/// INSTRUCTCELL_PYTHON; prints a skip notice and returns when it is not set.
pub fn python_check(store: &Path, spec: &serde_json::Value) {
    let Some(python) = std::env::var_os("INSTRUCTCELL_PYTHON") else {
        eprintln!(
            "SKIPPED: Python anndata round-trip check for {} (set INSTRUCTCELL_PYTHON to an \
             interpreter with anndata, see tests/data/requirements.txt)",
            store.display()
        );
        return;
    };
    let spec_file = store.with_extension("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec(spec).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/check_roundtrip.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(store)
        .arg(&spec_file)
        .output()
        .expect("INSTRUCTCELL_PYTHON could not be started");
    assert!(
        out.status.success(),
        "Python anndata rejected {}:\n{}\n{}",
        store.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file at or under `path` (a store directory or one file), by path relative to it,
/// with its bytes.
pub fn snapshot(path: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if path.is_dir() {
        walk(path, path, &mut out);
    } else {
        out.insert(PathBuf::new(), std::fs::read(path).unwrap());
    }
    out
}

pub mod python;
