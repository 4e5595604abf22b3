//! Checks of what is about to be written: column names, lengths and categorical codes, the
//! obs of a new store, and row blocks against the store's genes.

use super::backend::Backend;
use super::column::{dataframe_layout, Column, DataFrame};
use super::problem::StoreProblem;
use crate::error::{Error, Result};
use crate::matrix::CsrRows;

/// Checks a column's codes against its categories.
pub(crate) fn check_column(name: &str, col: &Column, n_rows: usize) -> Result<()> {
    if col.len() != n_rows {
        return Err(Error::Shape(format!(
            "column '{name}' has {} values for {n_rows} rows",
            col.len()
        )));
    }
    if let Column::Categorical {
        codes, categories, ..
    } = col
    {
        if let Some(c) = codes
            .iter()
            .find(|&&c| c < -1 || c as i64 >= categories.len() as i64)
        {
            return Err(Error::InvalidArgument(format!(
                "column '{name}': code {c} for {} categories",
                categories.len()
            )));
        }
    }
    Ok(())
}

/// Checks that `name` can be a dataframe member: not empty, no path separator, no dot start.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') || name.starts_with("__") {
        return Err(Error::InvalidArgument(format!(
            "'{name}' cannot be a column name (empty, contains '/', or starts with '.' or '__')"
        )));
    }
    Ok(())
}

/// Checks obs against the number of rows written; returns the index to write.
pub(crate) fn checked_obs(obs: &DataFrame, n_rows: usize) -> Result<Vec<String>> {
    let index = if obs.index.is_empty() {
        (0..n_rows).map(|i| i.to_string()).collect()
    } else {
        obs.index.clone()
    };
    if index.len() != n_rows {
        return Err(Error::Shape(format!(
            "obs index has {} names for {n_rows} cells",
            index.len()
        )));
    }
    for (i, (name, col)) in obs.columns.iter().enumerate() {
        check_name(name)?;
        if name == "_index" || obs.columns[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidArgument(format!(
                "obs column '{name}' is reserved or given twice"
            )));
        }
        check_column(name, col, n_rows)?;
    }
    Ok(index)
}

/// Checks a block against the store's gene count before it is written.
pub(crate) fn checked_block(rows: &CsrRows, n_cols: usize) -> Result<()> {
    if rows.n_cols != n_cols {
        return Err(Error::Shape(format!(
            "block has {} columns but the store has {n_cols} genes",
            rows.n_cols
        )));
    }
    rows.validate()
}

/// Checks `columns` against the obs dataframe of `backend` before anything is written: valid
/// distinct names, none the index, right lengths and codes, and no existing member of the same
/// name (`exists`) unless `overwrite`. Returns the obs column order.
pub(crate) fn check_new_columns(
    backend: &dyn Backend,
    columns: &[(String, Column)],
    overwrite: bool,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let (index_key, order) = dataframe_layout(backend, "obs")?;
    let n_obs = backend
        .open_array(&format!("obs/{index_key}"))?
        .shape()
        .first()
        .copied()
        .unwrap_or(0) as usize;
    for (i, (name, col)) in columns.iter().enumerate() {
        check_name(name)?;
        if name == &index_key {
            return Err(Error::InvalidArgument(format!(
                "'{name}' is the obs index, not a column"
            )));
        }
        if columns[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidArgument(format!(
                "column '{name}' given twice"
            )));
        }
        check_column(name, col, n_obs)?;
        if !overwrite && (order.contains(name) || exists(name)) {
            return Err(backend
                .ctx()
                .err(&format!("obs/{name}"), StoreProblem::AlreadyExists));
        }
    }
    Ok(order)
}
