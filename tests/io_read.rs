//! Reading the Python-anndata-written fixtures in tests/data/fixtures (see make_fixtures.py).

mod io_support;

use instructcell::io::{
    AnnDataStore, Column, MatrixEncoding, ReadOptions, StoreFormat, ZarrVersion,
};
use instructcell::{CsrRows, RowSource};
use io_support::{copy_tree, densify, expected, fixture};

const N_OBS: usize = 20;
const N_VARS: usize = 12;

fn genes(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Every encoding of X gives the same matrix, whatever the block size.
fn check_x(name: &str, format: StoreFormat, encoding: MatrixEncoding) {
    let store = AnnDataStore::open(fixture(name)).unwrap();
    assert_eq!(store.format(), format, "{name}");
    assert_eq!(store.n_obs().unwrap(), N_OBS);
    assert_eq!(store.n_vars().unwrap(), N_VARS);
    let mut m = store.matrix(&ReadOptions::default()).unwrap();
    assert_eq!(m.encoding(), encoding, "{name}");
    assert_eq!((m.n_rows(), m.n_cols()), (N_OBS, N_VARS));
    assert_eq!(m.gene_names(), genes("GENE", N_VARS).as_slice());
    let want = expected();
    for block in [1, 3, 7, 20] {
        assert_eq!(densify(&mut m, block), want.x, "{name}, blocks of {block}");
    }
    // Cells without counts stay as empty rows.
    let mut rows = CsrRows::default();
    for &z in &want.zero_cells {
        m.read_rows(z..z + 1, &mut rows).unwrap();
        assert_eq!(rows.n_rows(), 1);
        assert_eq!(rows.nnz(), 0, "{name}: cell {z}");
    }
    // An empty range is a valid, empty block.
    m.read_rows(5..5, &mut rows).unwrap();
    assert_eq!((rows.n_rows(), rows.nnz()), (0, 0));
}

#[test]
fn zarr_v2_csr_int32_float32() {
    check_x(
        "v2_csr.zarr",
        StoreFormat::Zarr(ZarrVersion::V2),
        MatrixEncoding::Csr,
    );
}

#[test]
fn zarr_v3_csr_int32_float32() {
    check_x(
        "v3_csr.zarr",
        StoreFormat::Zarr(ZarrVersion::V3),
        MatrixEncoding::Csr,
    );
}

#[test]
fn zarr_v3_sharded_csr() {
    check_x(
        "v3_sharded.zarr",
        StoreFormat::Zarr(ZarrVersion::V3),
        MatrixEncoding::Csr,
    );
}

#[test]
fn zarr_v2_csr_int64_indices_float64_data() {
    check_x(
        "v2_csr_i64_f64.zarr",
        StoreFormat::Zarr(ZarrVersion::V2),
        MatrixEncoding::Csr,
    );
}

#[test]
fn zarr_v3_csr_unsigned_indices_integer_data() {
    check_x(
        "v3_csr_uint_int.zarr",
        StoreFormat::Zarr(ZarrVersion::V3),
        MatrixEncoding::Csr,
    );
}

#[test]
fn zarr_v2_csc_converted_while_streaming() {
    check_x(
        "v2_csc.zarr",
        StoreFormat::Zarr(ZarrVersion::V2),
        MatrixEncoding::Csc,
    );
}

#[test]
fn zarr_v3_csc_with_tiny_scan_window() {
    let store = AnnDataStore::open(fixture("v3_csc.zarr")).unwrap();
    for window in [1, 5, 1000] {
        let mut m = store
            .matrix(&ReadOptions::default().with_csc_scan_window(window))
            .unwrap();
        assert_eq!(densify(&mut m, 6), expected().x, "window {window}");
    }
}

#[test]
fn zarr_v2_and_v3_dense() {
    check_x(
        "v2_dense.zarr",
        StoreFormat::Zarr(ZarrVersion::V2),
        MatrixEncoding::Dense,
    );
    check_x(
        "v3_dense.zarr",
        StoreFormat::Zarr(ZarrVersion::V3),
        MatrixEncoding::Dense,
    );
}

#[test]
fn layers_and_raw() {
    for name in ["v2_csr.zarr", "v3_csr.zarr", "v3_sharded.zarr"] {
        let store = AnnDataStore::open(fixture(name)).unwrap();
        assert_eq!(store.layers().unwrap(), vec!["counts".to_string()]);
        assert!(store.has_raw().unwrap());
        let mut counts = store
            .matrix(&ReadOptions::default().with_layer("counts"))
            .unwrap();
        assert_eq!(counts.element(), "layers/counts");
        assert_eq!(
            densify(&mut counts, 8),
            expected().x,
            "{name} layers/counts"
        );
        let mut raw = store.matrix(&ReadOptions::default().with_raw()).unwrap();
        assert_eq!(raw.gene_names(), genes("RAW", 14).as_slice());
        assert_eq!(densify(&mut raw, 8), expected().raw_x, "{name} raw/X");
        assert_eq!(store.raw_var().unwrap().index, genes("RAW", 14));
    }
}

#[test]
fn gene_names_from_a_var_column() {
    for name in ["v2_csr.zarr", "v3_csr.zarr", "v2_csc.zarr"] {
        let m = AnnDataStore::open(fixture(name))
            .unwrap()
            .matrix(&ReadOptions::default().with_gene_column("gene_ids"))
            .unwrap();
        let want: Vec<String> = (0..N_VARS).map(|i| format!("ENSG{i:05}")).collect();
        assert_eq!(m.gene_names(), want.as_slice());
    }
}

/// The obs columns of the full fixture, as make_fixtures.py builds them.
pub fn check_obs(store: &AnnDataStore) {
    let obs = store.obs().unwrap();
    let x = expected().x;
    assert_eq!(obs.index, genes("cell", N_OBS));
    let names: Vec<&str> = obs.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "cell_type",
            "stage",
            "barcode",
            "n_counts",
            "n_genes",
            "f32",
            "u16",
            "is_doublet",
            "batch_int",
            "qc_pass",
            "note"
        ]
    );
    let mut types = vec!["T", "B", "NK", ""];
    for _ in 0..4 {
        types.extend(["T", "B", "NK", "T"]);
    }
    match obs.column("cell_type").unwrap() {
        Column::Categorical {
            codes,
            categories,
            ordered,
        } => {
            assert_eq!(categories, &["B", "NK", "T"]);
            assert!(!ordered);
            assert_eq!(codes[3], -1, "missing category");
            let labels: Vec<&str> = codes
                .iter()
                .map(|&c| {
                    if c < 0 {
                        ""
                    } else {
                        categories[c as usize].as_str()
                    }
                })
                .collect();
            assert_eq!(labels, types);
        }
        other => panic!("cell_type decoded as {other:?}"),
    }
    match obs.column("stage").unwrap() {
        Column::Categorical {
            codes,
            categories,
            ordered,
        } => {
            assert!(ordered);
            assert_eq!(categories, &["early", "mid", "late"]);
            assert_eq!(codes[..4], [0, 1, 2, 0]);
        }
        other => panic!("stage decoded as {other:?}"),
    }
    let barcodes: Vec<String> = (0..N_OBS).map(|i| format!("BC{i:03}-1")).collect();
    assert_eq!(obs.column("barcode"), Some(&Column::String(barcodes)));
    let sums: Vec<f64> = x
        .iter()
        .map(|r| r.iter().map(|&v| v as f64).sum())
        .collect();
    assert_eq!(obs.column("n_counts"), Some(&Column::Float(sums)));
    let n_genes: Vec<i64> = x
        .iter()
        .map(|r| r.iter().filter(|&&v| v > 0.0).count() as i64)
        .collect();
    assert_eq!(obs.column("n_genes"), Some(&Column::Int(n_genes)));
    match obs.column("f32").unwrap() {
        Column::Float(v) => {
            assert_eq!(v.len(), N_OBS);
            assert!((v[0] + 1.0).abs() < 1e-6 && (v[N_OBS - 1] - 1.0).abs() < 1e-6);
        }
        other => panic!("f32 decoded as {other:?}"),
    }
    assert_eq!(
        obs.column("u16"),
        Some(&Column::UInt((0..N_OBS as u64).collect()))
    );
    assert_eq!(
        obs.column("is_doublet"),
        Some(&Column::Bool((0..N_OBS).map(|i| i % 5 == 0).collect()))
    );
    assert_eq!(
        obs.column("batch_int"),
        Some(&Column::NullableInt(
            (0..N_OBS as i64)
                .map(|i| (i != 4).then_some(i % 3))
                .collect()
        ))
    );
    assert_eq!(
        obs.column("qc_pass"),
        Some(&Column::NullableBool(
            (0..N_OBS).map(|i| (i != 5).then_some(i % 2 == 0)).collect()
        ))
    );
    assert_eq!(
        obs.column("note"),
        Some(&Column::NullableString(
            (0..N_OBS)
                .map(|i| (i != 6).then(|| format!("n{i}")))
                .collect()
        ))
    );
    assert_eq!(
        store.obs_column("barcode").unwrap(),
        *obs.column("barcode").unwrap()
    );
    assert_eq!(store.obs_column_names().unwrap(), names);
}

fn check_var(store: &AnnDataStore) {
    let var = store.var().unwrap();
    assert_eq!(var.index, genes("GENE", N_VARS));
    assert_eq!(
        var.column("highly_variable"),
        Some(&Column::Bool((0..N_VARS).map(|i| i % 2 == 0).collect()))
    );
    let ft = var.column("feature_types").unwrap().to_strings();
    assert!(ft.iter().all(|s| s.as_deref() == Some("Gene Expression")));
    assert_eq!(
        store.var_column("gene_ids").unwrap().to_strings()[3].as_deref(),
        Some("ENSG00003")
    );
}

#[test]
fn obs_and_var_every_column_kind() {
    for name in ["v2_csr.zarr", "v3_csr.zarr", "v3_sharded.zarr"] {
        let store = AnnDataStore::open(fixture(name)).unwrap();
        check_obs(&store);
        check_var(&store);
    }
}

/// Overwrites the chunk files at `keys` with garbage.
fn corrupt(dir: &std::path::Path, keys: &[String]) {
    for k in keys {
        let f = dir.join(k);
        assert!(f.is_file(), "{} exists", f.display());
        std::fs::write(&f, b"not a compressed chunk").unwrap();
    }
}

/// Row blocks read only the chunks that hold them: corrupting every other chunk of X must not
/// disturb reading the first rows (and must break reading all of them).
#[test]
fn reads_only_the_chunks_a_block_needs() {
    for (name, key) in [("v2_csr.zarr", "{}" as &str), ("v3_csr.zarr", "c/{}")] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(name);
        copy_tree(&fixture(name), &root);
        let x = expected().x;
        let rows = 2;
        let nnz_first: usize = x[..rows]
            .iter()
            .map(|r| r.iter().filter(|&&v| v != 0.0).count())
            .sum();
        let total: usize = x
            .iter()
            .map(|r| r.iter().filter(|&&v| v != 0.0).count())
            .sum();
        // X/data and X/indices use 8-element chunks (make_fixtures.py).
        let last_needed = (nnz_first.max(1) - 1) / 8;
        let n_chunks = total.div_ceil(8);
        let bad: Vec<String> = (last_needed + 1..n_chunks)
            .map(|c| key.replace("{}", &c.to_string()))
            .collect();
        assert!(!bad.is_empty());
        corrupt(&root.join("X/data"), &bad);
        corrupt(&root.join("X/indices"), &bad);
        let store = AnnDataStore::open(&root).unwrap();
        let mut m = store.matrix(&ReadOptions::default()).unwrap();
        let mut block = CsrRows::default();
        m.read_rows(0..rows, &mut block).unwrap();
        assert_eq!(block.nnz(), nnz_first);
        assert!(
            m.read_rows(0..N_OBS, &mut block).is_err(),
            "{name}: corrupted chunks are read"
        );
    }
}

#[cfg(feature = "h5ad")]
mod h5ad {
    use super::*;

    #[test]
    fn h5ad_gzip_with_every_column_kind() {
        check_x("csr_gzip.h5ad", StoreFormat::H5ad, MatrixEncoding::Csr);
        let store = AnnDataStore::open(fixture("csr_gzip.h5ad")).unwrap();
        check_obs(&store);
        check_var(&store);
        let mut raw = store.matrix(&ReadOptions::default().with_raw()).unwrap();
        assert_eq!(densify(&mut raw, 8), expected().raw_x);
        let mut counts = store
            .matrix(&ReadOptions::default().with_layer("counts"))
            .unwrap();
        assert_eq!(densify(&mut counts, 8), expected().x);
    }

    #[test]
    fn h5ad_lzf_uncompressed_and_int64() {
        check_x("csr_lzf.h5ad", StoreFormat::H5ad, MatrixEncoding::Csr);
        check_x("csr_plain.h5ad", StoreFormat::H5ad, MatrixEncoding::Csr);
        check_x("csr_i64_f64.h5ad", StoreFormat::H5ad, MatrixEncoding::Csr);
    }

    #[test]
    fn h5ad_csc_and_dense() {
        check_x("csc.h5ad", StoreFormat::H5ad, MatrixEncoding::Csc);
        check_x("dense.h5ad", StoreFormat::H5ad, MatrixEncoding::Dense);
    }
}
