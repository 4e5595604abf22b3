//! Gene alignment: matching, duplicate rules, overlap thresholds and the report.

mod preprocess_support;

use instructcell::genes::{
    read_vocabulary, AlignOptions, DatasetDuplicates, GeneAlignment, GeneMatching, GeneSide,
    MinOverlap, VocabDuplicates,
};
use instructcell::Error;
use preprocess_support::{reference_columns, Rng};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn any_overlap() -> AlignOptions {
    AlignOptions::default().with_min_overlap(MinOverlap::Count(1))
}

#[test]
fn exact_matching_reorders_drops_and_reports() {
    let vocab = s(&["A", "B", "C", "D", "E"]);
    let data = s(&["E", "x", "B", "a", "C"]);
    let al = GeneAlignment::new(&data, &vocab, &any_overlap()).unwrap();
    assert_eq!(
        al.table(),
        &[4, GeneAlignment::DROPPED, 1, GeneAlignment::DROPPED, 2]
    );
    assert_eq!(al.n_dataset(), 5);
    assert_eq!(al.n_vocab(), 5);
    let r = al.report();
    assert_eq!(
        (r.matched, r.missing, r.extra, r.dropped_duplicates),
        (3, 2, 2, 0)
    );
    assert_eq!(r.top_missing, s(&["A", "D"]));
    assert!(r.duplicates.is_empty());
    assert!((r.matched_fraction() - 0.6).abs() < 1e-12);
    let text = r.to_string();
    assert!(text.contains("3 of 5 vocabulary genes matched"), "{text}");
}

#[test]
fn ignore_case_matches_upper_cased_identifiers() {
    let vocab = s(&["Cd3e", "MS4A1", "Lyz2"]);
    let data = s(&["CD3E", "ms4a1", "lyz2", "Gapdh"]);
    let opts = any_overlap().with_matching(GeneMatching::IgnoreCase);
    let al = GeneAlignment::new(&data, &vocab, &opts).unwrap();
    assert_eq!(al.table(), &[0, 1, 2, GeneAlignment::DROPPED]);
    // Exact matching finds none of them, which is always an error.
    let err = GeneAlignment::new(&data, &vocab, &any_overlap()).unwrap_err();
    assert!(
        matches!(err, Error::GeneOverlap { matched: 0, .. }),
        "{err}"
    );
}

#[test]
fn top_missing_follows_vocabulary_order_and_limit() {
    let vocab: Vec<String> = (0..50).map(|i| format!("G{i}")).collect();
    let data = s(&["G3", "G0"]);
    let al = GeneAlignment::new(&data, &vocab, &any_overlap().with_report_missing(4)).unwrap();
    assert_eq!(al.report().top_missing, s(&["G1", "G2", "G4", "G5"]));
    assert_eq!(al.report().missing, 48);
}

#[test]
fn dataset_duplicate_rules() {
    let vocab = s(&["A", "B"]);
    let data = s(&["A", "B", "A", "z", "z", "A"]);
    let rule = |r| GeneAlignment::new(&data, &vocab, &any_overlap().with_dataset_duplicates(r));
    let d = GeneAlignment::DROPPED;

    let first = rule(DatasetDuplicates::KeepFirst).unwrap();
    assert_eq!(first.table(), &[0, 1, d, d, d, d]);
    assert_eq!(first.report().dropped_duplicates, 2);
    assert!(!first.sums_columns());

    let last = rule(DatasetDuplicates::KeepLast).unwrap();
    assert_eq!(last.table(), &[d, 1, d, d, d, 0]);
    assert_eq!(last.report().dropped_duplicates, 2);

    let sum = rule(DatasetDuplicates::Sum).unwrap();
    assert_eq!(sum.table(), &[0, 1, 0, d, d, 0]);
    assert_eq!(sum.report().dropped_duplicates, 0);
    assert!(sum.sums_columns());

    // Only duplicates that reach the vocabulary are listed ("z" is dropped anyway).
    let dups = &last.report().duplicates;
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0].name, "A");
    assert_eq!(dups[0].side, GeneSide::Dataset);
    assert_eq!(dups[0].positions, vec![0, 2, 5]);

    match rule(DatasetDuplicates::Error).unwrap_err() {
        Error::DuplicateGene {
            name,
            side: GeneSide::Dataset,
            first: 0,
            second: 2,
        } => assert_eq!(name, "A"),
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn default_is_the_reference_exact_mode_and_ignore_case_preset_keeps_first() {
    let d = GeneAlignment::DROPPED;
    let vocab = s(&["A"]);
    let data = s(&["a", "A", "A"]);
    assert_eq!(
        GeneAlignment::new(&data, &vocab, &AlignOptions::default())
            .unwrap()
            .table(),
        &[d, d, 0]
    );
    let preset = AlignOptions::reference_ignore_case().with_min_overlap(MinOverlap::Count(1));
    assert_eq!(preset.matching, GeneMatching::IgnoreCase);
    assert_eq!(
        GeneAlignment::new(&data, &vocab, &preset).unwrap().table(),
        &[0, d, d]
    );
}

#[test]
fn vocabulary_duplicate_rules() {
    let vocab = s(&["A", "B", "a", "C", "A"]);
    let data = s(&["A", "C"]);
    let opts = any_overlap();

    // Exact matching: "A" twice; every copy receives the counts.
    let all = GeneAlignment::new(&data, &vocab, &opts).unwrap();
    assert_eq!(all.table(), &[0, 3]);
    assert_eq!(all.copies(), &[(0, 4)]);
    assert_eq!(all.report().matched, 3);
    let vd: Vec<_> = all
        .report()
        .duplicates
        .iter()
        .filter(|d| d.side == GeneSide::Vocabulary)
        .collect();
    assert_eq!(vd.len(), 1);
    assert_eq!(vd[0].positions, vec![0, 4]);

    let first = GeneAlignment::new(
        &data,
        &vocab,
        &opts
            .clone()
            .with_vocab_duplicates(VocabDuplicates::FirstOnly),
    )
    .unwrap();
    assert!(first.copies().is_empty());
    assert_eq!(first.report().matched, 2);
    assert_eq!(first.report().top_missing, s(&["B", "a", "A"]));

    let err = GeneAlignment::new(
        &data,
        &vocab,
        &opts.clone().with_vocab_duplicates(VocabDuplicates::Error),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DuplicateGene {
                side: GeneSide::Vocabulary,
                first: 0,
                second: 4,
                ..
            }
        ),
        "{err}"
    );

    // Ignoring case, "a" joins the group too.
    let ci =
        GeneAlignment::new(&data, &vocab, &opts.with_matching(GeneMatching::IgnoreCase)).unwrap();
    assert_eq!(ci.copies(), &[(0, 2), (0, 4)]);
    // Copies of a gene the dataset lacks are not kept.
    let none = GeneAlignment::new(&s(&["C"]), &vocab, &any_overlap()).unwrap();
    assert!(none.copies().is_empty());
}

#[test]
fn overlap_thresholds() {
    let vocab: Vec<String> = (0..100).map(|i| format!("G{i}")).collect();
    let data: Vec<String> = (0..30).map(|i| format!("G{i}")).collect();
    let at = |m| GeneAlignment::new(&data, &vocab, &AlignOptions::default().with_min_overlap(m));
    assert!(at(MinOverlap::Fraction(0.3)).is_ok());
    assert!(at(MinOverlap::Count(30)).is_ok());
    for m in [MinOverlap::Fraction(0.31), MinOverlap::Count(31)] {
        match at(m).unwrap_err() {
            Error::GeneOverlap {
                matched: 30,
                n_vocab: 100,
                n_dataset: 30,
                required: 31,
                dataset_examples,
                vocab_examples,
            } => {
                assert_eq!(dataset_examples.len(), 5);
                assert_eq!(vocab_examples[0], "G0");
            }
            e => panic!("unexpected {e}"),
        }
    }
    // The default floor is a tenth of the vocabulary.
    assert_eq!(MinOverlap::default().required(18_961), 1_897);
    // Zero overlap is refused even with a zero threshold.
    let other: Vec<String> = (0..30).map(|i| format!("ENSG{i}")).collect();
    for m in [MinOverlap::Fraction(0.0), MinOverlap::Count(0)] {
        let e = GeneAlignment::new(&other, &vocab, &AlignOptions::default().with_min_overlap(m))
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::GeneOverlap {
                    matched: 0,
                    required: 1,
                    ..
                }
            ),
            "{e}"
        );
    }
    // An empty dataset or vocabulary has no overlap.
    let empty: Vec<String> = Vec::new();
    assert!(GeneAlignment::new(&empty, &vocab, &any_overlap()).is_err());
    assert!(GeneAlignment::new(&data, &empty, &any_overlap()).is_err());
}

#[test]
fn identity_alignment() {
    let al = GeneAlignment::identity(4).unwrap();
    assert_eq!(al.table(), &[0, 1, 2, 3]);
    assert_eq!(al.report().matched, 4);
    assert!(GeneAlignment::identity(0).is_err());
}

#[test]
fn random_alignments_agree_with_the_rule_definitions() {
    let mut rng = Rng(7);
    for round in 0..200 {
        let pool = ["A", "a", "B", "b", "C", "D", "e", "E", "F", "g"];
        let vocab: Vec<String> = (0..1 + rng.below(8))
            .map(|_| pool[rng.below(pool.len())].to_string())
            .collect();
        let data: Vec<String> = (0..1 + rng.below(10))
            .map(|_| pool[rng.below(pool.len())].to_string())
            .collect();
        for matching in [GeneMatching::Exact, GeneMatching::IgnoreCase] {
            for dups in [
                DatasetDuplicates::KeepFirst,
                DatasetDuplicates::KeepLast,
                DatasetDuplicates::Sum,
            ] {
                for vdups in [VocabDuplicates::AllCopies, VocabDuplicates::FirstOnly] {
                    let opts = any_overlap()
                        .with_matching(matching)
                        .with_dataset_duplicates(dups)
                        .with_vocab_duplicates(vdups);
                    let want = reference_columns(&data, &vocab, matching, dups, vdups);
                    let matched = want.iter().filter(|c| !c.is_empty()).count();
                    let Ok(al) = GeneAlignment::new(&data, &vocab, &opts) else {
                        assert_eq!(matched, 0, "round {round}");
                        continue;
                    };
                    // Rebuild vocabulary position → columns from the table and the copies.
                    let mut got = vec![Vec::new(); vocab.len()];
                    for (c, &p) in al.table().iter().enumerate() {
                        if p != GeneAlignment::DROPPED {
                            got[p as usize].push(c);
                        }
                    }
                    for &(first, copy) in al.copies() {
                        got[copy as usize] = got[first as usize].clone();
                    }
                    assert_eq!(got, want, "round {round} {matching:?} {dups:?} {vdups:?}");
                    assert_eq!(al.report().matched, matched);
                }
            }
        }
    }
}

#[test]
fn reading_a_vocabulary_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("genes.txt");
    std::fs::write(&p, "CD3E\r\nMS4A1\nLYZ\n\n").unwrap();
    assert_eq!(read_vocabulary(&p).unwrap(), s(&["CD3E", "MS4A1", "LYZ"]));
    std::fs::write(&p, "CD3E\n\nLYZ\n").unwrap();
    assert!(matches!(
        read_vocabulary(&p),
        Err(Error::InvalidArgument(_))
    ));
    std::fs::write(&p, "\n").unwrap();
    assert!(matches!(
        read_vocabulary(&p),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        read_vocabulary(dir.path().join("absent.txt")),
        Err(Error::Io { .. })
    ));
}
