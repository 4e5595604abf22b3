//! Every promised error path of the readers: typed, naming the store and the element.

mod io_support;

use instructcell::io::{AnnDataStore, ReadOptions, StoreProblem};
use instructcell::{CsrRows, Error, RowSource};
use io_support::fixture;

/// Opens X of `name` and reads every row; returns the first error.
fn read_all(name: &str, opts: &ReadOptions) -> Result<CsrRows, Error> {
    let mut m = AnnDataStore::open(fixture(name))?.matrix(opts)?;
    let mut rows = CsrRows::default();
    m.read_rows(0..m.n_rows(), &mut rows)?;
    Ok(rows)
}

/// Unpacks a store error, checking it names the right store and element.
fn store_problem(err: Error, store: &str, element: &str) -> StoreProblem {
    let text = err.to_string();
    match err {
        Error::Store {
            path,
            element: el,
            problem,
        } => {
            assert!(path.ends_with(store), "{text}");
            assert_eq!(el, element, "{text}");
            assert!(text.contains(store) && text.contains(element), "{text}");
            problem
        }
        other => panic!("expected a store error, got {other:?}"),
    }
}

#[test]
fn indptr_not_monotone() {
    let e = read_all("bad_indptr.zarr", &ReadOptions::default()).unwrap_err();
    match store_problem(e, "bad_indptr.zarr", "X/indptr") {
        StoreProblem::IndptrNotMonotone { position, .. } => assert_eq!(position, 4),
        p => panic!("{p:?}"),
    }
}

#[test]
fn column_index_out_of_range() {
    let e = read_all("bad_index.zarr", &ReadOptions::default()).unwrap_err();
    match store_problem(e, "bad_index.zarr", "X/indices") {
        StoreProblem::IndexOutOfRange {
            major,
            index,
            bound,
        } => {
            assert_eq!((major, index, bound), (5, 999, 5));
        }
        p => panic!("{p:?}"),
    }
}

#[test]
fn data_and_indices_lengths_disagree() {
    let e = read_all("bad_data_len.zarr", &ReadOptions::default()).unwrap_err();
    assert!(matches!(
        store_problem(e, "bad_data_len.zarr", "X"),
        StoreProblem::ShapeMismatch(_)
    ));
}

#[test]
fn shape_attribute_disagrees_with_var() {
    let e = read_all("bad_shape_attr.zarr", &ReadOptions::default()).unwrap_err();
    assert!(matches!(
        store_problem(e, "bad_shape_attr.zarr", "var"),
        StoreProblem::ShapeMismatch(_)
    ));
}

#[test]
fn var_index_too_short() {
    let e = read_all("bad_var_len.zarr", &ReadOptions::default()).unwrap_err();
    assert!(matches!(
        store_problem(e, "bad_var_len.zarr", "var"),
        StoreProblem::ShapeMismatch(_)
    ));
}

#[test]
fn wrong_encoding_type() {
    let e = read_all("bad_encoding.zarr", &ReadOptions::default()).unwrap_err();
    match store_problem(e, "bad_encoding.zarr", "X") {
        StoreProblem::WrongEncoding { found, .. } => assert_eq!(found, "coo_matrix"),
        p => panic!("{p:?}"),
    }
}

#[test]
fn missing_x_layer_raw_and_columns() {
    let e = read_all("no_x.zarr", &ReadOptions::default()).unwrap_err();
    assert_eq!(store_problem(e, "no_x.zarr", "X"), StoreProblem::Missing);
    let e = read_all("v2_csr.zarr", &ReadOptions::default().with_layer("nope")).unwrap_err();
    assert_eq!(
        store_problem(e, "v2_csr.zarr", "layers/nope"),
        StoreProblem::Missing
    );
    let e = read_all("v2_csc.zarr", &ReadOptions::default().with_raw()).unwrap_err();
    assert_eq!(
        store_problem(e, "v2_csc.zarr", "raw/X"),
        StoreProblem::Missing
    );
    let e = read_all(
        "v3_csr.zarr",
        &ReadOptions::default().with_gene_column("symbols"),
    )
    .unwrap_err();
    assert_eq!(
        store_problem(e, "v3_csr.zarr", "var/symbols"),
        StoreProblem::Missing
    );
    let store = AnnDataStore::open(fixture("v3_csr.zarr")).unwrap();
    let e = store.obs_column("nope").unwrap_err();
    assert_eq!(
        store_problem(e, "v3_csr.zarr", "obs/nope"),
        StoreProblem::Missing
    );
}

#[test]
fn layer_names_cannot_escape_the_store() {
    let e = read_all("v2_csr.zarr", &ReadOptions::default().with_layer("../X")).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

#[test]
fn negative_and_nan_values_are_refused_unless_asked() {
    for (name, cell) in [("bad_negative.zarr", 0), ("bad_nan.zarr", 1)] {
        let e = read_all(name, &ReadOptions::default()).unwrap_err();
        match store_problem(e, name, "X/data") {
            StoreProblem::InvalidValue { row, column, value } => {
                assert_eq!((row, column), (cell, cell), "{name}");
                assert!(value.is_nan() || value < 0.0);
            }
            p => panic!("{p:?}"),
        }
        let rows = read_all(name, &ReadOptions::default().with_check_values(false)).unwrap();
        assert_eq!(rows.n_rows(), 6);
    }
}

#[test]
fn not_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let e = AnnDataStore::open(tmp.path()).unwrap_err();
    assert!(matches!(
        store_problem(e, tmp.path().file_name().unwrap().to_str().unwrap(), ""),
        StoreProblem::UnknownFormat(_)
    ));
    let file = tmp.path().join("cells.h5ad");
    std::fs::write(&file, b"plain text").unwrap();
    let e = AnnDataStore::open(&file).unwrap_err();
    assert!(matches!(
        store_problem(e, "cells.h5ad", ""),
        StoreProblem::UnknownFormat(_)
    ));
    let e = AnnDataStore::open(tmp.path().join("absent.zarr")).unwrap_err();
    assert!(matches!(
        store_problem(e, "absent.zarr", ""),
        StoreProblem::UnknownFormat(_)
    ));
}

#[test]
fn rows_out_of_range_is_an_argument_error() {
    let mut m = AnnDataStore::open(fixture("v3_csr.zarr"))
        .unwrap()
        .matrix(&ReadOptions::default())
        .unwrap();
    let mut rows = CsrRows::default();
    assert!(matches!(
        m.read_rows(10..21, &mut rows),
        Err(Error::InvalidArgument(_))
    ));
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 5..3;
    assert!(matches!(
        m.read_rows(backwards, &mut rows),
        Err(Error::InvalidArgument(_))
    ));
}

#[cfg(not(feature = "h5ad"))]
#[test]
fn h5ad_needs_the_feature() {
    let e = AnnDataStore::open(fixture("csr_plain.h5ad")).unwrap_err();
    assert_eq!(
        store_problem(e, "csr_plain.h5ad", ""),
        StoreProblem::FeatureDisabled("h5ad")
    );
}

#[cfg(feature = "h5ad")]
#[test]
fn h5ad_negative_values() {
    let e = read_all("bad_negative.h5ad", &ReadOptions::default()).unwrap_err();
    assert!(matches!(
        store_problem(e, "bad_negative.h5ad", "X/data"),
        StoreProblem::InvalidValue {
            row: 0,
            column: 0,
            ..
        }
    ));
}
