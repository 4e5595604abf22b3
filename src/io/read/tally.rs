//! The test behind [`inspect_matrix`](super::content::inspect_matrix): whether sampled cells
//! hold whole counts, counts up to a per-cell factor, or `log1p` of such values.

use serde::Serialize;

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

/// Where a value sits: (row, column, value).
type At = (usize, u32, f64);

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
pub(super) struct Tally {
    /// Rows added.
    pub rows: usize,
    /// Non-zero values seen.
    pub values: usize,
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
    pub(super) fn add_row(&mut self, row: usize, cols: &[u32], vals: &[f32]) -> bool {
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

    pub(super) fn verdict(&self, genes: &[String]) -> (MatrixContent, String) {
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
    fn numbers_read_well() {
        assert_eq!(number(-0.19), "-0.19");
        assert_eq!(number(812.0), "812");
        assert_eq!(number(1.573_21), "1.573");
        assert_eq!(number(1e-7), "1.000e-7");
    }
}
