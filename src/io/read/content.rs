//! What a matrix of a store holds (counts, normalised counts, log-normalised values or something
//! else), and which matrix of a store to give a model.
//!
//! The models normalise every cell to a fixed library size and apply `log1p` themselves, so
//! they need counts, but only up to a per-cell factor: normalised counts (`normalize_total`
//! without `log1p`) can be used as they are, and log-normalised values (`log1p` of such values)
//! exactly, through `expm1` ([`Expm1Rows`](super::Expm1Rows)). The factor may differ from cell
//! to cell (stores normalised over all genes and subset afterwards). Scaled, centred or
//! otherwise transformed values cannot be turned back into counts.

use std::ops::Range;

use serde::Serialize;

use super::expm1::Expm1Rows;
use super::matrix::MatrixEncoding;
use super::options::{MatrixSelection, ReadOptions};
use super::problem::{StoreCtx, StoreProblem};
use super::store::AnnDataStore;
use crate::error::{Error, Result};
use crate::matrix::{CsrRows, RowSource};

/// Rows [`choose_matrix`] samples from each matrix it inspects.
pub const DEFAULT_SAMPLE_ROWS: usize = 512;

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

/// A whole number within this much (plus [`REL_TOL`] of the number) passes.
const ABS_TOL: f64 = 0.01;
/// See [`ABS_TOL`].
const REL_TOL: f64 = 1e-5;
/// Half the step of values kept to 3 decimals, as some stores keep them (scanpy's
/// `pbmc68k_reduced` `raw`): a value on that grid may be off by this much.
const GRID_HALF_STEP: f64 = 5e-4;
/// Values whose ratio the storage error could move by more than this are not tested.
const MAX_WIDEN: f64 = 0.1;

/// Whether `v` lies on the grid of 3-decimal numbers (as far as `f32` tells): values off it
/// land there by chance 2 % of the time.
fn on_3_decimal_grid(v: f64) -> bool {
    let k = v * 1000.0;
    (k - k.round()).abs() < 0.01
}
/// Multiples of the cell's smallest value tried as the unit's divisor.
const MAX_DIVISOR: usize = 10;
/// Ratios to the cell's smallest value above this say nothing.
const MAX_RATIO: f64 = 1000.0;
/// Tested values that may fail the test (float rounding), as a fraction.
const OUTLIER_FRACTION: f64 = 0.01;
/// Stretches of rows the sample is spread over (CSC: each costs a scan of the whole matrix).
const STRETCHES: usize = 16;
const CSC_STRETCHES: usize = 4;
/// Rows read at a time inside a stretch (CSR and dense).
const READ_ROWS: usize = 64;

/// What a matrix holds, as far as a sample of its rows tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatrixContent {
    /// Non-negative whole numbers: raw counts (also an all-zero matrix).
    Counts,
    /// Non-negative values that are, within each cell, whole multiples of a per-cell unit:
    /// counts normalised to a library size (`normalize_total`) without `log1p`.
    NormalizedCounts,
    /// `log1p` of normalised counts: `expm1` of the values gives
    /// [`NormalizedCounts`](MatrixContent::NormalizedCounts).
    LogNormalized,
    /// Anything else: negative values (scaled or centred data), NaN or infinite values, or
    /// values that are not counts up to a per-cell factor, with or without `log1p`.
    Other,
}

impl MatrixContent {
    /// A short phrase for messages: "counts", "log-normalised values", ...
    pub fn describe(self) -> &'static str {
        match self {
            MatrixContent::Counts => "counts",
            MatrixContent::NormalizedCounts => "normalised counts",
            MatrixContent::LogNormalized => "log-normalised values",
            MatrixContent::Other => "values that are not counts",
        }
    }
}

/// What [`inspect_matrix`] found in one matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ContentReport {
    /// The matrix inspected.
    #[serde(serialize_with = "serialize_selection")]
    pub selection: MatrixSelection,
    /// Its element in the store: `X`, `layers/<name>` or `raw/X`.
    pub element: String,
    /// What it holds.
    pub content: MatrixContent,
    /// Rows (cells) read.
    pub rows_sampled: usize,
    /// Non-zero values seen in them.
    pub values_sampled: usize,
    /// One sentence on the evidence, e.g. "integer counts, max 812" or "value -0.19 at
    /// cell 0, gene 3 (CD3E) is negative, as in scaled data".
    pub detail: String,
}

impl ContentReport {
    /// One phrase for messages: "X holds counts (integer counts, max 812)".
    pub fn summary(&self) -> String {
        format!(
            "{} holds {} ({})",
            self.element,
            self.content.describe(),
            self.detail
        )
    }
}

/// Serialises a selection as `#[derive(Serialize)]` would: `"X"`, `"RawX"`, `{"Layer": name}`.
fn serialize_selection<S: serde::Serializer>(
    selection: &MatrixSelection,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match selection {
        MatrixSelection::Layer(name) => {
            serializer.serialize_newtype_variant("MatrixSelection", 1, "Layer", name)
        }
        MatrixSelection::RawX => serializer.serialize_unit_variant("MatrixSelection", 2, "RawX"),
        MatrixSelection::X => serializer.serialize_unit_variant("MatrixSelection", 0, "X"),
    }
}

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

/// Reads about `sample_rows` rows of `selection` (at least one; all of them for a smaller
/// matrix), spread over the matrix in evenly spaced stretches, and says what the matrix holds
/// (see below for the test).
///
/// Values are read without the reader's value check, so negative and NaN values are reported
/// rather than refused; the first such value ends the reading. Memory stays bounded by the
/// sample (CSR and dense matrices are read 64 rows at a time); a CSC matrix costs one scan of
/// its entries per stretch (four).
///
/// # How values are recognised
///
/// The non-zero values of each sampled cell are looked at:
///
/// * a negative or non-finite value makes the matrix [`MatrixContent::Other`];
/// * whole numbers only: [`MatrixContent::Counts`];
/// * otherwise each cell's values `x` are divided by the cell's smallest non-zero value `m`.
///   For normalised counts `x / m = c / c_min` with whole counts `c`, so `k · x / m` is a whole
///   number for `k = c_min`. A value passes when, for the `k` in `1..=10` that suits its cell
///   best, `q = k · x / m` lies within `0.01 + 1e-5 · q` of a whole number, widened for
///   values stored to 3 decimals (scanpy's `pbmc68k_reduced` `raw` keeps log-normalised values
///   so) by the error that rounding carries into `q` (up to about 1.2e-3 of `q` there). Values
///   written as `f32` carry a relative error of about `1e-6` after `log1p`, rounding and `expm1`
///   (on the bundled PBMCs, log-normalised by scanpy, `q` stays within `2.5e-5` of a whole
///   number), while values that are not counts pass by chance about 2 % of
///   the time. Values equal to their cell's smallest say nothing, nor does a cell without
///   non-zero values; values more than 1000 times their cell's smallest (where the tolerance
///   no longer separates whole numbers) are not tested. The values are
///   [`MatrixContent::NormalizedCounts`] when at most 1 % of the tested values fail (float
///   rounding), or, with none tested, when each cell holds a single value (then any reading
///   gives the same normalised cell);
/// * else the same test on `expm1` of the values: [`MatrixContent::LogNormalized`];
/// * else [`MatrixContent::Other`].
///
/// # Errors
/// Those of [`AnnDataStore::matrix`] and of reading the rows.
pub fn inspect_matrix(
    store: &AnnDataStore,
    selection: &MatrixSelection,
    sample_rows: usize,
) -> Result<ContentReport> {
    let opts = ReadOptions::default()
        .with_matrix(selection.clone())
        .with_check_values(false);
    let mut reader = store.matrix(&opts)?;
    let (stretches, step) = match reader.encoding() {
        MatrixEncoding::Csc => (CSC_STRETCHES, usize::MAX),
        _ => (STRETCHES, READ_ROWS),
    };
    let mut tally = Tally::default();
    let mut block = CsrRows::default();
    'read: for stretch in sample_ranges(reader.n_rows(), sample_rows.max(1), stretches) {
        let mut start = stretch.start;
        while start < stretch.end {
            let end = stretch.end.min(start.saturating_add(step));
            reader.read_rows(start..end, &mut block)?;
            block.validate_structure()?;
            for r in 0..block.n_rows() {
                let (idx, val) = block.row(r);
                if !tally.add_row(start + r, idx, val) {
                    break 'read;
                }
            }
            start = end;
        }
    }
    let element = selection.element();
    let (content, detail) = tally.verdict(reader.gene_names());
    Ok(ContentReport {
        selection: selection.clone(),
        element,
        content,
        rows_sampled: tally.rows,
        values_sampled: tally.values,
        detail,
    })
}

/// `sample` rows of `0..n_rows` (all of them when fewer) in at most `stretches` disjoint ranges,
/// the first starting at row 0, the last ending at the last row, the gaps between them equal
/// to within a row.
fn sample_ranges(n_rows: usize, sample: usize, stretches: usize) -> Vec<Range<usize>> {
    if sample >= n_rows {
        return if n_rows == 0 {
            Vec::new()
        } else {
            std::iter::once(0..n_rows).collect()
        };
    }
    let k = stretches.clamp(1, sample.max(1));
    let gap_total = (n_rows - sample) as u128;
    let gaps = (k - 1).max(1) as u128;
    // Cumulative share of the gaps after `j` stretches, in u128 so the product cannot overflow.
    let gap_until = |j: usize| (gap_total * j as u128 / gaps) as usize;
    let mut out = Vec::with_capacity(k);
    let mut start = 0;
    for i in 0..k {
        let len = sample / k + usize::from(i < sample % k);
        if len > 0 {
            out.push(start..start + len);
        }
        start += len + gap_until(i + 1) - gap_until(i);
    }
    out
}

/// Where a value sits: (row, column, value).
type At = (usize, u32, f64);

/// The per-cell unit test over many cells.
#[derive(Debug, Default)]
struct UnitTally {
    /// Values that could fail.
    tested: usize,
    /// Values too far above their cell's smallest to tell anything.
    untested: usize,
    failed: usize,
    /// The first failing value and its ratio to its cell's smallest.
    first_failure: Option<(At, f64)>,
}

impl UnitTally {
    /// Tests one cell's non-zero values `x` (with their columns), `x >= 0` or NaN/inf.
    /// `slack[i]` is the relative error that the storage of value `i` may carry into its
    /// ratio to the cell's smallest value (0 for values stored to full `f32` precision).
    fn add_cell(&mut self, row: usize, cols: &[u32], x: &[f64], slack: &[f64]) {
        let (min_at, finite_min) = x
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .fold(
                (0, f64::INFINITY),
                |a, (i, v)| if v < a.1 { (i, v) } else { a },
            );
        let min_slack = slack.get(min_at).copied().unwrap_or(0.0);
        if !finite_min.is_finite() {
            // Nothing finite to measure against: every non-finite value fails.
            self.add_failures(row, cols, x, |v| !v.is_finite(), finite_min);
            return;
        }
        let ratio = |v: f64| v / finite_min;
        let widen = |i: usize, q: f64| q * (slack.get(i).copied().unwrap_or(0.0) + min_slack);
        // A ratio whose storage error could move it by a tenth says little: not tested.
        let precise = |i: usize, r: f64| widen(i, r) <= MAX_WIDEN;
        let tested_at = |i: usize, r: f64| {
            !r.is_finite() || ((r - 1.0).abs() > tol(r) && r <= MAX_RATIO && precise(i, r))
        };
        let fails = |i: usize, r: f64, k: usize| {
            if !r.is_finite() {
                return true;
            }
            let q = r * k as f64;
            (q - q.round()).abs() > tol(q) + widen(i, q)
        };
        let mut best = (usize::MAX, 1);
        for k in 1..=MAX_DIVISOR {
            let n = x
                .iter()
                .enumerate()
                .filter(|&(i, &v)| tested_at(i, ratio(v)) && fails(i, ratio(v), k))
                .count();
            if n < best.0 {
                best = (n, k);
            }
            if n == 0 {
                break;
            }
        }
        let k = best.1;
        self.tested += x
            .iter()
            .enumerate()
            .filter(|&(i, &v)| tested_at(i, ratio(v)))
            .count();
        self.untested += x
            .iter()
            .enumerate()
            .filter(|&(i, &v)| {
                let r = ratio(v);
                r.is_finite() && (r > MAX_RATIO || ((r - 1.0).abs() > tol(r) && !precise(i, r)))
            })
            .count();
        self.failed += best.0;
        if self.first_failure.is_none() && best.0 > 0 {
            if let Some(i) = x
                .iter()
                .enumerate()
                .position(|(i, &v)| tested_at(i, ratio(v)) && fails(i, ratio(v), k))
            {
                self.first_failure = Some(((row, cols[i], x[i]), ratio(x[i])));
            }
        }
    }

    fn add_failures(
        &mut self,
        row: usize,
        cols: &[u32],
        x: &[f64],
        fails: impl Fn(f64) -> bool,
        min: f64,
    ) {
        for (i, &v) in x.iter().enumerate() {
            if fails(v) {
                self.tested += 1;
                self.failed += 1;
                if self.first_failure.is_none() {
                    self.first_failure = Some(((row, cols[i], v), v / min));
                }
            }
        }
    }

    /// Whether the values pass: at most [`OUTLIER_FRACTION`] of the tested ones fail. With
    /// none tested, only when every cell holds a single value (then any reading is right).
    fn passes(&self) -> bool {
        if self.tested == 0 {
            return self.untested == 0;
        }
        self.failed as f64 <= OUTLIER_FRACTION * self.tested as f64
    }

    fn agreement(&self) -> String {
        format!(
            "{} of {} tested values",
            self.tested - self.failed,
            self.tested
        )
    }
}

fn tol(q: f64) -> f64 {
    ABS_TOL + REL_TOL * q
}

/// Everything learnt from the sampled rows.
#[derive(Debug, Default)]
struct Tally {
    rows: usize,
    values: usize,
    max: f64,
    /// The first negative or non-finite value.
    invalid: Option<At>,
    first_fraction: Option<At>,
    plain: UnitTally,
    expm1: UnitTally,
    /// The non-zero values of the row being added, and their columns.
    row_vals: Vec<f64>,
    row_cols: Vec<u32>,
    /// Per value: the relative error its storage may carry (see [`UnitTally::add_cell`]).
    row_slack: Vec<f64>,
}

impl Tally {
    /// Adds one sampled row; `false` once the answer is known (an invalid value).
    fn add_row(&mut self, row: usize, cols: &[u32], vals: &[f32]) -> bool {
        self.rows += 1;
        self.row_vals.clear();
        self.row_cols.clear();
        for (&c, &v) in cols.iter().zip(vals) {
            if v == 0.0 {
                continue;
            }
            let v = f64::from(v);
            if !(v.is_finite() && v > 0.0) {
                self.invalid = Some((row, c, v));
                return false;
            }
            if self.first_fraction.is_none() && v.fract() != 0.0 {
                self.first_fraction = Some((row, c, v));
            }
            self.max = self.max.max(v);
            self.row_vals.push(v);
            self.row_cols.push(c);
        }
        self.values += self.row_vals.len();
        if self.row_vals.is_empty() {
            return true;
        }
        // Values on the 3-decimal grid may be off by half its step: relative to x that is
        // step/x, and after expm1 step * e^v / (e^v - 1) relative to expm1(v).
        let grid = |v: f64, rel: f64| if on_3_decimal_grid(v) { rel } else { 0.0 };
        self.row_slack.clear();
        self.row_slack
            .extend(self.row_vals.iter().map(|&v| grid(v, GRID_HALF_STEP / v)));
        self.plain
            .add_cell(row, &self.row_cols, &self.row_vals, &self.row_slack);
        self.row_slack.clear();
        self.row_slack.extend(
            self.row_vals
                .iter()
                .map(|&v| grid(v, GRID_HALF_STEP / -(-v).exp_m1())),
        );
        for v in self.row_vals.iter_mut() {
            *v = v.exp_m1();
        }
        self.expm1
            .add_cell(row, &self.row_cols, &self.row_vals, &self.row_slack);
        true
    }

    fn verdict(&self, genes: &[String]) -> (MatrixContent, String) {
        let place = |row: usize, col: u32| {
            let name = genes
                .get(col as usize)
                .map(|g| format!(" ({})", g.escape_debug()))
                .unwrap_or_default();
            format!("cell {row}, gene {col}{name}")
        };
        let at = |(row, col, v): At| format!("value {} at {}", number(v), place(row, col));
        if let Some(bad) = self.invalid {
            let why = if bad.2.is_nan() || bad.2.is_infinite() {
                "is not finite"
            } else {
                "is negative, as in scaled or centred data"
            };
            return (MatrixContent::Other, format!("{} {why}", at(bad)));
        }
        if self.values == 0 {
            return (
                MatrixContent::Counts,
                format!("no non-zero values in the {} sampled cells", self.rows),
            );
        }
        let Some(fraction) = self.first_fraction else {
            return (
                MatrixContent::Counts,
                format!("integer counts, max {}", number(self.max)),
            );
        };
        if self.plain.passes() {
            return (
                MatrixContent::NormalizedCounts,
                format!(
                    "{} is not a whole number, but within each cell the values are whole \
                     multiples of one unit ({})",
                    at(fraction),
                    self.plain.agreement()
                ),
            );
        }
        if self.expm1.passes() {
            return (
                MatrixContent::LogNormalized,
                format!(
                    "within each cell, expm1 of the values is a whole multiple of one unit ({})",
                    self.expm1.agreement()
                ),
            );
        }
        let failure = match self.expm1.first_failure {
            Some(((row, col, _), ratio)) => format!(
                "; expm1 of the value at {} is {} times its cell's smallest",
                place(row, col),
                number(ratio)
            ),
            None => String::new(),
        };
        (
            MatrixContent::Other,
            format!(
                "{} is not a whole number, and neither the values nor their expm1 are whole \
                 multiples of a per-cell unit (expm1 passes for {}{failure})",
                at(fraction),
                self.expm1.agreement()
            ),
        )
    }
}

/// A value for messages: whole numbers without decimals, others with four significant digits.
fn number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(rows: &[Vec<f32>]) -> (MatrixContent, String) {
        let mut t = Tally::default();
        for (r, row) in rows.iter().enumerate() {
            let cols: Vec<u32> = (0..row.len() as u32).collect();
            if !t.add_row(r, &cols, row) {
                break;
            }
        }
        let genes: Vec<String> = (0..20).map(|g| format!("G{g}")).collect();
        t.verdict(&genes)
    }

    fn cells() -> Vec<Vec<f32>> {
        (0..40)
            .map(|i| {
                (0..20)
                    .map(|g| ((i * 7 + g * 13) % 11) as f32 * ((g + i) % 3) as f32)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn classifies_counts_normalised_and_log_normalised() {
        let counts = cells();
        assert_eq!(tally(&counts).0, MatrixContent::Counts);
        // A different factor for every cell, as after normalising over genes since dropped.
        let scaled = |f: fn(f32) -> f32| -> Vec<Vec<f32>> {
            counts
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let s = 1e4 / (317.0 + 13.7 * i as f32);
                    row.iter().map(|&c| f(c * s)).collect()
                })
                .collect()
        };
        let (c, d) = tally(&scaled(|v| v));
        assert_eq!(c, MatrixContent::NormalizedCounts, "{d}");
        let (c, d) = tally(&scaled(f32::ln_1p));
        assert_eq!(c, MatrixContent::LogNormalized, "{d}");
        let (c, d) = tally(&scaled(|v| v.ln_1p() * 1.01 + 0.013));
        assert_eq!(c, MatrixContent::Other, "{d}");
    }

    #[test]
    fn log_normalised_values_kept_to_3_decimals_pass() {
        // As scanpy's pbmc68k_reduced keeps its `raw`: log1p(normalised) rounded to 3 decimals.
        let rows: Vec<Vec<f32>> = cells()
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let s = 1e4 / (1317.0 + 113.7 * i as f32);
                row.iter()
                    .map(|&c| ((c * s).ln_1p() * 1000.0).round() / 1000.0)
                    .collect()
            })
            .collect();
        let (c, d) = tally(&rows);
        assert_eq!(c, MatrixContent::LogNormalized, "{d}");
        // Off the grid, the same rounding error is not forgiven.
        let shifted: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&v| if v > 0.0 { v + 0.0004 } else { 0.0 })
                    .collect()
            })
            .collect();
        assert_eq!(tally(&shifted).0, MatrixContent::Other);
    }

    #[test]
    fn cells_whose_smallest_count_is_not_one_still_pass() {
        // Smallest counts 2 to 4: ratios such as 3/2 are whole only after multiplying.
        let rows = |first: f32| -> Vec<Vec<f32>> {
            (0..30)
                .map(|i| {
                    let s = 1e4 / (517.0 + 31.3 * i as f32);
                    let counts = [3.0, 5.0, 7.0, 11.0, 13.0, 29.0, first + (i % 3) as f32];
                    counts.iter().map(|&c| (c * s).ln_1p()).collect()
                })
                .collect()
        };
        let (c, d) = tally(&rows(2.0));
        assert_eq!(c, MatrixContent::LogNormalized, "{d}");
        // Beyond the divisors tried (smallest count 12 and more): not recognised.
        let (c, d) = tally(
            &rows(12.0)
                .iter()
                .map(|r| r[3..].to_vec())
                .collect::<Vec<_>>(),
        );
        assert_eq!(c, MatrixContent::Other, "{d}");
    }

    #[test]
    fn negative_and_nan_values_are_other() {
        let (c, d) = tally(&[vec![0.0, 1.0, -0.19]]);
        assert_eq!(c, MatrixContent::Other);
        assert_eq!(
            d,
            "value -0.19 at cell 0, gene 2 (G2) is negative, as in scaled or centred data"
        );
        let (c, d) = tally(&[vec![1.0], vec![f32::NAN]]);
        assert_eq!(c, MatrixContent::Other);
        assert!(
            d.contains("NaN at cell 1, gene 0") && d.contains("not finite"),
            "{d}"
        );
        let (c, d) = tally(&[vec![f32::INFINITY]]);
        assert_eq!(c, MatrixContent::Other, "{d}");
    }

    #[test]
    fn nothing_sampled_reads_as_counts() {
        assert_eq!(tally(&[]).0, MatrixContent::Counts);
        assert_eq!(tally(&[vec![0.0; 5], vec![]]).0, MatrixContent::Counts);
        // One value per cell: any reading is right.
        let (c, _) = tally(&[vec![0.5, 0.0, 0.5], vec![2.25]]);
        assert_eq!(c, MatrixContent::NormalizedCounts);
        // Values too far apart to tell, and expm1 overflowing: not usable, and no panic.
        let (c, d) = tally(&[vec![1e30, 2.5e30, 0.5]]);
        assert_eq!(c, MatrixContent::Other, "{d}");
    }

    #[test]
    fn sample_ranges_are_disjoint_exact_and_spread() {
        assert!(sample_ranges(0, 10, 16).is_empty());
        let ranges = |r: &[(usize, usize)]| r.iter().map(|&(a, b)| a..b).collect::<Vec<_>>();
        assert_eq!(sample_ranges(5, 10, 16), ranges(&[(0, 5)]));
        assert_eq!(sample_ranges(10, 1, 4), ranges(&[(0, 1)]));
        assert_eq!(sample_ranges(10, 4, 2), ranges(&[(0, 2), (8, 10)]));
        for (n, s, k) in [
            (100, 10, 16),
            (100, 99, 16),
            (1000, 512, 16),
            (7, 3, 4),
            (178, 24, 16),
        ] {
            let r = sample_ranges(n, s, k);
            assert!(
                r.windows(2).all(|w| w[0].end < w[1].start || s + 1 >= n),
                "{r:?}"
            );
            assert!(r.windows(2).all(|w| w[0].end <= w[1].start), "{r:?}");
            assert!(r.iter().all(|x| x.start < x.end && x.end <= n), "{r:?}");
            assert_eq!(r.iter().map(|x| x.len()).sum::<usize>(), s, "{r:?}");
            assert_eq!((r[0].start, r.last().unwrap().end), (0, n), "{r:?}");
        }
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(-0.19), "-0.19");
        assert_eq!(number(812.0), "812");
        assert_eq!(number(1.573_21), "1.573");
        assert_eq!(number(1e-7), "1.000e-7");
    }
}
