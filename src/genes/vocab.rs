//! Reading a gene vocabulary file.

use crate::error::{Error, Result};
use std::path::Path;

/// Reads a gene vocabulary: one identifier per line, in model input order.
///
/// Surrounding whitespace (including a Windows `\r`) is trimmed and a trailing empty line is
/// ignored; an empty line inside the file is an error, since it would shift every later position.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::InvalidArgument`] for an empty
/// line inside it or an empty vocabulary.
pub fn read_vocabulary(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut genes: Vec<String> = text.lines().map(|l| l.trim().to_owned()).collect();
    while genes.last().is_some_and(|g| g.is_empty()) {
        genes.pop();
    }
    if let Some(i) = genes.iter().position(|g| g.is_empty()) {
        return Err(Error::InvalidArgument(format!(
            "gene vocabulary {} has an empty line at line {}",
            path.display(),
            i + 1
        )));
    }
    if genes.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "gene vocabulary {} is empty",
            path.display()
        )));
    }
    Ok(genes)
}
