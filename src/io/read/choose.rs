//! Which matrix of a store to give a model: `X`, a counts layer or `raw/X`, chosen from what
//! each holds ([`inspect_matrix`]), with the transform that turns it back into counts.

use serde::Serialize;

use super::content::{
    inspect_matrix, serialize_selection, ContentReport, MatrixContent, DEFAULT_SAMPLE_ROWS,
};
use super::expm1::Expm1Rows;
use super::options::{MatrixSelection, ReadOptions};
use super::problem::{StoreCtx, StoreProblem};
use super::store::AnnDataStore;
use crate::error::{Error, Result};
use crate::matrix::RowSource;

/// Layer names (compared ignoring case) that [`choose_matrix`] looks in for counts, in this
/// order. Layers such as `spliced` hold counts of part of the reads only and are not used.
pub const COUNTS_LAYER_NAMES: &[&str] = &[
    "counts",
    "raw_counts",
    "count",
    "umi",
    "umis",
    "umi_counts",
    "raw",
];

/// Which matrix to give a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatrixChoice {
    /// Find one (see [`choose_matrix`]).
    #[default]
    Auto,
    /// This one, which must hold counts, normalised or log-normalised counts.
    Use(MatrixSelection),
}

/// What to do to the stored values before they are read as counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueTransform {
    /// Use them as stored.
    #[default]
    None,
    /// Take `expm1` of every value ([`Expm1Rows`]).
    Expm1,
}

/// The matrix [`choose_matrix`] picked, and how to read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChosenMatrix {
    /// The matrix to read.
    #[serde(serialize_with = "serialize_selection")]
    pub selection: MatrixSelection,
    /// What to do to its values.
    pub transform: ValueTransform,
    /// What it holds.
    pub report: ContentReport,
    /// Every matrix inspected on the way, in order (the chosen one included).
    pub considered: Vec<ContentReport>,
}

impl ChosenMatrix {
    /// Whether the values read (after [`transform`](Self::transform)) are whole numbers, so
    /// that the integer check of preprocessing can stay on. `false` for normalised and
    /// log-normalised counts: turn the check off (`TaskOptions::with_integer_counts(false)`).
    pub fn integer_counts(&self) -> bool {
        self.report.content == MatrixContent::Counts
    }

    /// `base` with the chosen matrix selected.
    pub fn read_options(&self, base: &ReadOptions) -> ReadOptions {
        base.clone().with_matrix(self.selection.clone())
    }

    /// Opens the chosen matrix of `store` (read as `base` says, with the chosen matrix
    /// selected), wrapped in [`Expm1Rows`] where the values need it.
    ///
    /// # Errors
    /// [`Error::Store`] naming the element when it is missing, malformed or cannot be
    /// read; [`Error::Io`] when a file cannot be read.
    pub fn open(
        &self,
        store: &AnnDataStore,
        base: &ReadOptions,
    ) -> Result<Box<dyn RowSource + Send>> {
        let reader = store.matrix(&self.read_options(base))?;
        Ok(match self.transform {
            ValueTransform::Expm1 => Box::new(Expm1Rows::new(reader)),
            _ => Box::new(reader),
        })
    }
}

/// Picks the matrix of `store` to give a model, inspecting [`DEFAULT_SAMPLE_ROWS`] rows of
/// each candidate with [`inspect_matrix`].
///
/// [`MatrixChoice::Auto`] takes counts where there are any: `X`, then the layers named in
/// [`COUNTS_LAYER_NAMES`], then `raw/X`. Else log-normalised or normalised counts, looked for in
/// `X`, then `raw/X`, then every layer in stored order, with
/// [`ValueTransform::Expm1`] for log-normalised values. A matrix without non-zero values
/// (read as counts) is taken only when nothing else is usable.
///
/// [`MatrixChoice::Use`] inspects the named matrix and says how to read it.
///
/// # Errors
/// [`StoreProblem::NoUsableMatrix`] (in an [`Error::Store`]) listing what each inspected matrix
/// holds when none (or not the named one) holds usable values; the errors of
/// [`inspect_matrix`] otherwise (a missing `X` is skipped by `Auto`).
pub fn choose_matrix(store: &AnnDataStore, choice: &MatrixChoice) -> Result<ChosenMatrix> {
    match choice {
        MatrixChoice::Use(selection) => {
            let report = inspect_matrix(store, selection, DEFAULT_SAMPLE_ROWS)?;
            match transform_for(report.content) {
                Some(transform) => Ok(ChosenMatrix {
                    selection: selection.clone(),
                    transform,
                    considered: vec![report.clone()],
                    report,
                }),
                None => Err(StoreCtx::new(store.path()).err(
                    &report.element,
                    StoreProblem::NoUsableMatrix {
                        found: vec![report.summary()],
                        chosen: true,
                    },
                )),
            }
        }
        _ => choose_auto(store),
    }
}

/// How to read values holding `content`; `None` when they cannot be read as counts.
fn transform_for(content: MatrixContent) -> Option<ValueTransform> {
    match content {
        MatrixContent::Counts | MatrixContent::NormalizedCounts => Some(ValueTransform::None),
        MatrixContent::LogNormalized => Some(ValueTransform::Expm1),
        _ => None,
    }
}

/// The reports of the matrices inspected so far, each inspected at most once.
struct Inspected<'a> {
    store: &'a AnnDataStore,
    reports: Vec<ContentReport>,
}

impl Inspected<'_> {
    /// The report on `selection`, inspecting it on first use; `None` for a missing `X`.
    fn get(&mut self, selection: &MatrixSelection) -> Result<Option<ContentReport>> {
        if let Some(r) = self.reports.iter().find(|r| r.selection == *selection) {
            return Ok(Some(r.clone()));
        }
        match inspect_matrix(self.store, selection, DEFAULT_SAMPLE_ROWS) {
            Ok(r) => {
                self.reports.push(r.clone());
                Ok(Some(r))
            }
            Err(Error::Store {
                problem: StoreProblem::Missing,
                element,
                ..
            }) if *selection == MatrixSelection::X && element == "X" => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn choose_auto(store: &AnnDataStore) -> Result<ChosenMatrix> {
    let layers = store.layers()?;
    let has_raw = store.has_raw()?;
    let mut counts_order = vec![MatrixSelection::X];
    for name in COUNTS_LAYER_NAMES {
        counts_order.extend(
            layers
                .iter()
                .filter(|l| l.eq_ignore_ascii_case(name))
                .map(|l| MatrixSelection::Layer(l.clone())),
        );
    }
    let mut other_order = vec![MatrixSelection::X];
    if has_raw {
        counts_order.push(MatrixSelection::RawX);
        other_order.push(MatrixSelection::RawX);
    }
    other_order.extend(layers.iter().map(|l| MatrixSelection::Layer(l.clone())));

    let mut seen = Inspected {
        store,
        reports: Vec::new(),
    };
    let mut empty: Option<ContentReport> = None;
    let mut pick = None;
    for selection in &counts_order {
        let Some(r) = seen.get(selection)? else {
            continue;
        };
        if r.content == MatrixContent::Counts {
            if r.values_sampled > 0 {
                pick = Some(r);
                break;
            }
            empty.get_or_insert(r);
        }
    }
    if pick.is_none() {
        for selection in &other_order {
            let Some(r) = seen.get(selection)? else {
                continue;
            };
            if matches!(
                r.content,
                MatrixContent::LogNormalized | MatrixContent::NormalizedCounts
            ) {
                pick = Some(r);
                break;
            }
        }
    }
    let considered = seen.reports;
    match pick.or(empty) {
        Some(report) => Ok(ChosenMatrix {
            selection: report.selection.clone(),
            transform: transform_for(report.content).unwrap_or_default(),
            report,
            considered,
        }),
        None => {
            let mut found: Vec<String> = considered.iter().map(ContentReport::summary).collect();
            if found.is_empty() {
                found.push("the store has no X, no layers and no raw/X".into());
            }
            Err(StoreCtx::new(store.path()).err(
                "",
                StoreProblem::NoUsableMatrix {
                    found,
                    chosen: false,
                },
            ))
        }
    }
}
