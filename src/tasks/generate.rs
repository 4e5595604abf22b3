//! Conditional pseudo-cell generation: conditions in, counts (and the model's text) out,
//! writable as a new AnnData store.

use super::progress::Control;
use crate::error::{Error, Result};
use crate::generation::{DecodingOptions, StopReason};
use crate::io::{AnnDataWriter, Column, DataFrame, WriteOptions};
use crate::matrix::CsrRows;
use crate::model::{CellOptions, Model, Prompt};
use crate::prompt::{Metadata, Template};

/// Built-in generation template (own wording); `{cell_type}` is required, `{species}` and
/// `{tissue}` are used when the caller gives them (see [`generate_cells`]).
pub const GENERATE_TEMPLATE: &str = "Generate one {species} {cell_type} from {tissue}.";
const GENERATE_TEMPLATE_SHORT: &str = "Generate one {cell_type}.";

/// One condition: a cell type plus optional metadata, and how many cells to make.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRequest {
    /// The cell type to generate.
    pub cell_type: String,
    /// Further fields (`species`, `tissue`, ...).
    pub metadata: Metadata,
    /// Number of cells.
    pub n_cells: usize,
}

/// Generated cells with their conditions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GeneratedCells {
    /// Counts over the model's genes, one row per generated cell.
    pub counts: CsrRows,
    /// For each row: the index of its request.
    pub request: Vec<usize>,
    /// For each row: the requested cell type.
    pub cell_type: Vec<String>,
    /// For each row: the model's text answer (without the signal token).
    pub text: Vec<String>,
    /// Requests × attempt where the model answered without asking for a cell (no row made).
    pub refused: Vec<(usize, String)>,
}

impl GeneratedCells {
    /// Cells made elsewhere (one row of `counts` per entry of `request`, `cell_type` and
    /// `text`), e.g. to write them with [`write_generated`]; nothing refused.
    ///
    /// # Errors
    /// [`Error::Shape`] when the lists do not have one entry per row of `counts`.
    pub fn new(
        counts: CsrRows,
        request: Vec<usize>,
        cell_type: Vec<String>,
        text: Vec<String>,
    ) -> Result<Self> {
        let n = counts.n_rows();
        if request.len() != n || cell_type.len() != n || text.len() != n {
            return Err(Error::Shape(format!(
                "{n} generated rows but {} requests, {} cell types and {} texts",
                request.len(),
                cell_type.len(),
                text.len()
            )));
        }
        Ok(GeneratedCells {
            counts,
            request,
            cell_type,
            text,
            refused: Vec::new(),
        })
    }
}

/// Options of [`generate_cells`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CellGenerationOptions {
    /// The caller's template (`{cell_type}` and metadata fields; no `{input}`).
    pub template: Option<String>,
    /// Decoding of the text part.
    pub generation: DecodingOptions,
    /// Counts (sampled or mean), seed, library size.
    pub cells: CellOptions,
    /// Prompts per model call.
    pub batch_size: usize,
}

impl Default for CellGenerationOptions {
    fn default() -> Self {
        CellGenerationOptions {
            template: None,
            generation: DecodingOptions::default().with_max_new_tokens(32),
            cells: CellOptions::default(),
            batch_size: 16,
        }
    }
}

impl CellGenerationOptions {
    /// Uses the caller's template.
    pub fn with_template(mut self, t: impl Into<String>) -> Self {
        self.template = Some(t.into());
        self
    }
    /// Sets the decoding options.
    pub fn with_generation(mut self, g: DecodingOptions) -> Self {
        self.generation = g;
        self
    }
    /// Sets how counts are produced.
    pub fn with_cells(mut self, c: CellOptions) -> Self {
        self.cells = c;
        self
    }
    /// Sets prompts per model call (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
}

/// Generates `n_cells` cells for every request. Each attempt is a prompt with its own id (the
/// running attempt number), so results are reproducible for a seed and independent of batching.
/// Attempts where the model does not emit the cell-generation signal are listed in
/// [`GeneratedCells::refused`] rather than silently dropped.
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty request list or a request for zero cells; prompt
/// errors (a template with `{input}`, a missing field); [`Error::Cancelled`]; runtime errors.
pub fn generate_cells(
    model: &Model,
    requests: &[CellRequest],
    opts: &CellGenerationOptions,
    control: &mut Control<'_>,
) -> Result<GeneratedCells> {
    opts.generation.validate()?;
    if requests.is_empty() || requests.iter().any(|r| r.n_cells == 0) {
        return Err(Error::InvalidArgument(
            "generation needs at least one request, each for at least one cell".into(),
        ));
    }
    let texts: Vec<String> = requests
        .iter()
        .map(|r| {
            let meta = r.metadata.clone().with("cell_type", r.cell_type.clone());
            let source = match &opts.template {
                Some(t) => t.as_str(),
                None if meta.get("species").is_some() && meta.get("tissue").is_some() => {
                    GENERATE_TEMPLATE
                }
                None => GENERATE_TEMPLATE_SHORT,
            };
            model
                .formatter()
                .format(&Template::parse(source)?, &meta, None, false)
        })
        .collect::<Result<_>>()?;
    let attempts: Vec<usize> = requests
        .iter()
        .enumerate()
        .flat_map(|(i, r)| std::iter::repeat_n(i, r.n_cells))
        .collect();
    let total = attempts.len();
    let mut out = GeneratedCells {
        counts: CsrRows::new(model.dims().num_genes),
        request: Vec::new(),
        cell_type: Vec::new(),
        text: Vec::new(),
        refused: Vec::new(),
    };
    let signal = model.cell_signal_token();
    for (chunk_no, chunk) in attempts.chunks(opts.batch_size).enumerate() {
        if control.cancelled() {
            return Err(Error::Cancelled);
        }
        let first = chunk_no * opts.batch_size;
        let prompts: Vec<Prompt<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(k, &r)| Prompt {
                text: &texts[r],
                expression: None,
                id: (first + k) as u64,
            })
            .collect();
        let answers = model.generate(&prompts, &opts.generation, &opts.cells, None)?;
        for (&r, a) in chunk.iter().zip(answers) {
            match (a.cell, a.stop) {
                (Some(cell), StopReason::Token(t)) if Some(t) == signal => {
                    out.counts.indices.extend_from_slice(&cell.counts.indices);
                    out.counts.data.extend_from_slice(&cell.counts.data);
                    out.counts.indptr.push(out.counts.indices.len() as u64);
                    out.request.push(r);
                    out.cell_type.push(requests[r].cell_type.clone());
                    out.text.push(a.text);
                }
                _ => out.refused.push((r, a.text)),
            }
        }
        control.report((first + chunk.len()).min(total), total);
    }
    Ok(out)
}

/// Writes generated cells as a new AnnData store (X = counts, obs = cell type, request and text,
/// var = the model's genes), atomically.
///
/// # Errors
/// The writer's errors (an existing path without overwrite, IO failures).
pub fn write_generated(
    path: impl AsRef<std::path::Path>,
    cells: &GeneratedCells,
    model: &Model,
    opts: &WriteOptions,
) -> Result<()> {
    let mut w = AnnDataWriter::create(path, model.genes(), opts)?;
    w.append(&cells.counts)?;
    let n = cells.request.len();
    let obs = DataFrame::new(
        (0..n).map(|i| format!("generated-{i}")).collect(),
        vec![
            (
                "cell_type".to_string(),
                Column::categorical_from_labels(&cells.cell_type),
            ),
            (
                "request".to_string(),
                Column::Int(cells.request.iter().map(|&r| r as i64).collect()),
            ),
            ("text".to_string(), Column::String(cells.text.clone())),
        ],
    );
    w.finish(&obs)
}
