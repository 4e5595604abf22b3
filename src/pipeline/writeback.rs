//! Predictions of the row-source tasks ([`crate::tasks`]) as obs columns, and written back
//! into a store.

use super::{LabelOutput, Predictions};
use crate::error::Result;
use crate::io::{add_obs_columns, AddColumnsOptions, Column};
use crate::tasks::LabelPrediction;

/// Obs columns for predictions over a store of `n_obs` cells: `{prefix}` (categorical label),
/// `{prefix}_confidence` (float), `{prefix}_text` (string) and `{prefix}_precision`
/// (categorical: the precision of the graphs that decided, e.g. `int8`, or `fp32` for a
/// re-decided near-tie). Rows without a prediction (or without a label) get a missing
/// category, NaN confidence and empty text; rows without a prediction a missing precision.
///
/// # Errors
/// [`crate::Error::Shape`] if a prediction's row is outside `0..n_obs`.
pub fn prediction_columns(
    predictions: &[LabelPrediction],
    n_obs: usize,
    prefix: &str,
) -> Result<Vec<(String, Column)>> {
    let rows = predictions.iter().map(|p| p.row);
    let p = Predictions {
        task: String::new(),
        mode: None,
        labels: Vec::new(),
        temperature: None,
        n_obs,
        rows: rows.clone().min().unwrap_or(0)..rows.max().map_or(0, |r| r + 1),
        predictions: predictions.to_vec(),
        cell_names: Vec::new(),
    };
    p.columns(&LabelOutput::default().with_key_added(prefix))
}

/// An unordered categorical column of `values` (sorted categories; `None` is missing).
pub(crate) fn categorical(values: &[Option<String>]) -> Column {
    let mut categories: Vec<String> = values.iter().flatten().cloned().collect();
    categories.sort();
    categories.dedup();
    let codes = values
        .iter()
        .map(|l| match l {
            Some(l) => categories.binary_search(l).map_or(-1, |i| i as i32),
            None => -1,
        })
        .collect();
    Column::Categorical {
        codes,
        categories,
        ordered: false,
    }
}

/// Adds the prediction columns to the zarr store at `path` (see [`prediction_columns`]) without
/// touching existing data; the write is atomic.
///
/// # Errors
/// Store errors (an existing column without overwrite, an `.h5ad` store, IO failures).
pub fn write_predictions(
    path: impl AsRef<std::path::Path>,
    predictions: &[LabelPrediction],
    n_obs: usize,
    prefix: &str,
    opts: &AddColumnsOptions,
) -> Result<()> {
    add_obs_columns(path, &prediction_columns(predictions, n_obs, prefix)?, opts)
}
