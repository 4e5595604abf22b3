//! Instruction templates: `{field}` substitution with metadata, choices and the cell placeholder.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Values for a template's fields (`species`, `tissue`, `sequencing_method`, `drug`,
/// `cell_type`, ...). Keys a template does not use are ignored; a field the template uses
/// without a value is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    values: BTreeMap<String, String>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Sets a field.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.values.insert(key.into(), value.into());
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
}

/// A parsed instruction template. `{name}` is a field; `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    source: String,
}

impl Template {
    /// Parses `text`.
    ///
    /// # Errors
    /// [`Error::Prompt`] for an unclosed `{`, a stray `}` or an empty/invalid field name.
    pub fn parse(text: &str) -> Result<Self> {
        let mut pieces = Vec::new();
        let mut buf = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|x| x.1) == Some('{') => {
                    chars.next();
                    buf.push('{');
                }
                '}' if chars.peek().map(|x| x.1) == Some('}') => {
                    chars.next();
                    buf.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c2) in chars.by_ref() {
                        if c2 == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c2);
                    }
                    if !closed {
                        return Err(Error::Prompt(format!(
                            "unclosed '{{' at byte {pos} of template {text:?}"
                        )));
                    }
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(Error::Prompt(format!(
                            "invalid field name {{{name}}} in template {text:?}"
                        )));
                    }
                    if !buf.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut buf)));
                    }
                    pieces.push(Piece::Field(name));
                }
                '}' => {
                    return Err(Error::Prompt(format!(
                    "unmatched '}}' at byte {pos} of template {text:?} (write '}}}}' for a brace)"
                )))
                }
                c => buf.push(c),
            }
        }
        if !buf.is_empty() {
            pieces.push(Piece::Text(buf));
        }
        Ok(Template {
            pieces,
            source: text.to_string(),
        })
    }

    /// The template text as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Field names used, in order of first appearance.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.pieces {
            if let Piece::Field(f) = p {
                if !out.contains(&f.as_str()) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// Whether the template uses `field`.
    pub fn uses(&self, field: &str) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Field(f) if f == field))
    }

    /// Fills every field from `lookup`.
    ///
    /// # Errors
    /// [`Error::Prompt`] naming the first field `lookup` has no value for.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
        let mut out = String::with_capacity(self.source.len() + 64);
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => match lookup(f) {
                    Some(v) => out.push_str(&v),
                    None => {
                        return Err(Error::Prompt(format!(
                            "template field {{{f}}} has no value (template: {:?})",
                            self.source
                        )))
                    }
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_escapes() {
        let t = Template::parse("Cell {input} from {tissue}; {{literal}} {tissue}").unwrap();
        assert_eq!(t.fields(), vec!["input", "tissue"]);
        let s = t
            .render(|f| {
                Some(if f == "input" {
                    "X".into()
                } else {
                    "lung".into()
                })
            })
            .unwrap();
        assert_eq!(s, "Cell X from lung; {literal} lung");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("a {open").is_err());
        assert!(Template::parse("a } b").is_err());
        assert!(Template::parse("a {} b").is_err());
        assert!(Template::parse("a {bad name} b").is_err());
        let t = Template::parse("{species} {drug}").unwrap();
        let err = t
            .render(|f| (f == "species").then(|| "human".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("{drug}"), "{err}");
    }
}
