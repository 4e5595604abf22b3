//! What a matrix of a store holds (counts, normalised counts, log-normalised values or something
//! else), and which matrix of a store to give a model.
//!
//! The models normalise every cell to a fixed library size and apply `log1p` themselves, so
//! they need counts, but only up to a per-cell factor: normalised counts (`normalize_total`
//! without `log1p`) can be used as they are, and log-normalised values (`log1p` of such values)
//! exactly, through `expm1` ([`Expm1Rows`](crate::io::Expm1Rows)). The factor may differ from cell
//! to cell (stores normalised over all genes and subset afterwards). Scaled, centred or
//! otherwise transformed values cannot be turned back into counts.

use std::ops::Range;

use serde::Serialize;

use super::matrix::MatrixEncoding;
use super::options::{MatrixSelection, ReadOptions};
use super::store::AnnDataStore;
pub use super::tally::MatrixContent;
use super::tally::Tally;
use crate::error::Result;
use crate::matrix::{CsrRows, RowSource};

/// Rows [`choose_matrix`](crate::io::choose_matrix) samples from each matrix it inspects.
pub const DEFAULT_SAMPLE_ROWS: usize = 512;

/// Stretches of rows the sample is spread over (CSC: each costs a scan of the whole matrix).
const STRETCHES: usize = 16;
const CSC_STRETCHES: usize = 4;
/// Rows read at a time inside a stretch (CSR and dense).
const READ_ROWS: usize = 64;

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
pub(super) fn serialize_selection<S: serde::Serializer>(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
