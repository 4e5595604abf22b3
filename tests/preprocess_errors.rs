//! Every bad-cell case under every policy, and the shape and option errors.

mod preprocess_support;

use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
use instructcell::preprocess::{
    BadCellPolicy, Batcher, CellIssue, CellProblem, PreprocessOptions, Preprocessor,
};
use instructcell::{CsrRows, Error};
use preprocess_support::*;

/// Genes G0..G3; the dataset adds X (column 4) outside the vocabulary.
fn setup() -> (GeneAlignment, Vec<String>) {
    let vocab = names("G", 4);
    let mut data = names("G", 4);
    data.push("X".into());
    let al = GeneAlignment::new(
        &data,
        &vocab,
        &AlignOptions::default().with_min_overlap(MinOverlap::Count(1)),
    )
    .unwrap();
    (al, data)
}

fn good() -> Row {
    (vec![0, 2], vec![1.0, 3.0])
}

/// Each bad row with the problem it must be reported as.
fn bad_cases() -> Vec<(Row, CellProblem)> {
    vec![
        ((vec![], vec![]), CellProblem::Empty),
        ((vec![1, 3], vec![0.0, 0.0]), CellProblem::Empty),
        ((vec![4], vec![7.0]), CellProblem::EmptyAfterAlignment),
        (
            (vec![0, 1], vec![1.0, f32::NAN]),
            CellProblem::NonFinite {
                column: 1,
                value: f32::NAN,
            },
        ),
        (
            (vec![0, 3], vec![1.0, f32::INFINITY]),
            CellProblem::NonFinite {
                column: 3,
                value: f32::INFINITY,
            },
        ),
        (
            (vec![4, 0], vec![f32::NEG_INFINITY, 1.0]),
            CellProblem::NonFinite {
                column: 4,
                value: f32::NEG_INFINITY,
            },
        ),
        (
            (vec![0, 2], vec![1.0, -2.0]),
            CellProblem::Negative {
                column: 2,
                value: -2.0,
            },
        ),
        (
            (vec![2, 4], vec![1.0, 0.5]),
            CellProblem::NonInteger {
                column: 4,
                value: 0.5,
            },
        ),
    ]
}

fn same(a: &CellProblem, b: &CellProblem) -> bool {
    // NaN != NaN, so compare NaN problems by kind and column.
    match (a, b) {
        (
            CellProblem::NonFinite {
                column: x,
                value: v,
            },
            CellProblem::NonFinite {
                column: y,
                value: w,
            },
        ) => x == y && (v == w || (v.is_nan() && w.is_nan())),
        _ => a == b,
    }
}

#[test]
fn each_bad_cell_is_an_error_naming_it() {
    let (al, data) = setup();
    for (bad, problem) in bad_cases() {
        let rows = vec![good(), good(), bad, good()];
        let source = RowsSource {
            rows,
            n_cols: 5,
            genes: data.clone(),
        };
        let cells: Vec<String> = (0..4).map(|i| format!("cell-{i}")).collect();
        let mut b = Batcher::new(source, al.clone(), PreprocessOptions::default())
            .unwrap()
            .with_cell_names(cells)
            .unwrap();
        let err = b.next_batch().unwrap().unwrap_err();
        match &err {
            Error::BadCell {
                row: 2,
                cell: Some(name),
                problem: p,
            } => {
                assert_eq!(name, "cell-2");
                assert!(same(p, &problem), "{p:?} vs {problem:?}");
            }
            e => panic!("unexpected {e}"),
        }
        let text = err.to_string();
        assert!(text.starts_with("cell 2 (\"cell-2\"): "), "{text}");
        // The batcher stops after an error.
        assert!(b.next_batch().is_none());
    }
}

#[test]
fn without_names_the_error_gives_the_row_and_the_first_bad_row_wins() {
    let (al, _) = setup();
    let rows = vec![good(), (vec![4], vec![1.0]), (vec![], vec![])];
    let mut p = Preprocessor::new(al, PreprocessOptions::default()).unwrap();
    let err = p.process(&block(&rows, 5), 10, None).unwrap_err();
    assert!(matches!(
        err,
        Error::BadCell {
            row: 11,
            cell: None,
            problem: CellProblem::EmptyAfterAlignment
        }
    ));
    assert_eq!(
        err.to_string(),
        "cell 11: has counts only in genes outside the vocabulary"
    );
}

#[test]
fn skip_policy_leaves_bad_cells_out_and_reports_them() {
    let (al, data) = setup();
    let cases = bad_cases();
    // Interleave good and bad cells, in blocks of 3 so that skips straddle blocks.
    let mut rows = Vec::new();
    let mut expect_issues = Vec::new();
    let mut expect_rows = Vec::new();
    for (bad, problem) in &cases {
        expect_rows.push(rows.len());
        rows.push(good());
        expect_issues.push((rows.len(), *problem));
        rows.push(bad.clone());
    }
    let n = rows.len();
    let reference = {
        let mut p = Preprocessor::new(al.clone(), PreprocessOptions::default()).unwrap();
        p.process(&block(&[good()], 5), 0, None)
            .unwrap()
            .cell(0)
            .to_vec()
    };
    let source = RowsSource {
        rows,
        n_cols: 5,
        genes: data,
    };
    let o = PreprocessOptions::default()
        .with_bad_cells(BadCellPolicy::Skip)
        .with_batch_size(3);
    let mut b = Batcher::new(source, al, o).unwrap();
    let (mut got_rows, mut got_issues) = (Vec::new(), Vec::new());
    b.for_each_batch(|batch| {
        assert_eq!(batch.n_cells(), batch.rows().len());
        assert_eq!(batch.as_slice().len(), batch.n_cells() * 4);
        for i in 0..batch.n_cells() {
            assert_eq!(batch.cell(i), &reference[..]);
        }
        got_rows.extend_from_slice(batch.rows());
        got_issues.extend(
            batch
                .issues()
                .iter()
                .map(|&CellIssue { row, problem, .. }| (row, problem)),
        );
        Ok(())
    })
    .unwrap();
    assert_eq!(got_rows, expect_rows);
    assert_eq!(got_issues.len(), expect_issues.len());
    for (g, w) in got_issues.iter().zip(&expect_issues) {
        assert_eq!(g.0, w.0);
        assert!(same(&g.1, &w.1));
    }
    assert_eq!(b.remaining_rows(), n..n);
}

#[test]
fn zero_fill_policy_keeps_bad_cells_as_zero_rows() {
    let (al, _) = setup();
    let o = PreprocessOptions::default().with_bad_cells(BadCellPolicy::ZeroFill);
    let mut p = Preprocessor::new(al, o).unwrap();
    for (bad, problem) in bad_cases() {
        // A dense bad cell first, so the reused row would show stale values if not cleared.
        let rows = vec![(vec![0, 1, 2, 3], vec![1.0; 4]), good()];
        p.process(&block(&rows, 5), 0, None).unwrap();
        let rows = vec![bad, good()];
        let batch = p.process(&block(&rows, 5), 0, None).unwrap();
        assert_eq!(batch.rows(), &[0, 1]);
        assert!(batch.cell(0).iter().all(|&v| v == 0.0), "{problem:?}");
        assert!(batch.cell(1).iter().any(|&v| v != 0.0));
        assert_eq!(batch.issues().len(), 1);
        assert!(same(&batch.issues()[0].problem, &problem));
    }
}

#[test]
fn shape_errors() {
    let (al, data) = setup();
    let o = PreprocessOptions::default();
    // A block of the wrong width.
    let mut p = Preprocessor::new(al.clone(), o.clone()).unwrap();
    assert!(matches!(
        p.process(&block(&[good()], 4), 0, None),
        Err(Error::Shape(_))
    ));
    // A malformed block: column out of range.
    let mut bad = CsrRows::new(5);
    bad.indices.push(9);
    bad.data.push(1.0);
    bad.indptr.push(1);
    assert!(matches!(p.process(&bad, 0, None), Err(Error::Shape(_))));
    // A source of the wrong width.
    let source = RowsSource {
        rows: vec![good()],
        n_cols: 6,
        genes: names("G", 6),
    };
    assert!(matches!(
        Batcher::new(source, al.clone(), o.clone()),
        Err(Error::Shape(_))
    ));
    let source = || RowsSource {
        rows: vec![good(); 3],
        n_cols: 5,
        genes: data.clone(),
    };
    // Names of the wrong length, a row range outside the source.
    let b = Batcher::new(source(), al.clone(), o.clone()).unwrap();
    assert!(matches!(
        b.with_cell_names(vec!["a".into()]),
        Err(Error::Shape(_))
    ));
    let b = Batcher::new(source(), al.clone(), o.clone()).unwrap();
    assert!(matches!(b.with_rows(1..4), Err(Error::Shape(_))));
    // A row sub-range is honoured.
    let mut b = Batcher::new(source(), al, o)
        .unwrap()
        .with_rows(1..3)
        .unwrap();
    let batch = b.next_batch().unwrap().unwrap();
    assert_eq!(batch.rows(), &[1, 2]);
    assert!(b.next_batch().is_none());
}

#[test]
fn a_source_that_misbehaves_is_reported() {
    struct Short(RowsSource);
    impl instructcell::RowSource for Short {
        fn n_rows(&self) -> usize {
            3
        }
        fn n_cols(&self) -> usize {
            5
        }
        fn gene_names(&self) -> &[String] {
            &self.0.genes
        }
        fn read_rows(
            &mut self,
            _rows: std::ops::Range<usize>,
            out: &mut CsrRows,
        ) -> instructcell::Result<()> {
            self.0.read_rows(0..1, out)
        }
    }
    let (al, data) = setup();
    let src = Short(RowsSource {
        rows: vec![good()],
        n_cols: 5,
        genes: data,
    });
    let mut b = Batcher::new(src, al, PreprocessOptions::default()).unwrap();
    assert!(matches!(b.next_batch(), Some(Err(Error::Shape(_)))));
    assert!(b.next_batch().is_none());
}

#[test]
fn invalid_options() {
    let (al, _) = setup();
    for o in [
        PreprocessOptions::default().with_batch_size(0),
        PreprocessOptions::default().with_threads(Some(0)),
        PreprocessOptions::default().with_target_sum(0.0),
        PreprocessOptions::default().with_target_sum(f32::NAN),
        PreprocessOptions::default().with_target_sum(-1.0),
    ] {
        assert!(matches!(
            Preprocessor::new(al.clone(), o),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn integer_check_at_the_edges_of_f32() {
    let (al, _) = setup();
    let mut p = Preprocessor::new(al, PreprocessOptions::default()).unwrap();
    // Every float from 2^23 up is whole; large counts pass.
    for v in [
        8_388_608.0f32,
        8_388_609.0,
        16_777_216.0,
        3.0e7,
        1.0e30,
        0.0,
        1.0,
    ] {
        let rows = vec![(vec![0, 1], vec![v, 1.0])];
        assert!(p.process(&block(&rows, 5), 0, None).is_ok(), "{v}");
    }
    for v in [8_388_607.5f32, 0.5, 1e-30, 2.9999998] {
        let rows = vec![(vec![0, 1], vec![1.0, v])];
        match p.process(&block(&rows, 5), 0, None) {
            Err(Error::BadCell {
                problem: CellProblem::NonInteger { column: 1, value },
                ..
            }) => assert_eq!(value, v),
            other => panic!("{v}: {other:?}"),
        }
    }
}
