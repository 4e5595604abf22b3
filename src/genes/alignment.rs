//! The dataset-column → vocabulary-position table.

use super::options::{AlignOptions, DatasetDuplicates, GeneMatching, VocabDuplicates};
use super::report::{AlignmentReport, DuplicateGene, GeneSide};
use crate::error::{Error, Result};
use crate::matrix::RowSource;
use std::borrow::Cow;
use std::collections::HashMap;

/// How a dataset's columns land in a model's vocabulary, computed once per dataset.
///
/// The table has one entry per dataset column: the vocabulary position it feeds, or
/// [`GeneAlignment::DROPPED`]. Vocabulary entries that duplicate another one and receive the
/// same counts ([`VocabDuplicates::AllCopies`]) are listed separately as `(first, copy)` pairs,
/// so that the table stays one `u32` per column.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneAlignment {
    map: Vec<u32>,
    copies: Vec<(u32, u32)>,
    n_vocab: usize,
    summed: bool,
    report: AlignmentReport,
}

const UNASSIGNED: u32 = u32::MAX;

fn fold(name: &str, matching: GeneMatching) -> Cow<'_, str> {
    match matching {
        GeneMatching::Exact => Cow::Borrowed(name),
        GeneMatching::IgnoreCase => {
            if name.bytes().any(|b| b.is_ascii_lowercase()) || !name.is_ascii() {
                Cow::Owned(name.to_uppercase())
            } else {
                Cow::Borrowed(name)
            }
        }
    }
}

/// Records one more position of a duplicated identifier, grouping by a key.
fn note_duplicate(
    groups: &mut HashMap<usize, usize>,
    list: &mut Vec<DuplicateGene>,
    key: usize,
    name: &str,
    side: GeneSide,
    first: usize,
    next: usize,
) {
    let i = *groups.entry(key).or_insert_with(|| {
        list.push(DuplicateGene {
            name: name.to_owned(),
            side,
            positions: vec![first],
        });
        list.len() - 1
    });
    list[i].positions.push(next);
}

impl GeneAlignment {
    /// The table entry of a dataset column that feeds no vocabulary position.
    pub const DROPPED: u32 = u32::MAX;

    /// Aligns `dataset` identifiers (one per column, in column order) to `vocab` (model input
    /// order).
    ///
    /// # Errors
    /// [`Error::DuplicateGene`] where a duplicate rule says so; [`Error::GeneOverlap`] when fewer
    /// vocabulary genes than [`AlignOptions::min_overlap`] requires (and always when none)
    /// are matched; [`Error::InvalidArgument`] for a vocabulary of `u32::MAX` genes or more.
    pub fn new<D: AsRef<str>, V: AsRef<str>>(
        dataset: &[D],
        vocab: &[V],
        options: &AlignOptions,
    ) -> Result<Self> {
        if vocab.len() >= u32::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "a vocabulary of {} genes is too large",
                vocab.len()
            )));
        }
        let matching = options.matching;
        let mut duplicates = Vec::new();

        // Vocabulary: identifier → first position; later equal entries become copies or stay
        // empty, per the rule.
        let mut index: HashMap<Cow<'_, str>, u32> = HashMap::with_capacity(vocab.len());
        let mut vocab_copies: Vec<(u32, u32)> = Vec::new();
        let mut vocab_groups = HashMap::new();
        let mut vocab_dups = Vec::new();
        for (v, name) in vocab.iter().enumerate() {
            let key = fold(name.as_ref(), matching);
            if let Some(&first) = index.get(&key) {
                if options.vocab_duplicates == VocabDuplicates::Error {
                    return Err(Error::DuplicateGene {
                        name: key.into_owned(),
                        side: GeneSide::Vocabulary,
                        first: first as usize,
                        second: v,
                    });
                }
                if options.vocab_duplicates == VocabDuplicates::AllCopies {
                    vocab_copies.push((first, v as u32));
                }
                let first_name = vocab[first as usize].as_ref();
                note_duplicate(
                    &mut vocab_groups,
                    &mut vocab_dups,
                    first as usize,
                    first_name,
                    GeneSide::Vocabulary,
                    first as usize,
                    v,
                );
            } else {
                index.insert(key, v as u32);
            }
        }

        // Dataset: column → vocabulary position, resolving columns that meet the same gene.
        let mut map = vec![Self::DROPPED; dataset.len()];
        // First column seen for each vocabulary position (keys the duplicate groups), and the
        // column currently kept there.
        let mut owner = vec![UNASSIGNED; vocab.len()];
        let mut kept = vec![UNASSIGNED; vocab.len()];
        let mut extra = 0usize;
        let mut dropped_duplicates = 0usize;
        let mut summed = false;
        let mut dataset_groups = HashMap::new();
        for (c, name) in dataset.iter().enumerate() {
            let Some(&p) = index.get(&fold(name.as_ref(), matching)) else {
                extra += 1;
                continue;
            };
            let prev = owner[p as usize];
            if prev == UNASSIGNED {
                owner[p as usize] = c as u32;
                kept[p as usize] = c as u32;
                map[c] = p;
                continue;
            }
            note_duplicate(
                &mut dataset_groups,
                &mut duplicates,
                p as usize,
                dataset[prev as usize].as_ref(),
                GeneSide::Dataset,
                prev as usize,
                c,
            );
            match options.dataset_duplicates {
                DatasetDuplicates::KeepFirst => dropped_duplicates += 1,
                DatasetDuplicates::KeepLast => {
                    map[kept[p as usize] as usize] = Self::DROPPED;
                    kept[p as usize] = c as u32;
                    map[c] = p;
                    dropped_duplicates += 1;
                }
                DatasetDuplicates::Sum => {
                    map[c] = p;
                    summed = true;
                }
                DatasetDuplicates::Error => {
                    return Err(Error::DuplicateGene {
                        name: name.as_ref().to_owned(),
                        side: GeneSide::Dataset,
                        first: prev as usize,
                        second: c,
                    });
                }
            }
        }
        duplicates.extend(vocab_dups);

        // Copies only matter where their first entry receives counts.
        vocab_copies.retain(|&(first, _)| owner[first as usize] != UNASSIGNED);
        let mut filled = vec![false; vocab.len()];
        for (p, &o) in owner.iter().enumerate() {
            filled[p] = o != UNASSIGNED;
        }
        for &(_, copy) in &vocab_copies {
            filled[copy as usize] = true;
        }
        let matched = filled.iter().filter(|&&f| f).count();
        let top_missing: Vec<String> = filled
            .iter()
            .enumerate()
            .filter(|(_, &f)| !f)
            .take(options.report_missing)
            .map(|(p, _)| vocab[p].as_ref().to_owned())
            .collect();

        let required = options.min_overlap.required(vocab.len());
        if matched < required {
            return Err(Error::GeneOverlap {
                matched,
                n_vocab: vocab.len(),
                n_dataset: dataset.len(),
                required,
                dataset_examples: dataset.iter().take(5).map(|n| n.as_ref().into()).collect(),
                vocab_examples: vocab.iter().take(5).map(|n| n.as_ref().into()).collect(),
            });
        }

        Ok(GeneAlignment {
            map,
            copies: vocab_copies,
            n_vocab: vocab.len(),
            summed,
            report: AlignmentReport {
                n_dataset: dataset.len(),
                n_vocab: vocab.len(),
                matched,
                missing: vocab.len() - matched,
                extra,
                dropped_duplicates,
                top_missing,
                duplicates,
            },
        })
    }

    /// Aligns the gene names a source reports ([`RowSource::gene_names`]) to `vocab`.
    ///
    /// # Errors
    /// As [`GeneAlignment::new`].
    pub fn for_source<S: RowSource + ?Sized, V: AsRef<str>>(
        source: &S,
        vocab: &[V],
        options: &AlignOptions,
    ) -> Result<Self> {
        Self::new(source.gene_names(), vocab, options)
    }

    /// The alignment of data already in vocabulary order: column `i` feeds position `i`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `n_genes` is 0 or not below `u32::MAX`.
    pub fn identity(n_genes: usize) -> Result<Self> {
        if n_genes == 0 || n_genes >= u32::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "cannot build an identity alignment of {n_genes} genes"
            )));
        }
        Ok(GeneAlignment {
            map: (0..n_genes as u32).collect(),
            copies: Vec::new(),
            n_vocab: n_genes,
            summed: false,
            report: AlignmentReport {
                n_dataset: n_genes,
                n_vocab: n_genes,
                matched: n_genes,
                missing: 0,
                extra: 0,
                dropped_duplicates: 0,
                top_missing: Vec::new(),
                duplicates: Vec::new(),
            },
        })
    }

    /// The table: for each dataset column, its vocabulary position or [`Self::DROPPED`].
    pub fn table(&self) -> &[u32] {
        &self.map
    }

    /// Vocabulary entries that repeat an earlier one and receive its counts, as
    /// `(first position, copy position)` pairs in vocabulary order.
    pub fn copies(&self) -> &[(u32, u32)] {
        &self.copies
    }

    /// The vocabulary position fed by dataset column `column`, if any.
    pub fn position(&self, column: usize) -> Option<usize> {
        match self.map.get(column) {
            Some(&p) if p != Self::DROPPED => Some(p as usize),
            _ => None,
        }
    }

    /// Number of dataset columns the alignment expects.
    pub fn n_dataset(&self) -> usize {
        self.map.len()
    }

    /// Number of vocabulary genes (the width of the preprocessed rows).
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Whether several dataset columns add into one vocabulary position
    /// ([`DatasetDuplicates::Sum`] met a duplicate).
    pub fn sums_columns(&self) -> bool {
        self.summed
    }

    /// What was matched, missed and dropped.
    pub fn report(&self) -> &AlignmentReport {
        &self.report
    }
}
