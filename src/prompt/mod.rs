//! Prompts: instruction templates with metadata, the package's wrapper and choices format,
//! tokenization, and splicing cell vectors into the encoder input.

mod splice;
mod template;
mod tokenizer;

pub use splice::{splice_batch, EncoderBatch, SpliceRow};
pub use template::{Metadata, Template};
pub use tokenizer::TextTokenizer;

use crate::error::{Error, Result};
use crate::package::manifest::PromptSpec;

/// Turns a template + metadata (+ choices, + whether a cell is attached) into the prompt text
/// the model was trained on: the template is filled, then wrapped by the package's wrapper.
#[derive(Debug, Clone)]
pub struct PromptFormatter {
    spec: PromptSpec,
    input_field: String,
}

impl PromptFormatter {
    /// A formatter for a package's prompt conventions.
    pub fn new(spec: PromptSpec) -> Self {
        let input_field = spec
            .input_field
            .trim_start_matches('{')
            .trim_end_matches('}')
            .to_string();
        PromptFormatter { spec, input_field }
    }

    /// Renders a label list, e.g. `(B cell, T cell)`.
    pub fn choices_text(&self, labels: &[String]) -> String {
        let c = &self.spec.choices;
        format!("{}{}{}", c.open, labels.join(&c.separator), c.close)
    }

    /// The full prompt text.
    ///
    /// * `{input}` (the package's input field) becomes the cell text when `with_cell`;
    /// * `{choices}` becomes [`Self::choices_text`] of `choices`;
    /// * every other field comes from `metadata`.
    ///
    /// # Errors
    /// [`Error::Prompt`] when a cell is attached but the template has no `{input}`, when the
    /// template has `{input}` but no cell is attached, when `{choices}` is used without choices
    /// (or with an empty list), or when a field has no value.
    pub fn format(
        &self,
        template: &Template,
        metadata: &Metadata,
        choices: Option<&[String]>,
        with_cell: bool,
    ) -> Result<String> {
        let uses_input = template.uses(&self.input_field);
        if with_cell && !uses_input {
            return Err(Error::Prompt(format!(
                "cells were given but the template has no {{{}}} placeholder: {:?}",
                self.input_field,
                template.source()
            )));
        }
        if !with_cell && uses_input {
            return Err(Error::Prompt(format!(
                "the template has a {{{}}} placeholder but no cell was given",
                self.input_field
            )));
        }
        if template.uses("choices") {
            match choices {
                None => {
                    return Err(Error::Prompt(
                        "the template uses {choices} but no label set was given".into(),
                    ))
                }
                Some([]) => return Err(Error::Prompt("the label set is empty".into())),
                Some(_) => {}
            }
        }
        let body = template.render(|f| {
            if f == self.input_field {
                Some(self.spec.cell_text.clone())
            } else if f == "choices" {
                choices.map(|c| self.choices_text(c))
            } else {
                metadata.get(f).map(str::to_string)
            }
        })?;
        Ok(self.spec.wrapper.replacen("{prompt}", &body, 1))
    }
}
