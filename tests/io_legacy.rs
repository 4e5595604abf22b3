//! AnnData written before 0.7 reads as anndata 0.12 reads it: scanpy's own
//! `pbmc68k_reduced.h5ad` (written in 2018: obs/var/raw.var as compound datasets, categories in
//! `uns`, `raw.X` with `h5sparse_format`), and files built here in that layout with the corner
//! cases (missing categories, booleans, codes that do not fit their categories, var
//! categoricals). Each is compared element by element with what Python anndata reads.
//!
//! Needs `INSTRUCTCELL_PYTHON` (tests/data/requirements.txt) and the `h5ad` feature.
#![cfg(feature = "h5ad")]

mod io_support;

use std::path::{Path, PathBuf};

use instructcell::io::{
    choose_matrix, AnnDataStore, MatrixChoice, MatrixSelection, ValueTransform,
};
use io_support::python::{assert_store_matches, dump, python, run};

/// scanpy's bundled pbmc68k_reduced, as installed with scanpy.
fn pbmc68k_reduced(python: &Path) -> PathBuf {
    let out = run(
        python,
        "import os, scanpy; print(os.path.join(os.path.dirname(scanpy.__file__), \
         'datasets', '10x_pbmc68k_reduced.h5ad'))",
        &[],
    );
    PathBuf::from(out.trim())
}

/// Writes `hand.h5ad` in the pre-0.7 layout with h5py (as anndata 0.6 wrote it).
const HAND_BUILT: &str = r#"
import sys, h5py, numpy as np, scipy.sparse as sp
path = sys.argv[1]
def sparse(f, name, m):
    m = sp.csr_matrix(m, dtype=np.float32)
    g = f.create_group(name)
    g.attrs["h5sparse_format"] = "csr"
    g.attrs["h5sparse_shape"] = np.array(m.shape)
    g["data"], g["indices"], g["indptr"] = m.data, m.indices, m.indptr
with h5py.File(path, "w") as f:
    f["obs"] = np.array(
        [(b"c0", 0, 1.5, True, 3, b"x"), (b"c1", 1, 2.5, False, -1, b"y"),
         (b"c2", -1, np.nan, True, 0, b""), (b"c3", 1, -4.0, False, 7, b"zz")],
        dtype=[("index", "S4"), ("kind", "i1"), ("score", "<f4"), ("flag", "?"),
               ("big", "<i8"), ("note", "S2")])
    f["var"] = np.array([(b"g0", 0, 1.0), (b"g1", 1, 2.0), (b"g2", 0, 3.0)],
                        dtype=[("index", "S2"), ("chrom", "i1"), ("mean", "<f8")])
    f["X"] = np.array([[1, 0, 2], [0, 0, 0], [3, 4, 0], [0, 5, 6]], dtype=np.float32)
    sparse(f, "raw.X", np.array([[1, 0, 2, 0], [0, 0, 0, 1], [3, 4, 0, 0], [0, 5, 6, 7]]))
    f["raw.var"] = np.array([(b"g0", 0), (b"g1", 1), (b"g2", 0), (b"g9", 1)],
                            dtype=[("index", "S2"), ("chrom", "i1")])
    f["uns/kind_categories"] = np.array([b"T cell", b"B cell"])
    f["uns/chrom_categories"] = np.array([b"chr1", b"chr2"])
    f["uns/big_categories"] = np.array([b"a", b"b"])
    f["obsm"] = np.array([((0.5, 1.0),)] * 4, dtype=[("X_umap", "<f8", (2,))])
"#;

#[test]
fn scanpy_pbmc68k_reduced_reads_as_anndata_reads_it() {
    let Some(py) = python() else { return };
    let path = pbmc68k_reduced(&py);
    let store = AnnDataStore::open(&path).unwrap();
    assert!(store.is_legacy());
    assert_eq!(store.n_obs().unwrap(), 700);
    assert_eq!(store.n_vars().unwrap(), 765);
    assert_store_matches(&store, &dump(&py, &path, None));
    // X holds z-scores; the automatic choice finds the log-normalised raw.
    let chosen = choose_matrix(&store, &MatrixChoice::Auto).unwrap();
    assert_eq!(chosen.selection, MatrixSelection::RawX, "{chosen:?}");
    assert_eq!(chosen.transform, ValueTransform::Expm1);
}

#[test]
fn hand_built_pre_07_file_reads_as_anndata_reads_it() {
    let Some(py) = python() else { return };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("io_legacy");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hand.h5ad");
    run(&py, HAND_BUILT, &[path.to_str().unwrap()]);
    let store = AnnDataStore::open(&path).unwrap();
    assert!(store.is_legacy());
    let want = dump(&py, &path, None);
    // The corner cases are there: a missing category, a column whose codes do not fit its
    // categories (left integer), a categorical var column, raw with its own genes.
    assert_eq!(want["obs"]["columns"][0][1]["kind"], "categorical");
    assert_eq!(want["obs"]["columns"][3][1]["kind"], "int");
    assert_eq!(want["var"]["columns"][0][1]["kind"], "categorical");
    assert_eq!(want["raw_var"]["columns"][0][1]["kind"], "int");
    assert_store_matches(&store, &want);
}

/// The fixtures anndata 0.6.22 wrote (tests/data/legacy/make_anndata06.py) and what
/// anndata 0.12 reads from them (`expected.json`, read with zarr 2: zarr 3 cannot open the
/// JSON-encoded category arrays of old zarr stores).
fn anndata06() -> (PathBuf, serde_json::Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy");
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    (dir, serde_json::from_str(&text).unwrap())
}

#[test]
fn anndata_06_zarr_and_h5ad_read_as_anndata_reads_them() {
    let (dir, expected) = anndata06();
    for name in ["anndata06.zarr", "anndata06.h5ad"] {
        let store = AnnDataStore::open(dir.join(name)).unwrap();
        assert!(store.is_legacy(), "{name}");
        let want = &expected[name];
        // A categorical with missing values (uns categories), a var categorical, and
        // raw.var whose codes stay integers (anndata applies no categories to it).
        assert_eq!(want["obs"]["columns"][0][1]["codes"][4], -1);
        assert_eq!(want["var"]["columns"][1][1]["kind"], "categorical");
        assert_eq!(want["raw_var"]["columns"][1][1]["kind"], "int");
        assert_store_matches(&store, want);
        // X holds log-normalised values of 8 genes; raw/X the counts of 10: counts win.
        let chosen = choose_matrix(&store, &MatrixChoice::Auto).unwrap();
        assert_eq!(
            chosen.selection,
            MatrixSelection::RawX,
            "{name}: {chosen:?}"
        );
        assert_eq!(chosen.transform, ValueTransform::None);
    }
    // The h5ad also as the anndata of this machine reads it.
    if let Some(py) = python() {
        let path = dir.join("anndata06.h5ad");
        assert_store_matches(&AnnDataStore::open(&path).unwrap(), &dump(&py, &path, None));
    }
}
