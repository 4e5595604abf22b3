//! 10x Genomics Matrix Market directories: `matrix.mtx`, `features.tsv` (or `genes.tsv` in the
//! older layout) and `barcodes.tsv`, each optionally gzipped.
//!
//! The file stores genes x cells as text triplets with no random access, so the whole matrix
//! is parsed once and transposed into cells x genes CSR in memory; memory is proportional to
//! the number of stored values (about 8 bytes each). Convert large inputs to zarr once with
//! [`AnnDataWriter`](crate::io::AnnDataWriter) for bounded-memory streaming.

use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::problem::{StoreCtx, StoreProblem};
use crate::error::{Error, Result};
use crate::matrix::{CsrRows, RowSource};

/// Which `features.tsv` column names the genes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TenxGeneNames {
    /// Second column, the gene symbol (scanpy's default).
    #[default]
    Symbol,
    /// First column, the gene identifier (e.g. Ensembl id).
    Id,
}

/// How to read a 10x directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenxOptions {
    /// Which column gives the gene names (default: symbols).
    pub gene_names: TenxGeneNames,
    /// Reject NaN, infinite and negative values (default `true`).
    pub check_values: bool,
}

impl Default for TenxOptions {
    fn default() -> Self {
        TenxOptions {
            gene_names: TenxGeneNames::Symbol,
            check_values: true,
        }
    }
}

impl TenxOptions {
    /// Chooses the gene name column.
    pub fn with_gene_names(mut self, names: TenxGeneNames) -> Self {
        self.gene_names = names;
        self
    }

    /// Turns the NaN/infinite/negative check on or off.
    pub fn with_check_values(mut self, check: bool) -> Self {
        self.check_values = check;
        self
    }
}

/// A 10x Matrix Market directory loaded as cells x genes. Implements [`RowSource`].
#[derive(Debug, Clone)]
pub struct TenxMatrix {
    ctx: StoreCtx,
    genes: Vec<String>,
    gene_ids: Vec<String>,
    barcodes: Vec<String>,
    indptr: Vec<u64>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

/// Opens `dir/name` or `dir/name.gz`, whichever exists.
fn open_text(dir: &Path, names: &[&str], ctx: &StoreCtx) -> Result<(String, Box<dyn BufRead>)> {
    for name in names {
        for candidate in [name.to_string(), format!("{name}.gz")] {
            let path: PathBuf = dir.join(&candidate);
            if !path.is_file() {
                continue;
            }
            let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            let reader: Box<dyn Read> = if candidate.ends_with(".gz") {
                Box::new(flate2::read::MultiGzDecoder::new(file))
            } else {
                Box::new(file)
            };
            return Ok((candidate, Box::new(BufReader::new(reader))));
        }
    }
    Err(ctx.err(&names.join(" or "), StoreProblem::Missing))
}

fn lines(file: &str, r: Box<dyn BufRead>, ctx: &StoreCtx) -> Result<Vec<String>> {
    r.lines()
        .map(|l| l.map_err(|e| ctx.backend(file, e)))
        .filter(|l| !matches!(l, Ok(s) if s.is_empty()))
        .collect()
}

impl TenxMatrix {
    /// Reads the directory `dir`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be read; [`Error::Store`] naming the file for a
    /// missing `matrix.mtx`/`features.tsv`/`barcodes.tsv` (plain or gzipped), a malformed
    /// Matrix Market header or entry, counts that disagree with the size line, or lists whose
    /// lengths do not match the matrix.
    pub fn open(dir: impl AsRef<Path>, opts: &TenxOptions) -> Result<Self> {
        let dir = dir.as_ref();
        let ctx = StoreCtx::new(dir);
        if !dir.is_dir() {
            return Err(ctx.err("", StoreProblem::UnknownFormat("not a directory".into())));
        }
        let (bc_file, r) = open_text(dir, &["barcodes.tsv"], &ctx)?;
        let barcodes: Vec<String> = lines(&bc_file, r, &ctx)?
            .into_iter()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect();
        let (gene_file, r) = open_text(dir, &["features.tsv", "genes.tsv"], &ctx)?;
        let mut gene_ids = Vec::new();
        let mut genes = Vec::new();
        for (i, l) in lines(&gene_file, r, &ctx)?.into_iter().enumerate() {
            let mut f = l.split('\t');
            let id = f.next().unwrap_or("").to_string();
            let symbol = f.next().map(str::to_string).ok_or_else(|| {
                ctx.shape(
                    &gene_file,
                    format!("line {} has no second (symbol) column", i + 1),
                )
            })?;
            genes.push(match opts.gene_names {
                TenxGeneNames::Symbol => symbol,
                TenxGeneNames::Id => id.clone(),
            });
            gene_ids.push(id);
        }
        let (mtx_file, r) = open_text(dir, &["matrix.mtx"], &ctx)?;
        let (indptr, indices, data) = read_mtx(
            &mtx_file,
            r,
            genes.len(),
            barcodes.len(),
            opts.check_values,
            &ctx,
        )?;
        Ok(TenxMatrix {
            ctx,
            genes,
            gene_ids,
            barcodes,
            indptr,
            indices,
            data,
        })
    }

    /// Cell barcodes, one per row.
    pub fn barcodes(&self) -> &[String] {
        &self.barcodes
    }

    /// Gene identifiers (first `features.tsv` column), one per column.
    pub fn gene_ids(&self) -> &[String] {
        &self.gene_ids
    }
}

type Csr = (Vec<u64>, Vec<u32>, Vec<f32>);

/// Parses a coordinate Matrix Market file of genes x cells into cells x genes CSR.
fn read_mtx(
    file: &str,
    r: Box<dyn BufRead>,
    n_genes: usize,
    n_cells: usize,
    check: bool,
    ctx: &StoreCtx,
) -> Result<Csr> {
    let mut it = r.lines().enumerate();
    let bad = |line: usize, what: &str| ctx.shape(file, format!("line {}: {what}", line + 1));
    let (_, header) = it.next().ok_or_else(|| bad(0, "empty file"))?;
    let header = header
        .map_err(|e| ctx.backend(file, e))?
        .to_ascii_lowercase();
    let words: Vec<&str> = header.split_whitespace().collect();
    if words.len() < 5 || words[0] != "%%matrixmarket" || words[1] != "matrix" {
        return Err(ctx.err(
            file,
            StoreProblem::UnknownFormat("not a Matrix Market file".into()),
        ));
    }
    if words[2] != "coordinate" || !matches!(words[3], "integer" | "real") || words[4] != "general"
    {
        return Err(ctx.unsupported(file, format!("Matrix Market '{}'", words[2..].join(" "))));
    }
    let mut size: Option<(usize, usize, usize)> = None;
    let mut triplets: Vec<(u32, u32, f32)> = Vec::new();
    for (no, line) in it {
        let line = line.map_err(|e| ctx.backend(file, e))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('%') {
            continue;
        }
        let mut f = line.split_whitespace();
        let mut num = |what: &str| -> Result<&str> { f.next().ok_or_else(|| bad(no, what)) };
        let (a, b, c) = (
            num("missing field")?,
            num("missing field")?,
            num("missing field")?,
        );
        let Some((rows, cols, _)) = size else {
            let parse = |s: &str| s.parse::<usize>().map_err(|_| bad(no, "bad size line"));
            let dims = (parse(a)?, parse(b)?, parse(c)?);
            if dims.0 != n_genes || dims.1 != n_cells {
                return Err(ctx.shape(
                    file,
                    format!(
                        "{} x {} matrix for {n_genes} genes and {n_cells} barcodes",
                        dims.0, dims.1
                    ),
                ));
            }
            if dims.2 > dims.0.saturating_mul(dims.1) {
                return Err(ctx.shape(
                    file,
                    format!(
                        "the size line claims {} entries in a {} x {} matrix",
                        dims.2, dims.0, dims.1
                    ),
                ));
            }
            // The claim is checked against the entries read; memory follows those, not it.
            triplets.reserve(dims.2.min(1 << 20));
            size = Some(dims);
            continue;
        };
        let g: usize = a.parse().map_err(|_| bad(no, "bad gene index"))?;
        let cell: usize = b.parse().map_err(|_| bad(no, "bad cell index"))?;
        let v: f32 = c.parse().map_err(|_| bad(no, "bad value"))?;
        // Matrix Market indices are 1-based.
        for (idx, bound, major) in [(g, rows, cell), (cell, cols, g)] {
            if idx == 0 || idx > bound {
                return Err(ctx.err(
                    file,
                    StoreProblem::IndexOutOfRange {
                        major: major.saturating_sub(1) as u64,
                        index: idx as i128 - 1,
                        bound: bound as u64,
                    },
                ));
            }
        }
        if check && !(v.is_finite() && v >= 0.0) {
            return Err(ctx.err(
                file,
                StoreProblem::InvalidValue {
                    row: (cell - 1) as u64,
                    column: (g - 1) as u64,
                    value: v as f64,
                },
            ));
        }
        triplets.push(((cell - 1) as u32, (g - 1) as u32, v));
    }
    let Some((_, _, claimed)) = size else {
        return Err(bad(0, "no size line"));
    };
    if triplets.len() != claimed {
        return Err(ctx.shape(
            file,
            format!(
                "the size line claims {claimed} entries but the file holds {}",
                triplets.len()
            ),
        ));
    }
    // Sort by (cell, gene): rows in order and columns ascending within each row.
    triplets.sort_unstable_by_key(|&(r, c, _)| (r, c));
    let mut indptr = vec![0u64; n_cells + 1];
    for &(r, _, _) in &triplets {
        indptr[r as usize + 1] += 1;
    }
    for i in 0..n_cells {
        indptr[i + 1] += indptr[i];
    }
    let indices = triplets.iter().map(|t| t.1).collect();
    let data = triplets.iter().map(|t| t.2).collect();
    Ok((indptr, indices, data))
}

impl RowSource for TenxMatrix {
    fn n_rows(&self) -> usize {
        self.barcodes.len()
    }

    fn n_cols(&self) -> usize {
        self.genes.len()
    }

    fn gene_names(&self) -> &[String] {
        &self.genes
    }

    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        if rows.start > rows.end || rows.end > self.n_rows() {
            return Err(Error::InvalidArgument(format!(
                "rows {rows:?} out of range for {} cells in {}",
                self.n_rows(),
                self.ctx.path().display()
            )));
        }
        out.clear(self.genes.len());
        let (a, z) = (self.indptr[rows.start], self.indptr[rows.end]);
        out.indices
            .extend_from_slice(&self.indices[a as usize..z as usize]);
        out.data
            .extend_from_slice(&self.data[a as usize..z as usize]);
        out.indptr.extend(
            self.indptr[rows.start + 1..=rows.end]
                .iter()
                .map(|&p| p - a),
        );
        Ok(())
    }
}
