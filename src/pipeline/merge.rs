//! Shard tables back into one result: the predictions one unsharded run would have made.

use std::path::PathBuf;

use super::predictions::Predictions;
use super::table::read_table;
use crate::error::{Error, Result};

/// Merges the tables of a sharded run over a dataset whose cells are `obs_names`.
///
/// Every row must appear exactly once across the tables, under the cell name the dataset
/// gives it (so tables of another dataset, a missing shard or a shard run twice are caught),
/// and scored tables must share one label set. The result lists the rows in order.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the table and the cell for each of those problems;
/// table read errors.
pub fn merge_tables(obs_names: &[String], tables: &[PathBuf]) -> Result<Predictions> {
    if tables.is_empty() {
        return Err(Error::InvalidArgument(
            "merge needs at least one table".into(),
        ));
    }
    let n = obs_names.len();
    let mut seen: Vec<Option<usize>> = vec![None; n];
    let mut labels: Option<(Vec<String>, usize)> = None;
    let mut all = Vec::new();
    for (t, path) in tables.iter().enumerate() {
        let table = read_table(path)?;
        if !table.labels.is_empty() {
            match &labels {
                None => labels = Some((table.labels.clone(), t)),
                Some((l, first)) if *l != table.labels => {
                    return Err(Error::InvalidArgument(format!(
                        "{} scores other labels than {}",
                        path.display(),
                        tables[*first].display()
                    )))
                }
                Some(_) => {}
            }
        }
        for (p, cell) in table.predictions.into_iter().zip(table.cell_names) {
            let Some(name) = obs_names.get(p.row) else {
                return Err(Error::InvalidArgument(format!(
                    "{}: row {} is outside the dataset's {n} cells",
                    path.display(),
                    p.row
                )));
            };
            if *name != cell {
                return Err(Error::InvalidArgument(format!(
                    "{}: row {} is cell '{cell}' there but '{name}' in the dataset: \
                     the table belongs to another dataset",
                    path.display(),
                    p.row
                )));
            }
            if let Some(other) = seen[p.row] {
                return Err(Error::InvalidArgument(format!(
                    "cell '{cell}' (row {}) is in both {} and {}",
                    p.row,
                    tables[other].display(),
                    path.display()
                )));
            }
            seen[p.row] = Some(t);
            all.push((p, cell));
        }
    }
    let missing: Vec<usize> = (0..n).filter(|&r| seen[r].is_none()).collect();
    if let Some(&first) = missing.first() {
        return Err(Error::InvalidArgument(format!(
            "{} of {n} cells are in no table (first: row {first}, '{}'): a shard is missing",
            missing.len(),
            obs_names[first]
        )));
    }
    all.sort_by_key(|(p, _)| p.row);
    let (predictions, cell_names) = all.into_iter().unzip();
    Ok(Predictions {
        task: "merged".into(),
        mode: None,
        labels: labels.map(|(l, _)| l).unwrap_or_default(),
        temperature: None,
        n_obs: n,
        rows: 0..n,
        predictions,
        cell_names,
    })
}
