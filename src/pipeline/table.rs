//! Result tables: one row per cell as TSV, CSV or JSON lines, chosen by the file's extension.
//!
//! Columns: `cell`, `row` (0-based in the dataset), `label` (the model's label, empty when a
//! free answer names none), `confidence`, `text`, `precision`; then `assigned` (after the
//! probability threshold) and `majority_voting` when asked for; in scored mode one `p_<label>`
//! column per label, in the order of the set. JSON lines carry the same fields, the
//! probabilities as an object keyed by label, in the order of the set. Numbers are written in the shortest form that reads back to the
//! same `f32`, so [`read_table`] recovers the predictions bit for bit.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::predictions::{Assigned, Predictions};
use crate::error::{Error, Result};
use crate::package::Precision;
use crate::tasks::LabelPrediction;

/// A table's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableFormat {
    /// Tab-separated values (`.tsv`, `.txt`).
    Tsv,
    /// Comma-separated values (`.csv`).
    Csv,
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    JsonLines,
}

impl TableFormat {
    /// The format named by `path`'s extension.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("tsv" | "txt") => Ok(TableFormat::Tsv),
            Some("csv") => Ok(TableFormat::Csv),
            Some("jsonl" | "ndjson") => Ok(TableFormat::JsonLines),
            _ => Err(Error::InvalidArgument(format!(
                "{}: a table file must end in .tsv, .csv or .jsonl",
                path.display()
            ))),
        }
    }
}

const PREFIX: &str = "p_";

fn prob_columns(p: &Predictions) -> bool {
    p.predictions.iter().any(|x| !x.probabilities.is_empty())
}

/// Writes `predictions` (with their post-processed labels `assigned`) to `path` atomically,
/// in the format its extension names.
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown extension; [`Error::Io`] when it cannot be
/// written (nothing is left behind).
pub fn write_table(
    path: impl AsRef<Path>,
    predictions: &Predictions,
    assigned: &Assigned,
) -> Result<()> {
    let path = path.as_ref();
    let format = TableFormat::from_path(path)?;
    let bytes = match format {
        TableFormat::JsonLines => jsonl(predictions, assigned),
        TableFormat::Tsv => delimited(predictions, assigned, b'\t')?,
        TableFormat::Csv => delimited(predictions, assigned, b',')?,
    };
    crate::io::write_file_atomic(path, &bytes)
}

fn jsonl(p: &Predictions, a: &Assigned) -> Vec<u8> {
    let mut out = Vec::new();
    let scored = prob_columns(p);
    for (i, x) in p.predictions.iter().enumerate() {
        let mut o = Map::new();
        o.insert(
            "cell".into(),
            json!(p.cell_names.get(i).cloned().unwrap_or_default()),
        );
        o.insert("row".into(), json!(x.row));
        o.insert("label".into(), json!(x.label));
        o.insert("confidence".into(), num32(x.confidence));
        o.insert("text".into(), json!(x.text));
        o.insert("precision".into(), json!(x.precision));
        if a.labels != labels_of(p) {
            o.insert("assigned".into(), json!(a.labels[i]));
        }
        if let Some(m) = &a.majority {
            o.insert("majority_voting".into(), json!(m[i]));
        }
        if scored {
            let probs: Map<String, Value> = p
                .labels
                .iter()
                .zip(&x.probabilities)
                .map(|(l, v)| (l.clone(), num32(*v)))
                .collect();
            o.insert("probabilities".into(), Value::Object(probs));
        }
        out.extend(serde_json::to_vec(&Value::Object(o)).unwrap_or_default());
        out.push(b'\n');
    }
    out
}

/// `x` as the JSON number that prints shortest and reads back to the same `f32`.
fn num32(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map_or(Value::Null, |f| json!(f))
}

fn labels_of(p: &Predictions) -> Vec<Option<String>> {
    p.predictions.iter().map(|x| x.label.clone()).collect()
}

fn delimited(p: &Predictions, a: &Assigned, delimiter: u8) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    let thresholded = a.labels != labels_of(p);
    let scored = prob_columns(p);
    let mut header: Vec<String> = ["cell", "row", "label", "confidence", "text", "precision"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if thresholded {
        header.push("assigned".into());
    }
    if a.majority.is_some() {
        header.push("majority_voting".into());
    }
    if scored {
        header.extend(p.labels.iter().map(|l| format!("{PREFIX}{l}")));
    }
    let err = |e: csv::Error| Error::InvalidArgument(format!("cannot format the table: {e}"));
    w.write_record(&header).map_err(err)?;
    for (i, x) in p.predictions.iter().enumerate() {
        let mut rec = vec![
            p.cell_names.get(i).cloned().unwrap_or_default(),
            x.row.to_string(),
            x.label.clone().unwrap_or_default(),
            x.confidence.to_string(),
            x.text.clone(),
            x.precision.as_str().to_string(),
        ];
        if thresholded {
            rec.push(a.labels[i].clone().unwrap_or_default());
        }
        if let Some(m) = &a.majority {
            rec.push(m[i].clone().unwrap_or_default());
        }
        if scored {
            rec.extend(x.probabilities.iter().map(|v| v.to_string()));
        }
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::InvalidArgument(format!("cannot format the table: {e}")))
}

/// The rows of a table written by [`write_table`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableRows {
    /// The labels of the `p_<label>` columns (empty when the table has none).
    pub labels: Vec<String>,
    /// The predictions, in the table's order.
    pub predictions: Vec<LabelPrediction>,
    /// The cell name of each prediction.
    pub cell_names: Vec<String>,
}

fn table_err(path: &Path, line: usize, what: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{}, line {line}: {what}", path.display()))
}

fn parse_precision(path: &Path, line: usize, s: &str) -> Result<Precision> {
    s.parse()
        .map_err(|_| table_err(path, line, format!("'{s}' is not a precision")))
}

fn parse_f32(path: &Path, line: usize, what: &str, s: &str) -> Result<f32> {
    s.parse()
        .map_err(|_| table_err(path, line, format!("{what} '{s}' is not a number")))
}

/// Reads a table written by [`write_table`] (format from the extension).
///
/// # Errors
/// [`Error::Io`] when it cannot be read; [`Error::InvalidArgument`] naming the line for a
/// missing column or a malformed value.
pub fn read_table(path: impl AsRef<Path>) -> Result<TableRows> {
    let path = path.as_ref();
    let format = TableFormat::from_path(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match format {
        TableFormat::JsonLines => read_jsonl(path, &bytes),
        TableFormat::Tsv => read_delimited(path, &bytes, b'\t'),
        TableFormat::Csv => read_delimited(path, &bytes, b','),
    }
}

fn prediction(
    row: usize,
    label: Option<String>,
    confidence: f32,
    text: String,
    precision: Precision,
    probabilities: Vec<f32>,
) -> LabelPrediction {
    LabelPrediction {
        row,
        label,
        confidence,
        probabilities,
        text,
        precision,
    }
}

fn read_delimited(path: &Path, bytes: &[u8], delimiter: u8) -> Result<TableRows> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(bytes);
    let header = r
        .headers()
        .map_err(|e| table_err(path, 1, e))?
        .iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| table_err(path, 1, format!("no '{name}' column")))
    };
    let (c_cell, c_row, c_label, c_conf, c_text, c_prec) = (
        col("cell")?,
        col("row")?,
        col("label")?,
        col("confidence")?,
        col("text")?,
        col("precision")?,
    );
    let probs: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_prefix(PREFIX).map(|l| (i, l.to_string())))
        .collect();
    let mut out = TableRows {
        labels: probs.iter().map(|(_, l)| l.clone()).collect(),
        predictions: Vec::new(),
        cell_names: Vec::new(),
    };
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| table_err(path, line, e))?;
        let get = |i: usize| rec.get(i).unwrap_or("");
        let row = get(c_row)
            .parse()
            .map_err(|_| table_err(path, line, format!("row '{}' is not a number", get(c_row))))?;
        let label = Some(get(c_label).to_string()).filter(|l| !l.is_empty());
        let p = probs
            .iter()
            .map(|(i, l)| parse_f32(path, line, &format!("{PREFIX}{l}"), get(*i)))
            .collect::<Result<Vec<f32>>>()?;
        out.predictions.push(prediction(
            row,
            label,
            parse_f32(path, line, "confidence", get(c_conf))?,
            get(c_text).to_string(),
            parse_precision(path, line, get(c_prec))?,
            p,
        ));
        out.cell_names.push(get(c_cell).to_string());
    }
    Ok(out)
}

fn read_jsonl(path: &Path, bytes: &[u8]) -> Result<TableRows> {
    let text = std::str::from_utf8(bytes).map_err(|e| table_err(path, 1, e))?;
    let mut out = TableRows {
        labels: Vec::new(),
        predictions: Vec::new(),
        cell_names: Vec::new(),
    };
    for (k, l) in text.lines().enumerate() {
        let line = k + 1;
        if l.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(l).map_err(|e| table_err(path, line, e))?;
        let field = |name: &str| {
            v.get(name)
                .ok_or_else(|| table_err(path, line, format!("no '{name}' field")))
        };
        let str_of = |name: &str| -> Result<String> {
            field(name)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| table_err(path, line, format!("'{name}' is not a string")))
        };
        let num = |x: &Value, name: &str| -> Result<f32> {
            x.as_f64()
                .map(|f| f as f32)
                .ok_or_else(|| table_err(path, line, format!("'{name}' is not a number")))
        };
        let row = field("row")?
            .as_u64()
            .ok_or_else(|| table_err(path, line, "'row' is not a whole number"))?
            as usize;
        let label = match field("label")? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(table_err(path, line, "'label' is not a string")),
        };
        let mut probs = Vec::new();
        if let Some(Value::Object(m)) = v.get("probabilities") {
            let names: Vec<String> = m.keys().cloned().collect();
            if out.labels.is_empty() {
                out.labels = names.clone();
            } else if out.labels != names {
                return Err(table_err(path, line, "the probabilities name other labels"));
            }
            for (name, x) in m {
                probs.push(num(x, name)?);
            }
        }
        out.predictions.push(prediction(
            row,
            label,
            num(field("confidence")?, "confidence")?,
            str_of("text")?,
            parse_precision(path, line, &str_of("precision")?)?,
            probs,
        ));
        out.cell_names.push(str_of("cell")?);
    }
    Ok(out)
}
