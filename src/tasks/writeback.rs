//! Writing predictions back into the dataset's store as new obs columns.

use super::classify::LabelPrediction;
use crate::error::{Error, Result};
use crate::io::{add_obs_columns, AddColumnsOptions, Column};

/// Obs columns for predictions over a store of `n_obs` cells: `{prefix}` (categorical label),
/// `{prefix}_confidence` (float), `{prefix}_text` (string) and `{prefix}_precision`
/// (categorical: the precision of the graphs that decided, e.g. `int8`, or `fp32` for a
/// re-decided near-tie). Rows without a prediction (or without a label) get a missing
/// category, NaN confidence and empty text; rows without a prediction a missing precision.
///
/// # Errors
/// [`Error::Shape`] if a prediction's row is outside `0..n_obs`.
pub fn prediction_columns(
    predictions: &[LabelPrediction],
    n_obs: usize,
    prefix: &str,
) -> Result<Vec<(String, Column)>> {
    let mut labels: Vec<Option<String>> = vec![None; n_obs];
    let mut conf = vec![f64::NAN; n_obs];
    let mut text = vec![String::new(); n_obs];
    let mut precision: Vec<Option<String>> = vec![None; n_obs];
    for p in predictions {
        if p.row >= n_obs {
            return Err(Error::Shape(format!(
                "prediction for row {} of a store with {n_obs} cells",
                p.row
            )));
        }
        labels[p.row] = p.label.clone();
        conf[p.row] = p.confidence as f64;
        text[p.row] = p.text.clone();
        precision[p.row] = Some(p.precision.as_str().to_string());
    }
    Ok(vec![
        (prefix.to_string(), categorical(&labels)),
        (format!("{prefix}_confidence"), Column::Float(conf)),
        (format!("{prefix}_text"), Column::String(text)),
        (format!("{prefix}_precision"), categorical(&precision)),
    ])
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
