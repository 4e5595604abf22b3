//! Alignment against the published 18,961-gene vocabulary, when the reference copy is present
//! next to the project (it is not part of it); skipped otherwise.

mod preprocess_support;

use instructcell::genes::{read_vocabulary, AlignOptions, GeneAlignment, GeneSide};
use instructcell::Error;
use preprocess_support::Rng;
use std::path::PathBuf;

fn vocab() -> Option<Vec<String>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/instructcell/gene_vocab.txt");
    if !p.exists() {
        eprintln!("skipped: {} not found", p.display());
        return None;
    }
    Some(read_vocabulary(&p).unwrap())
}

#[test]
fn published_vocabulary_aligns_a_shuffled_subset_exactly() {
    let Some(vocab) = vocab() else { return };
    assert_eq!(vocab.len(), 18_961);
    // A dataset with 15,000 vocabulary genes in shuffled order plus 15,000 others.
    let mut rng = Rng(11);
    let mut order: Vec<usize> = (0..vocab.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut data: Vec<String> = order[..15_000].iter().map(|&i| vocab[i].clone()).collect();
    data.extend((0..15_000).map(|i| format!("NOTAGENE{i}")));
    for i in (1..data.len()).rev() {
        data.swap(i, rng.below(i + 1));
    }
    let al = GeneAlignment::new(&data, &vocab, &AlignOptions::default()).unwrap();
    let r = al.report();
    assert_eq!((r.matched, r.missing, r.extra), (15_000, 3_961, 15_000));
    for (c, name) in data.iter().enumerate() {
        match al.position(c) {
            Some(p) => assert_eq!(&vocab[p], name),
            None => assert!(name.starts_with("NOTAGENE")),
        }
    }
    // The published vocabulary has no exact duplicates.
    assert!(al.copies().is_empty());
}

#[test]
fn published_vocabulary_collides_when_upper_cased() {
    let Some(vocab) = vocab() else { return };
    // Mixed human/mouse symbols: the reference pipeline's upper-casing mode refuses this
    // vocabulary, and so does the preset that mirrors it.
    let err =
        GeneAlignment::new(&vocab, &vocab, &AlignOptions::reference_ignore_case()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DuplicateGene {
                side: GeneSide::Vocabulary,
                ..
            }
        ),
        "{err}"
    );
    // Ignoring case with copies allowed: 310 symbols collide.
    let opts = AlignOptions::default().with_matching(instructcell::genes::GeneMatching::IgnoreCase);
    let al = GeneAlignment::new(&vocab, &vocab, &opts).unwrap();
    let groups = al
        .report()
        .duplicates
        .iter()
        .filter(|d| d.side == GeneSide::Vocabulary)
        .count();
    assert_eq!(groups, 310);
}
