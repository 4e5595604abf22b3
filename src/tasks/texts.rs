//! Prompt texts of a dataset task: one text for every cell, or one per distinct combination of
//! per-cell metadata values.

use std::collections::HashMap;

use super::options::CellMetadata;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::prompt::{Metadata, Template};

/// Formats (and caches) the prompt of each source row.
pub(crate) struct PromptTexts<'a> {
    model: &'a Model,
    template: Template,
    base: &'a Metadata,
    choices: Option<&'a [String]>,
    cells: &'a CellMetadata,
    fixed: Option<String>,
    cache: HashMap<Vec<String>, String>,
}

impl<'a> PromptTexts<'a> {
    /// Checks the per-cell fields against the source's `n_rows` and, when there are none,
    /// formats the single shared text.
    pub(crate) fn new(
        model: &'a Model,
        template: Template,
        base: &'a Metadata,
        choices: Option<&'a [String]>,
        cells: &'a CellMetadata,
        n_rows: usize,
    ) -> Result<Self> {
        for (key, values) in cells.fields() {
            if values.len() != n_rows {
                return Err(Error::Shape(format!(
                    "per-cell field '{key}' has {} values for {n_rows} cells",
                    values.len()
                )));
            }
        }
        let fixed = if cells.is_empty() {
            Some(model.formatter().format(&template, base, choices, true)?)
        } else {
            None
        };
        Ok(PromptTexts {
            model,
            template,
            base,
            choices,
            cells,
            fixed,
            cache: HashMap::new(),
        })
    }

    /// The prompt text of source row `row`.
    pub(crate) fn text(&mut self, row: usize) -> Result<String> {
        if let Some(t) = &self.fixed {
            return Ok(t.clone());
        }
        let mut key = Vec::new();
        for (field, values) in self.cells.fields() {
            match values.get(row).and_then(Option::as_deref) {
                Some(v) => key.push(v.to_string()),
                None => {
                    return Err(Error::Prompt(format!(
                        "cell {row} has no value for the per-cell template field '{field}'"
                    )))
                }
            }
        }
        if let Some(t) = self.cache.get(&key) {
            return Ok(t.clone());
        }
        let mut meta = self.base.clone();
        for ((field, _), value) in self.cells.fields().zip(&key) {
            meta.insert(field, value.as_str());
        }
        let text = self
            .model
            .formatter()
            .format(&self.template, &meta, self.choices, true)?;
        self.cache.insert(key, text.clone());
        Ok(text)
    }
}
