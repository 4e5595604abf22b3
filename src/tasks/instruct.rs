//! Free-form instructions: one prompt (with or without a cell) answered as the model answers.

use crate::error::Result;
use crate::generation::DecodingOptions;
use crate::model::{Answer, CellOptions, Model, Prompt};
use crate::prompt::{Metadata, Template};

/// Follows one free-form instruction. `template` may contain metadata fields; it must contain
/// `{input}` exactly when `cell` (a preprocessed expression vector) is given. When the model
/// asks for a cell, the answer carries the generated cell.
///
/// # Errors
/// Prompt errors, runtime errors.
pub fn instruct(
    model: &Model,
    template: &str,
    metadata: &Metadata,
    cell: Option<&[f32]>,
    generation: &DecodingOptions,
    cells: &CellOptions,
) -> Result<Answer> {
    let t = Template::parse(template)?;
    let text = model
        .formatter()
        .format(&t, metadata, None, cell.is_some())?;
    let prompt = Prompt {
        text: &text,
        expression: cell,
        id: 0,
    };
    let mut out = model.generate(&[prompt], generation, cells, None)?;
    Ok(out.remove(0))
}
