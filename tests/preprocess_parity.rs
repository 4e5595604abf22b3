//! The core against the plain reference implementation (tests/preprocess_support), on random
//! data, for every option. Tolerance: |got - want| <= 1e-6 + 5e-7 |want| (f32 against f64).

mod preprocess_support;

use instructcell::genes::{
    AlignOptions, DatasetDuplicates, GeneAlignment, GeneMatching, MinOverlap, VocabDuplicates,
};
use instructcell::preprocess::{Batcher, LibrarySize, PreprocessOptions, Preprocessor};
use preprocess_support::*;

/// A vocabulary of `n_vocab` genes and a dataset of `n_cols` genes sharing about half of it.
fn genes(rng: &mut Rng, n_vocab: usize, n_cols: usize) -> (Vec<String>, Vec<String>) {
    let vocab = names("G", n_vocab);
    let data = (0..n_cols)
        .map(|_| {
            if rng.below(2) == 0 {
                format!("G{}", rng.below(n_vocab))
            } else {
                format!("X{}", rng.below(1000))
            }
        })
        .collect();
    (vocab, data)
}

fn check(
    rows: &[Row],
    data: &[String],
    vocab: &[String],
    align: &AlignOptions,
    o: PreprocessOptions,
    what: &str,
) {
    let al = GeneAlignment::new(data, vocab, align).unwrap();
    let cols = reference_columns(
        data,
        vocab,
        align.matching,
        align.dataset_duplicates,
        align.vocab_duplicates,
    );
    let source = RowsSource {
        rows: rows.to_vec(),
        n_cols: data.len(),
        genes: data.to_vec(),
    };
    let mut b = Batcher::new(source, al, o.clone()).unwrap();
    let mut seen = 0;
    b.for_each_batch(|batch| {
        assert_eq!(batch.source_rows().start, seen);
        for (i, &r) in batch.rows().iter().enumerate() {
            let want = reference_row(&rows[r], data.len(), &cols, &o).expect("good cell");
            assert_row(&batch, i, &want, what);
        }
        seen = batch.source_rows().end;
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, rows.len());
}

/// Random rows that keep at least one vocabulary gene (bad cells are another test's business).
fn good_rows(rng: &mut Rng, n: usize, data: &[String], al: &GeneAlignment) -> Vec<Row> {
    let mut rows = random_rows(rng, n, data.len(), 40);
    for row in &mut rows {
        if !row.0.iter().any(|&c| al.position(c as usize).is_some()) {
            let c = (0..data.len()).find(|&c| al.position(c).is_some()).unwrap();
            *row = (vec![c as u32], vec![3.0]);
        }
    }
    rows
}

#[test]
fn every_option_matches_the_reference() {
    let mut rng = Rng(1);
    let (vocab, data) = genes(&mut rng, 300, 400);
    let base = AlignOptions::default().with_min_overlap(MinOverlap::Count(1));
    let al = GeneAlignment::new(&data, &vocab, &base).unwrap();
    let rows = good_rows(&mut rng, 150, &data, &al);
    for normalize in [true, false] {
        for log1p in [true, false] {
            for library in [LibrarySize::Aligned, LibrarySize::AllGenes] {
                for target in [1e4f32, 1.0, 123.5] {
                    for batch in [1, 7, 64, 1000] {
                        let o = PreprocessOptions::default()
                            .with_normalize_total(normalize)
                            .with_log1p(log1p)
                            .with_library_size(library)
                            .with_target_sum(target)
                            .with_batch_size(batch);
                        let what = format!("{normalize} {log1p} {library:?} {target} {batch}");
                        check(&rows, &data, &vocab, &base, o, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn every_alignment_rule_matches_the_reference() {
    let mut rng = Rng(2);
    // Few distinct names, so duplicates on both sides are common.
    let pool: Vec<String> = ["A", "a", "B", "C", "c", "D", "E", "F", "f", "Z"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for round in 0..40 {
        let vocab: Vec<String> = (0..8)
            .map(|_| pool[rng.below(pool.len())].clone())
            .collect();
        let data: Vec<String> = (0..12)
            .map(|_| pool[rng.below(pool.len())].clone())
            .collect();
        for matching in [GeneMatching::Exact, GeneMatching::IgnoreCase] {
            for dups in [
                DatasetDuplicates::KeepFirst,
                DatasetDuplicates::KeepLast,
                DatasetDuplicates::Sum,
            ] {
                for vdups in [VocabDuplicates::AllCopies, VocabDuplicates::FirstOnly] {
                    let align = AlignOptions::default()
                        .with_min_overlap(MinOverlap::Count(1))
                        .with_matching(matching)
                        .with_dataset_duplicates(dups)
                        .with_vocab_duplicates(vdups);
                    let Ok(al) = GeneAlignment::new(&data, &vocab, &align) else {
                        continue;
                    };
                    let rows = good_rows(&mut rng, 30, &data, &al);
                    for library in [LibrarySize::Aligned, LibrarySize::AllGenes] {
                        let o = PreprocessOptions::default()
                            .with_library_size(library)
                            .with_batch_size(8);
                        let what = format!("round {round} {matching:?} {dups:?} {vdups:?}");
                        check(&rows, &data, &vocab, &align, o, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn non_canonical_rows_add_repeated_entries() {
    // Unsorted columns with a repeated entry: the values add, as in scipy.
    let vocab = names("G", 4);
    let data = names("G", 4);
    let rows: Vec<Row> = vec![(vec![3, 1, 3, 0], vec![2.0, 1.0, 5.0, 0.0])];
    let al = GeneAlignment::new(&data, &vocab, &AlignOptions::default()).unwrap();
    let cols = reference_columns(
        &data,
        &vocab,
        GeneMatching::Exact,
        DatasetDuplicates::KeepLast,
        VocabDuplicates::AllCopies,
    );
    let o = PreprocessOptions::default();
    let want = reference_row(&rows[0], 4, &cols, &o).unwrap();
    assert!((want[3] - (1e4f64 * 7.0 / 8.0).ln_1p()).abs() < 1e-9);
    let mut p = Preprocessor::new(al, o).unwrap();
    let batch = p.process(&block(&rows, 4), 0, None).unwrap();
    assert_row(&batch, 0, &want, "non-canonical");
}

#[test]
fn reused_buffer_is_clean_between_blocks() {
    // Dense cells then sparse ones in the same rows: stale values must not survive.
    let mut rng = Rng(3);
    let (vocab, data) = genes(&mut rng, 200, 200);
    let align = AlignOptions::default().with_min_overlap(MinOverlap::Count(1));
    let al = GeneAlignment::new(&data, &vocab, &align).unwrap();
    let cols = reference_columns(
        &data,
        &vocab,
        GeneMatching::Exact,
        DatasetDuplicates::KeepLast,
        VocabDuplicates::AllCopies,
    );
    let o = PreprocessOptions::default();
    let mut p = Preprocessor::new(al.clone(), o.clone()).unwrap();
    for round in 0..6 {
        let nnz = if round % 2 == 0 { 150 } else { 2 };
        let n = [5, 3, 5, 1, 4, 5][round];
        let rows = good_rows(&mut rng, n, &data, &al);
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|(c, v)| {
                let k = c.len().min(nnz);
                (c[..k].to_vec(), v[..k].to_vec())
            })
            .collect();
        let rows = good_rows_fix(rows, &al);
        let batch = p.process(&block(&rows, data.len()), 100, None).unwrap();
        assert_eq!(batch.shape(), [n, vocab.len()]);
        assert_eq!(batch.rows(), (100..100 + n).collect::<Vec<_>>());
        assert_eq!(batch.view().shape(), &[n, vocab.len()]);
        for (i, row) in rows.iter().enumerate() {
            let want = reference_row(row, data.len(), &cols, &o).unwrap();
            assert_row(&batch, i, &want, &format!("round {round}"));
        }
    }
}

fn good_rows_fix(rows: Vec<Row>, al: &GeneAlignment) -> Vec<Row> {
    rows.into_iter()
        .map(|row| {
            if row.0.iter().any(|&c| al.position(c as usize).is_some()) {
                row
            } else {
                let c = (0..al.n_dataset())
                    .find(|&c| al.position(c).is_some())
                    .unwrap();
                (vec![c as u32], vec![1.0])
            }
        })
        .collect()
}

#[test]
fn non_integer_values_pass_when_the_check_is_off() {
    let vocab = names("G", 3);
    let al = GeneAlignment::new(&vocab, &vocab, &AlignOptions::default()).unwrap();
    let rows: Vec<Row> = vec![(vec![0, 2], vec![0.5, 1.25])];
    let o = PreprocessOptions::default().with_integer_counts(false);
    let cols = reference_columns(
        &vocab,
        &vocab,
        GeneMatching::Exact,
        DatasetDuplicates::KeepLast,
        VocabDuplicates::AllCopies,
    );
    let want = reference_row(&rows[0], 3, &cols, &o).unwrap();
    let mut p = Preprocessor::new(al, o).unwrap();
    let batch = p.process(&block(&rows, 3), 0, None).unwrap();
    assert_row(&batch, 0, &want, "fractional");
}

#[test]
fn default_options_are_the_models_preprocessing() {
    let o = PreprocessOptions::default();
    assert!(o.normalize_total && o.log1p && o.integer_counts);
    assert_eq!(o.target_sum, 1e4);
    assert_eq!(o.library_size, LibrarySize::Aligned);
    assert_eq!(o.batch_size, 64);
    assert_eq!(o.threads, None);
}
