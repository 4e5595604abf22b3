//! What a matrix holds, and which matrix to give a model: stores written by Python anndata and
//! scanpy from the bundled real PBMC counts in each layout met in practice (counts in X;
//! log-normalised X; normalised over all genes and then subset; scaled X with counts in a layer
//! or log-normalised values in raw; values that cannot be turned back into counts), as zarr and
//! `.h5ad`. Then the point of it: annotating log-normalised values through `Expm1Rows` gives
//! the labels and probabilities of annotating the counts.
//!
//! Needs `INSTRUCTCELL_PYTHON` (an interpreter with anndata and scanpy); skipped with a message
//! otherwise. The annotation test also skips where ONNX Runtime or the bundled trained package
//! is absent.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use instructcell::genes::{AlignOptions, GeneAlignment};
use instructcell::io::{
    choose_matrix, inspect_matrix, AnnDataStore, ContentReport, Expm1Rows, MatrixChoice,
    MatrixContent, MatrixSelection, ReadOptions, StoreProblem, ValueTransform,
};
use instructcell::matrix::{CsrRows, RowSource};
use instructcell::model::{Model, ModelOptions};
use instructcell::package::Precision;
use instructcell::preprocess::CellProblem;
use instructcell::tasks::{annotate, AnswerMode, Control, LabelPrediction, TaskOptions};
use instructcell::Error;

/// Writes every layout as `<name>.zarr` (and `<name>.h5ad` when argv[3] is 1) into argv[2].
const SCRIPT: &str = r#"
import sys, warnings
import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad, scanpy as sc
warnings.filterwarnings("ignore")
src, out, h5 = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
a = ad.read_zarr(src)
counts = sp.csr_matrix(a.X, dtype=np.float32)
obs = pd.DataFrame(index=a.obs_names.copy())
var = pd.DataFrame(index=a.var_names.copy())
half = np.arange(0, counts.shape[1], 2)

def new(x, var=var, obs=obs):
    return ad.AnnData(X=x, obs=obs.copy(), var=var.copy())

def normalized(x):
    b = new(x.copy())
    sc.pp.normalize_total(b, target_sum=1e4)
    return sp.csr_matrix(b.X, dtype=np.float32)

def lognorm(x):
    b = new(normalized(x))
    sc.pp.log1p(b)
    return sp.csr_matrix(b.X, dtype=np.float32)

def scaled(x):
    b = new(x.copy())
    sc.pp.scale(b)
    return np.asarray(b.X, dtype=np.float32)

ln = lognorm(counts)
noisy = ln.copy()
noisy.data *= (1 + 0.05 * np.random.default_rng(7).random(noisy.nnz)).astype(np.float32)
layouts = {}
layouts["counts"] = new(counts)
layouts["normalized"] = new(normalized(counts))
layouts["lognorm"] = new(ln)
layouts["lognorm_csc"] = new(ln.tocsc())
layouts["counts_half"] = new(counts[:, half], var=var.iloc[half])
layouts["lognorm_half"] = new(ln[:, half], var=var.iloc[half])
b = new(scaled(ln)); b.layers["counts"] = counts
layouts["scaled_counts"] = b
b = new(scaled(ln)); b.raw = new(ln)
layouts["scaled_raw"] = b
b = new(scaled(ln)); b.layers["lognorm"] = ln; b.layers["Raw_Counts"] = counts
layouts["layer_case"] = b
b = new(scaled(ln)); b.layers["lognorm"] = ln
layouts["lognorm_layer"] = b
layouts["noisy"] = new(noisy)
b = new(scaled(counts)); b.raw = new(noisy)
layouts["zscores"] = b
layouts["empty"] = new(counts[:0], obs=obs.iloc[:0])
z = np.zeros((4, counts.shape[1]), dtype=np.float32)
bad = counts[:4].toarray(); bad[1, 3] = np.nan
b = new(z, obs=obs.iloc[:4]); b.layers["counts"] = counts[:4]; b.layers["bad"] = bad
layouts["zeros_nan"] = b
for name, b in layouts.items():
    b.write_zarr(f"{out}/{name}.zarr")
    if h5:
        b.write_h5ad(f"{out}/{name}.h5ad")
print("wrote", len(layouts), "layouts")
"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory of written layouts, written once per test run; `None` (skip) without Python.
fn layouts() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let Some(python) = std::env::var_os("INSTRUCTCELL_PYTHON") else {
            eprintln!(
                "SKIPPED: set INSTRUCTCELL_PYTHON to an interpreter with anndata and scanpy \
                 (see tests/data/requirements.txt) to write the layouts"
            );
            return None;
        };
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("io_content");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new(python)
            .arg("-c")
            .arg(SCRIPT)
            .arg(root().join("examples/data/pbmc68k_heldout.zarr"))
            .arg(&dir)
            .arg(if cfg!(feature = "h5ad") { "1" } else { "0" })
            .output()
            .expect("INSTRUCTCELL_PYTHON could not be started");
        assert!(
            out.status.success(),
            "writing the layouts failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_deref()
}

/// The formats written: zarr, and `.h5ad` with the `h5ad` feature.
fn extensions() -> &'static [&'static str] {
    if cfg!(feature = "h5ad") {
        &["zarr", "h5ad"]
    } else {
        &["zarr"]
    }
}

fn open(dir: &Path, name: &str, ext: &str) -> AnnDataStore {
    AnnDataStore::open(dir.join(format!("{name}.{ext}"))).unwrap()
}

fn layer(name: &str) -> MatrixSelection {
    MatrixSelection::Layer(name.into())
}

fn inspect(store: &AnnDataStore, sel: &MatrixSelection) -> ContentReport {
    inspect_matrix(store, sel, 64).unwrap()
}

#[test]
fn inspect_matrix_tells_what_each_element_holds() {
    let Some(dir) = layouts() else { return };
    use MatrixContent::*;
    let x = MatrixSelection::X;
    let raw = MatrixSelection::RawX;
    let cases: Vec<(&str, MatrixSelection, MatrixContent)> = vec![
        ("counts", x.clone(), Counts),
        ("normalized", x.clone(), NormalizedCounts),
        ("lognorm", x.clone(), LogNormalized),
        ("lognorm_csc", x.clone(), LogNormalized),
        ("counts_half", x.clone(), Counts),
        ("lognorm_half", x.clone(), LogNormalized),
        ("scaled_counts", x.clone(), Other),
        ("scaled_counts", layer("counts"), Counts),
        ("scaled_raw", x.clone(), Other),
        ("scaled_raw", raw.clone(), LogNormalized),
        ("layer_case", layer("lognorm"), LogNormalized),
        ("layer_case", layer("Raw_Counts"), Counts),
        ("noisy", x.clone(), Other),
        ("zscores", x.clone(), Other),
        ("zscores", raw.clone(), Other),
        ("empty", x.clone(), Counts),
        ("zeros_nan", x.clone(), Counts),
        ("zeros_nan", layer("counts"), Counts),
        ("zeros_nan", layer("bad"), Other),
    ];
    for ext in extensions() {
        for (name, sel, want) in &cases {
            let store = open(dir, name, ext);
            // The whole matrix and a small sample agree.
            for sample in [1000, 24] {
                let r = inspect_matrix(&store, sel, sample).unwrap();
                eprintln!("{name}.{ext} ({sample} rows): {}", r.summary());
                assert_eq!(r.content, *want, "{name}.{ext} {sel:?}: {}", r.detail);
                assert_eq!(r.selection, *sel);
                assert!(!r.detail.contains('\n'));
                // Every row asked for is read, unless a negative or NaN value ends the search.
                let n = store.n_obs().unwrap();
                if r.content == Other && !r.detail.contains("whole") {
                    assert!(r.rows_sampled <= n.min(sample), "{name}.{ext}: {r:?}");
                } else {
                    assert_eq!(r.rows_sampled, n.min(sample), "{name}.{ext}: {r:?}");
                }
            }
        }
        let r = inspect(&open(dir, "counts", ext), &MatrixSelection::X);
        assert_eq!(r.element, "X");
        assert!(r.detail.starts_with("integer counts, max "), "{r:?}");
        let r = inspect(&open(dir, "scaled_raw", ext), &MatrixSelection::X);
        assert!(
            r.detail.contains("is negative") && r.detail.starts_with("value -"),
            "{}",
            r.detail
        );
        let r = inspect(&open(dir, "zeros_nan", ext), &layer("bad"));
        assert!(
            r.detail.starts_with("value NaN at cell 1, gene 3 (")
                && r.detail.ends_with("not finite"),
            "{}",
            r.detail
        );
        let r = inspect(&open(dir, "empty", ext), &MatrixSelection::X);
        assert_eq!((r.rows_sampled, r.values_sampled), (0, 0));
        // A report serialises with its selection.
        let r = inspect(&open(dir, "scaled_counts", ext), &layer("counts"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["selection"], serde_json::json!({"Layer": "counts"}));
        assert_eq!(json["content"], "counts");
        assert_eq!(json["element"], "layers/counts");
    }
}

#[test]
fn auto_prefers_counts_then_log_normalised_values() {
    let Some(dir) = layouts() else { return };
    use ValueTransform::{Expm1, None as Plain};
    let cases: Vec<(&str, MatrixSelection, ValueTransform, bool)> = vec![
        ("counts", MatrixSelection::X, Plain, true),
        ("normalized", MatrixSelection::X, Plain, false),
        ("lognorm", MatrixSelection::X, Expm1, false),
        ("lognorm_csc", MatrixSelection::X, Expm1, false),
        ("lognorm_half", MatrixSelection::X, Expm1, false),
        ("scaled_counts", layer("counts"), Plain, true),
        ("scaled_raw", MatrixSelection::RawX, Expm1, false),
        // Counts before log-normalised values, layer names compared ignoring case.
        ("layer_case", layer("Raw_Counts"), Plain, true),
        ("lognorm_layer", layer("lognorm"), Expm1, false),
        // An all-zero X says nothing: the counts layer is taken.
        ("zeros_nan", layer("counts"), Plain, true),
        ("empty", MatrixSelection::X, Plain, true),
    ];
    for ext in extensions() {
        for (name, sel, transform, integer) in &cases {
            let store = open(dir, name, ext);
            let chosen = choose_matrix(&store, &MatrixChoice::Auto).unwrap();
            eprintln!(
                "{name}.{ext}: {:?} {:?}; considered {:?}",
                chosen.selection,
                chosen.transform,
                chosen
                    .considered
                    .iter()
                    .map(|r| r.summary())
                    .collect::<Vec<_>>()
            );
            assert_eq!(chosen.selection, *sel, "{name}.{ext}");
            assert_eq!(chosen.transform, *transform, "{name}.{ext}");
            assert_eq!(chosen.integer_counts(), *integer, "{name}.{ext}");
            assert_eq!(chosen.report.selection, *sel);
            assert!(chosen.considered.contains(&chosen.report));
            assert_eq!(chosen.read_options(&ReadOptions::default()).matrix, *sel);
        }
        // X is looked at first and counts there end the search.
        let chosen = choose_matrix(&open(dir, "counts", ext), &MatrixChoice::Auto).unwrap();
        assert_eq!(chosen.considered.len(), 1);
        let chosen = choose_matrix(&open(dir, "scaled_raw", ext), &MatrixChoice::Auto).unwrap();
        let seen: Vec<&str> = chosen
            .considered
            .iter()
            .map(|r| r.element.as_str())
            .collect();
        assert_eq!(seen, ["X", "raw/X"]);
    }
}

#[test]
fn use_takes_the_named_matrix_when_it_is_usable() {
    let Some(dir) = layouts() else { return };
    for ext in extensions() {
        let store = open(dir, "scaled_raw", ext);
        let c = choose_matrix(&store, &MatrixChoice::Use(MatrixSelection::RawX)).unwrap();
        assert_eq!(
            (c.transform, c.integer_counts()),
            (ValueTransform::Expm1, false)
        );
        let store = open(dir, "layer_case", ext);
        let c = choose_matrix(&store, &MatrixChoice::Use(layer("lognorm"))).unwrap();
        assert_eq!(c.transform, ValueTransform::Expm1);
        assert_eq!(c.considered.len(), 1);
        let c = choose_matrix(&store, &MatrixChoice::Use(layer("Raw_Counts"))).unwrap();
        assert_eq!(
            (c.transform, c.integer_counts()),
            (ValueTransform::None, true)
        );
        let store = open(dir, "normalized", ext);
        let c = choose_matrix(&store, &MatrixChoice::Use(MatrixSelection::X)).unwrap();
        assert_eq!(
            (c.transform, c.integer_counts()),
            (ValueTransform::None, false)
        );

        // A named matrix that holds other values is refused, naming what it holds.
        let store = open(dir, "scaled_counts", ext);
        let err = choose_matrix(&store, &MatrixChoice::Use(MatrixSelection::X)).unwrap_err();
        let msg = err.to_string();
        eprintln!("{msg}");
        match &err {
            Error::Store {
                element,
                problem: StoreProblem::NoUsableMatrix { found, chosen },
                ..
            } => {
                assert_eq!(element, "X");
                assert!(*chosen);
                assert_eq!(found.len(), 1);
                assert!(found[0].starts_with("X holds values that are not counts (value -"));
            }
            other => panic!("{other:?}"),
        }
        assert!(msg.contains("--layer NAME") && msg.contains("--use-raw") && !msg.contains('\n'));
        // A missing one is the store's usual error.
        let err = choose_matrix(&store, &MatrixChoice::Use(layer("nope"))).unwrap_err();
        assert!(
            matches!(&err, Error::Store { problem: StoreProblem::Missing, element, .. } if element == "layers/nope"),
            "{err:?}"
        );
    }
}

#[test]
fn no_usable_matrix_lists_what_each_element_holds() {
    let Some(dir) = layouts() else { return };
    for ext in extensions() {
        for (name, elements) in [("noisy", vec!["X"]), ("zscores", vec!["X", "raw/X"])] {
            let store = open(dir, name, ext);
            let err = choose_matrix(&store, &MatrixChoice::Auto).unwrap_err();
            let msg = err.to_string();
            eprintln!("{name}.{ext}: {msg}");
            let Error::Store {
                problem: StoreProblem::NoUsableMatrix { found, chosen },
                ..
            } = &err
            else {
                panic!("{err:?}")
            };
            assert!(!*chosen);
            assert_eq!(found.len(), elements.len(), "{found:?}");
            for (f, el) in found.iter().zip(&elements) {
                assert!(f.starts_with(&format!("{el} holds values that are not counts (")));
            }
            assert!(
                msg.ends_with(
                    "no element holds counts or log-normalised values: choose one with \
                     --layer NAME or --use-raw"
                ),
                "{msg}"
            );
            assert!(!msg.contains('\n'));
        }
        // Noisy log-normalised values are told apart from real ones by their expm1.
        let r = inspect(&open(dir, "noisy", ext), &MatrixSelection::X);
        assert!(r.detail.contains("expm1"), "{}", r.detail);
        // And reading them as log-normalised anyway fails on the first negative, not a panic.
        let store = open(dir, "zscores", ext);
        let reader = store
            .matrix(&ReadOptions::default().with_check_values(false))
            .unwrap();
        let mut rows = Expm1Rows::new(reader);
        let mut out = CsrRows::default();
        let err = rows.read_rows(0..rows.n_rows(), &mut out).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadCell {
                    row: 0,
                    problem: CellProblem::Negative { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

/// Expm1 of the log-normalised store restores the counts up to each cell's factor.
#[test]
fn expm1_restores_counts_up_to_a_per_cell_factor() {
    let Some(dir) = layouts() else { return };
    for (counts, lognorm) in [("counts", "lognorm"), ("counts_half", "lognorm_half")] {
        let dense = |store: &AnnDataStore, expm1: bool| -> Vec<Vec<f32>> {
            let reader = store.matrix(&ReadOptions::default()).unwrap();
            let mut src: Box<dyn RowSource> = if expm1 {
                Box::new(Expm1Rows::new(reader))
            } else {
                Box::new(reader)
            };
            let mut out = CsrRows::default();
            src.read_rows(0..src.n_rows(), &mut out).unwrap();
            (0..out.n_rows())
                .map(|r| {
                    let mut row = vec![0f32; out.n_cols];
                    let (i, v) = out.row(r);
                    i.iter().zip(v).for_each(|(&c, &x)| row[c as usize] = x);
                    row
                })
                .collect()
        };
        let c = dense(&open(dir, counts, "zarr"), false);
        let e = dense(&open(dir, lognorm, "zarr"), true);
        let mut worst = 0f64;
        for (cr, er) in c.iter().zip(&e) {
            let m = cr.iter().zip(er).find(|(&a, _)| a > 0.0).unwrap();
            let unit = f64::from(*m.1) / f64::from(*m.0);
            for (&a, &b) in cr.iter().zip(er) {
                assert_eq!(a == 0.0, b == 0.0, "sparsity kept");
                if a > 0.0 {
                    worst = worst.max((f64::from(b) / unit / f64::from(a) - 1.0).abs());
                }
            }
        }
        eprintln!("{lognorm}: expm1 / counts is one factor per cell within {worst:.2e}");
        assert!(worst < 1e-5, "{worst}");
    }
}

fn load_model() -> Option<Model> {
    let dir = root().join("onnx/models/pbmc-small");
    if !dir.join("manifest.json").exists() {
        eprintln!("skipping: no trained package at {}", dir.display());
        return None;
    }
    let opts = ModelOptions::default()
        .with_threads(2)
        .with_precision(Precision::Fp32);
    match Model::load(&dir, &opts) {
        Ok(m) => Some(m),
        Err(Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// The sorted distinct labels of the bundled held-out store.
fn label_set() -> Vec<String> {
    let store = AnnDataStore::open(root().join("examples/data/pbmc68k_heldout.zarr")).unwrap();
    let mut labels: Vec<String> = store
        .obs_column("bulk_labels")
        .unwrap()
        .to_strings()
        .into_iter()
        .flatten()
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

/// Scored fp32 annotation of every row of `source`.
fn scored<S: RowSource + Send>(model: &Model, source: S, integer: bool) -> Vec<LabelPrediction> {
    let alignment =
        GeneAlignment::for_source(&source, model.genes(), &AlignOptions::default()).unwrap();
    let opts = TaskOptions::default()
        .with_labels(label_set())
        .with_mode(AnswerMode::Scored)
        .with_integer_counts(integer);
    annotate(model, source, &alignment, &opts, &mut Control::new()).unwrap()
}

/// The largest probability difference; panics where a label differs.
fn compare(what: &str, a: &[LabelPrediction], b: &[LabelPrediction]) -> f32 {
    assert_eq!(a.len(), b.len(), "{what}");
    let mut worst = 0f32;
    for (p, q) in a.iter().zip(b) {
        assert_eq!(
            (p.row, &p.label),
            (q.row, &q.label),
            "{what}: cell {}",
            p.row
        );
        assert_eq!(p.probabilities.len(), q.probabilities.len());
        for (x, y) in p.probabilities.iter().zip(&q.probabilities) {
            worst = worst.max((x - y).abs());
        }
        worst = worst.max((p.confidence - q.confidence).abs());
    }
    eprintln!(
        "{what}: {} cells, identical labels, largest probability difference {worst:.3e}",
        a.len()
    );
    assert!(worst <= 1e-5, "{what}: probabilities differ by {worst}");
    worst
}

#[test]
fn log_normalised_values_annotate_exactly_like_counts() {
    let Some(dir) = layouts() else { return };
    let Some(model) = load_model() else { return };
    let counts_of = |name: &str| {
        let store = open(dir, name, "zarr");
        let reader = store.matrix(&ReadOptions::default()).unwrap();
        scored(&model, reader, true)
    };
    let counts = counts_of("counts");
    assert_eq!(counts.len(), 178);
    assert!(counts
        .iter()
        .all(|p| p.probabilities.len() == label_set().len()));

    // log1p(normalize_total(counts)) in X, read through Expm1Rows.
    let store = open(dir, "lognorm", "zarr");
    let reader = store.matrix(&ReadOptions::default()).unwrap();
    compare(
        "lognorm X through Expm1Rows",
        &counts,
        &scored(&model, Expm1Rows::new(reader), false),
    );

    // Normalised over all genes, then half of them kept: a different factor per cell.
    let half = counts_of("counts_half");
    for ext in extensions() {
        let store = open(dir, "lognorm_half", ext);
        let chosen = choose_matrix(&store, &MatrixChoice::Auto).unwrap();
        assert_eq!(chosen.transform, ValueTransform::Expm1);
        let rows = chosen.open(&store, &ReadOptions::default()).unwrap();
        compare(
            &format!("lognorm over all genes then subset ({ext}), chosen automatically"),
            &half,
            &scored(&model, rows, chosen.integer_counts()),
        );
    }

    // Scaled X with log-normalised values in raw: raw/X is found and used.
    let store = open(dir, "scaled_raw", "zarr");
    let chosen = choose_matrix(&store, &MatrixChoice::Auto).unwrap();
    assert_eq!(chosen.selection, MatrixSelection::RawX);
    let rows = chosen.open(&store, &ReadOptions::default()).unwrap();
    compare(
        "raw/X behind scaled X",
        &counts,
        &scored(&model, rows, chosen.integer_counts()),
    );
}
