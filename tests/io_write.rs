//! Writing: obs columns added to existing zarr stores, new stores from row blocks. Every
//! written store is read back here and, when INSTRUCTCELL_PYTHON is set, by Python anndata.

mod io_support;

use std::path::Path;

use instructcell::io::{
    add_obs_columns, AddColumnsOptions, AnnDataStore, AnnDataWriter, Column, DataFrame,
    ReadOptions, StoreFormat, StoreProblem, WriteOptions, ZarrVersion,
};
use instructcell::{CsrRows, Error, RowSource};
use io_support::{copy_tree, densify, expected, fixture, python_check};
use serde_json::json;

const N_OBS: usize = 20;

fn new_columns() -> Vec<(String, Column)> {
    let labels: Vec<String> = (0..N_OBS)
        .map(|i| ["T cell", "B cell", "NK"][i % 3].to_string())
        .collect();
    vec![
        ("predicted".into(), Column::categorical_from_labels(&labels)),
        (
            "response".into(),
            Column::String((0..N_OBS).map(|i| format!("text {i}")).collect()),
        ),
        (
            "confidence".into(),
            Column::Float((0..N_OBS).map(|i| i as f64 / 20.0).collect()),
        ),
    ]
}

fn spec_for_new_columns(reference: &Path) -> serde_json::Value {
    let labels: Vec<&str> = (0..N_OBS)
        .map(|i| ["T cell", "B cell", "NK"][i % 3])
        .collect();
    json!({
        "reference": reference,
        "obs": {
            "predicted": {"kind": "categorical", "values": labels},
            "response": {"kind": "string", "values": (0..N_OBS).map(|i| format!("text {i}")).collect::<Vec<_>>()},
            "confidence": {"kind": "float", "values": (0..N_OBS).map(|i| i as f64 / 20.0).collect::<Vec<_>>()},
        }
    })
}

/// A copy of a fixture in a temporary directory.
fn copy_of(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(name);
    copy_tree(&fixture(name), &root);
    (tmp, root)
}

fn no_temporaries(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.contains("-new-") || n.contains(".tmp-") || n.contains(".old-") || n.contains(".new-")
        })
        .collect();
    assert!(
        left.is_empty(),
        "temporaries left in {}: {left:?}",
        dir.display()
    );
}

#[test]
fn add_obs_columns_to_zarr_v2_v3_and_sharded() {
    for name in ["v2_csr.zarr", "v3_csr.zarr", "v3_sharded.zarr"] {
        let (_tmp, root) = copy_of(name);
        let before = AnnDataStore::open(&root).unwrap().obs().unwrap();
        add_obs_columns(&root, &new_columns(), &AddColumnsOptions::default()).unwrap();
        let store = AnnDataStore::open(&root).unwrap();
        let after = store.obs().unwrap();
        // Old columns untouched and first, new ones appended in order.
        assert_eq!(
            after.columns[..before.columns.len()],
            before.columns[..],
            "{name}"
        );
        assert_eq!(
            after.columns[before.columns.len()..],
            new_columns()[..],
            "{name}"
        );
        assert_eq!(after.index, before.index);
        let mut x = store.matrix(&ReadOptions::default()).unwrap();
        assert_eq!(densify(&mut x, 7), expected().x);
        no_temporaries(&root.join("obs"));
        // The consolidated metadata knows the new columns.
        let consolidated = if name.starts_with("v2") {
            std::fs::read_to_string(root.join(".zmetadata")).unwrap()
        } else {
            std::fs::read_to_string(root.join("zarr.json")).unwrap()
        };
        assert!(consolidated.contains("obs/predicted/codes"), "{name}");
        assert!(consolidated.contains("confidence"), "{name}");
        python_check(&root, &spec_for_new_columns(&fixture(name)));
    }
}

#[test]
fn add_obs_columns_refuses_existing_unless_overwrite() {
    let (_tmp, root) = copy_of("v2_csr.zarr");
    let cols = vec![("barcode".to_string(), Column::Float(vec![1.0; N_OBS]))];
    let e = add_obs_columns(&root, &cols, &AddColumnsOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::Store { problem: StoreProblem::AlreadyExists, ref element, .. } if element == "obs/barcode"),
        "{e:?}"
    );
    // Nothing changed.
    assert!(matches!(
        AnnDataStore::open(&root)
            .unwrap()
            .obs_column("barcode")
            .unwrap(),
        Column::String(_)
    ));
    add_obs_columns(
        &root,
        &cols,
        &AddColumnsOptions::default().with_overwrite(true),
    )
    .unwrap();
    let store = AnnDataStore::open(&root).unwrap();
    assert_eq!(
        store.obs_column("barcode").unwrap(),
        Column::Float(vec![1.0; N_OBS])
    );
    // Replaced in place: the column keeps its position.
    assert_eq!(store.obs_column_names().unwrap()[2], "barcode");
    no_temporaries(&root.join("obs"));
    python_check(
        &root,
        &json!({"obs": {"barcode": {"kind": "float", "values": vec![1.0; N_OBS]}}}),
    );
}

#[test]
fn add_obs_columns_argument_errors_leave_the_store_alone() {
    let (_tmp, root) = copy_of("v3_csr.zarr");
    let zarr_json = std::fs::read(root.join("zarr.json")).unwrap();
    let opts = AddColumnsOptions::default();
    let short = vec![("x".to_string(), Column::Float(vec![1.0; 3]))];
    assert!(matches!(
        add_obs_columns(&root, &short, &opts),
        Err(Error::Shape(_))
    ));
    let bad_name = vec![("a/b".to_string(), Column::Float(vec![1.0; N_OBS]))];
    assert!(matches!(
        add_obs_columns(&root, &bad_name, &opts),
        Err(Error::InvalidArgument(_))
    ));
    let index = vec![("_index".to_string(), Column::Float(vec![1.0; N_OBS]))];
    assert!(add_obs_columns(&root, &index, &opts).is_err());
    let bad_code = vec![(
        "c".to_string(),
        Column::Categorical {
            codes: vec![5; N_OBS],
            categories: vec!["a".into()],
            ordered: false,
        },
    )];
    assert!(matches!(
        add_obs_columns(&root, &bad_code, &opts),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(std::fs::read(root.join("zarr.json")).unwrap(), zarr_json);
    assert!(!root.join("obs/x").exists() && !root.join("obs/c").exists());
}

// `.h5ad` column additions (in place and into a copy): tests/io_writeback.rs.

/// Writes the expected X as blocks of `block` rows.
fn write_store(path: &Path, opts: &WriteOptions, block: usize, obs: &DataFrame) -> Vec<String> {
    let x = expected().x;
    let genes: Vec<String> = (0..x[0].len()).map(|i| format!("MODEL{i}")).collect();
    let mut w = AnnDataWriter::create(path, &genes, opts).unwrap();
    for chunk in x.chunks(block) {
        let mut rows = CsrRows::new(genes.len());
        for r in chunk {
            let (idx, val): (Vec<u32>, Vec<f32>) = r
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(c, &v)| (c as u32, v))
                .unzip();
            rows.push_row(&idx, &val).unwrap();
        }
        w.append(&rows).unwrap();
    }
    assert_eq!(w.n_rows(), x.len());
    w.finish(obs).unwrap();
    genes
}

fn generated_obs() -> DataFrame {
    let conditions: Vec<String> = (0..N_OBS)
        .map(|i| ["ctrl", "stim"][i % 2].to_string())
        .collect();
    DataFrame::new(
        (0..N_OBS).map(|i| format!("gen{i}")).collect(),
        vec![
            (
                "condition".into(),
                Column::categorical_from_labels(&conditions),
            ),
            (
                "prompt".into(),
                Column::String((0..N_OBS).map(|i| format!("p{i}")).collect()),
            ),
            (
                "log_library".into(),
                Column::Float((0..N_OBS).map(|i| i as f64 * 0.5).collect()),
            ),
            ("seed".into(), Column::Int((0..N_OBS as i64).collect())),
            (
                "kept".into(),
                Column::Bool((0..N_OBS).map(|i| i % 4 != 0).collect()),
            ),
            (
                "batch".into(),
                Column::NullableInt((0..N_OBS as i64).map(|i| (i != 3).then_some(i)).collect()),
            ),
            (
                "flag".into(),
                Column::NullableBool((0..N_OBS).map(|i| (i != 2).then_some(i % 2 == 0)).collect()),
            ),
            (
                "tag".into(),
                Column::NullableString(
                    (0..N_OBS)
                        .map(|i| (i != 1).then(|| format!("t{i}")))
                        .collect(),
                ),
            ),
        ],
    )
}

fn generated_spec(genes: &[String]) -> serde_json::Value {
    let n = N_OBS as i64;
    json!({
        "X": expected().x,
        "obs_names": (0..N_OBS).map(|i| format!("gen{i}")).collect::<Vec<_>>(),
        "var_names": genes,
        "obs": {
            "condition": {"kind": "categorical", "values": (0..N_OBS).map(|i| ["ctrl", "stim"][i % 2]).collect::<Vec<_>>()},
            "prompt": {"kind": "string", "values": (0..N_OBS).map(|i| format!("p{i}")).collect::<Vec<_>>()},
            "log_library": {"kind": "float", "values": (0..N_OBS).map(|i| i as f64 * 0.5).collect::<Vec<_>>()},
            "seed": {"kind": "int", "values": (0..n).collect::<Vec<_>>()},
            "kept": {"kind": "bool", "values": (0..N_OBS).map(|i| i % 4 != 0).collect::<Vec<_>>()},
            "batch": {"kind": "nullable_int", "values": (0..n).map(|i| (i != 3).then_some(i)).collect::<Vec<_>>()},
            "flag": {"kind": "nullable_bool", "values": (0..N_OBS).map(|i| (i != 2).then_some(i % 2 == 0)).collect::<Vec<_>>()},
            "tag": {"kind": "nullable_string", "values": (0..N_OBS).map(|i| (i != 1).then(|| format!("t{i}"))).collect::<Vec<_>>()},
        }
    })
}

fn formats() -> Vec<(StoreFormat, &'static str)> {
    let mut f = vec![
        (StoreFormat::Zarr(ZarrVersion::V2), "out_v2.zarr"),
        (StoreFormat::Zarr(ZarrVersion::V3), "out_v3.zarr"),
    ];
    if cfg!(feature = "h5ad") {
        f.push((StoreFormat::H5ad, "out.h5ad"));
    }
    f
}

#[test]
fn new_store_round_trip() {
    for (format, name) in formats() {
        for (chunk_len, block) in [(5, 3), (1 << 16, 20)] {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join(name);
            let opts = WriteOptions::default()
                .with_format(format)
                .with_chunk_len(chunk_len);
            let genes = write_store(&path, &opts, block, &generated_obs());
            let store = AnnDataStore::open(&path).unwrap();
            assert_eq!(store.format(), format);
            assert_eq!(store.obs().unwrap(), generated_obs(), "{name}");
            assert_eq!(store.var_names().unwrap(), genes);
            let mut m = store.matrix(&ReadOptions::default()).unwrap();
            assert_eq!(m.gene_names(), genes.as_slice());
            assert_eq!(
                densify(&mut m, 6),
                expected().x,
                "{name}, chunks of {chunk_len}"
            );
            no_temporaries(tmp.path());
            python_check(&path, &generated_spec(&genes));
        }
    }
}

#[test]
fn new_store_refuses_to_overwrite_unless_asked() {
    for (format, name) in formats() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(name);
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"user data").unwrap();
        let opts = WriteOptions::default().with_format(format);
        let e = AnnDataWriter::create(&path, &["G".to_string()], &opts).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Store {
                    problem: StoreProblem::AlreadyExists,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(path.join("keep").exists());
        write_store(
            &path,
            &opts.clone().with_overwrite(true),
            4,
            &DataFrame::default(),
        );
        let store = AnnDataStore::open(&path).unwrap();
        // An empty obs index gets anndata's default names.
        assert_eq!(store.obs_names().unwrap()[..3], ["0", "1", "2"]);
        assert!(!path.join("keep").exists());
        no_temporaries(tmp.path());
    }
}

#[test]
fn dropped_writer_leaves_nothing_behind() {
    for (format, name) in formats() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(name);
        let opts = WriteOptions::default().with_format(format);
        let mut w = AnnDataWriter::create(&path, &["A".into(), "B".into()], &opts).unwrap();
        let mut rows = CsrRows::new(2);
        rows.push_row(&[1], &[2.0]).unwrap();
        w.append(&rows).unwrap();
        drop(w);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "{name}");
    }
}

#[test]
fn writer_checks_blocks_and_obs() {
    for (format, name) in formats() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(name);
        let opts = WriteOptions::default().with_format(format);
        let mut w = AnnDataWriter::create(&path, &["A".into(), "B".into()], &opts).unwrap();
        let mut wrong_width = CsrRows::new(3);
        wrong_width.push_row(&[2], &[1.0]).unwrap();
        assert!(matches!(w.append(&wrong_width), Err(Error::Shape(_))));
        let mut rows = CsrRows::new(2);
        rows.push_row(&[0, 1], &[1.0, 2.0]).unwrap();
        rows.push_row(&[], &[]).unwrap();
        w.append(&rows).unwrap();
        let obs = DataFrame::new(vec!["only one".into()], Vec::new());
        assert!(matches!(w.finish(&obs), Err(Error::Shape(_))));
        assert!(!path.exists(), "{name}: a failed finish publishes nothing");
    }
}

#[test]
fn rust_written_store_streams_into_a_reader_of_another_format() {
    // Read a Python-written store, write it back out through the writer in another version.
    let tmp = tempfile::tempdir().unwrap();
    let mut src = AnnDataStore::open(fixture("v2_csc.zarr"))
        .unwrap()
        .matrix(&ReadOptions::default())
        .unwrap();
    let path = tmp.path().join("copy.zarr");
    let mut w = AnnDataWriter::create(&path, src.gene_names(), &WriteOptions::default()).unwrap();
    let mut rows = CsrRows::default();
    for start in (0..src.n_rows()).step_by(6) {
        src.read_rows(start..(start + 6).min(src.n_rows()), &mut rows)
            .unwrap();
        w.append(&rows).unwrap();
    }
    w.finish(&DataFrame::default()).unwrap();
    let mut back = instructcell::io::open_matrix(&path, &ReadOptions::default()).unwrap();
    assert_eq!(densify(&mut back, 20), expected().x);
}
