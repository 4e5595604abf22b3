//! 10x Genomics Matrix Market directories (written with scipy, checked with scanpy).

mod io_support;

use instructcell::io::{StoreProblem, TenxGeneNames, TenxMatrix, TenxOptions};
use instructcell::{Error, RowSource};
use io_support::{copy_tree, densify, expected, fixture};

#[test]
fn cellranger_v3_gzipped_and_v2_plain() {
    for dir in ["tenx_v3", "tenx_v2"] {
        let mut m = TenxMatrix::open(fixture(dir), &TenxOptions::default()).unwrap();
        assert_eq!((m.n_rows(), m.n_cols()), (20, 12));
        assert_eq!(m.gene_names()[3], "GENE3");
        assert_eq!(m.gene_ids()[3], "ENSG00003");
        assert_eq!(m.barcodes()[0], "BC000-1");
        for block in [1, 7, 20] {
            assert_eq!(densify(&mut m, block), expected().x, "{dir}");
        }
        let ids = TenxMatrix::open(
            fixture(dir),
            &TenxOptions::default().with_gene_names(TenxGeneNames::Id),
        )
        .unwrap();
        assert_eq!(ids.gene_names()[0], "ENSG00000");
    }
}

fn broken(edit: impl FnOnce(&std::path::Path)) -> Error {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tenx");
    copy_tree(&fixture("tenx_v2"), &dir);
    edit(&dir);
    TenxMatrix::open(&dir, &TenxOptions::default()).unwrap_err()
}

fn problem(e: Error) -> StoreProblem {
    match e {
        Error::Store { problem, .. } => problem,
        other => panic!("{other:?}"),
    }
}

#[test]
fn tenx_errors() {
    let e = broken(|d| std::fs::remove_file(d.join("barcodes.tsv")).unwrap());
    assert_eq!(problem(e), StoreProblem::Missing);
    let e = broken(|d| {
        let text = std::fs::read_to_string(d.join("barcodes.tsv")).unwrap();
        std::fs::write(d.join("barcodes.tsv"), &text[..text.len() / 2]).unwrap();
    });
    assert!(matches!(problem(e), StoreProblem::ShapeMismatch(_)));
    let edit_mtx = |from: &'static str, to: &'static str| {
        move |d: &std::path::Path| {
            let text = std::fs::read_to_string(d.join("matrix.mtx")).unwrap();
            let i = text.rfind(from).unwrap();
            let text = format!("{}{to}{}", &text[..i], &text[i + from.len()..]);
            std::fs::write(d.join("matrix.mtx"), text).unwrap();
        }
    };
    // The last triplet is "gene cell value" with cell 20: point it at cell 21, then make it negative.
    let last = |d: &std::path::Path| {
        let text = std::fs::read_to_string(d.join("matrix.mtx")).unwrap();
        text.lines().last().unwrap().to_string()
    };
    let e = broken(|d| {
        let l = last(d);
        let f: Vec<&str> = l.split(' ').collect();
        let text = std::fs::read_to_string(d.join("matrix.mtx")).unwrap();
        let text = text.replace(&l, &format!("{} 21 {}", f[0], f[2]));
        std::fs::write(d.join("matrix.mtx"), text).unwrap();
    });
    assert!(matches!(
        problem(e),
        StoreProblem::IndexOutOfRange {
            index: 20,
            bound: 20,
            ..
        }
    ));
    let e = broken(|d| {
        let l = last(d);
        let f: Vec<&str> = l.split(' ').collect();
        let text = std::fs::read_to_string(d.join("matrix.mtx")).unwrap();
        let text = text.replace(&l, &format!("{} {} -{}", f[0], f[1], f[2]));
        std::fs::write(d.join("matrix.mtx"), text).unwrap();
    });
    assert!(matches!(
        problem(e),
        StoreProblem::InvalidValue { row: 19, .. }
    ));
    let e = broken(edit_mtx(
        "coordinate integer general",
        "array integer general",
    ));
    assert!(matches!(problem(e), StoreProblem::Unsupported(_)));
    let e = TenxMatrix::open(fixture("v2_csr.zarr/X"), &TenxOptions::default()).unwrap_err();
    assert_eq!(problem(e), StoreProblem::Missing);
}
