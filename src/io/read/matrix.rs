//! Streaming rows out of an X-like element: CSR, CSC (converted while streaming) or dense.

use std::ops::Range;

use serde_json::Value;

use super::backend::{attr_str, join, ArrayHandle, Backend, NodeKind};
use super::options::ReadOptions;
use super::problem::{StoreCtx, StoreProblem};
use super::values::{extend_indices, Dtype};
use crate::error::Result;
use crate::matrix::{CsrRows, RowSource};

enum Layout {
    Csr {
        indptr: Box<dyn ArrayHandle>,
        indices: Box<dyn ArrayHandle>,
        data: Box<dyn ArrayHandle>,
    },
    /// The column pointer is small (one entry per gene) and kept; entries are scanned in windows.
    Csc {
        indptr: Vec<u64>,
        indices: Box<dyn ArrayHandle>,
        data: Box<dyn ArrayHandle>,
    },
    Dense(Box<dyn ArrayHandle>),
}

/// Which sparse layout the element uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatrixEncoding {
    /// Compressed sparse rows: rows are read directly.
    Csr,
    /// Compressed sparse columns: each row block costs one scan over all stored entries, in
    /// windows of [`ReadOptions::csc_scan_window`] entries, so memory stays bounded.
    Csc,
    /// A dense 2-D array: row blocks are read and their non-zeros kept.
    Dense,
}

/// A matrix of a store, streamed as CSR row blocks. Implements [`RowSource`].
///
/// Opening reads only metadata, the var names and a couple of pointer entries; every
/// [`read_rows`](RowSource::read_rows) reads the pointer slice of its rows and the matching
/// index/value ranges, i.e. only the chunks that hold them.
pub struct MatrixReader {
    ctx: StoreCtx,
    element: String,
    layout: Layout,
    n_rows: usize,
    n_cols: usize,
    genes: Vec<String>,
    check_values: bool,
    window: usize,
}

impl std::fmt::Debug for MatrixReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixReader")
            .field("store", &self.ctx.path())
            .field("element", &self.element)
            .field("encoding", &self.encoding())
            .field("n_rows", &self.n_rows)
            .field("n_cols", &self.n_cols)
            .finish()
    }
}

fn numeric_matrix_dtype(ctx: &StoreCtx, el: &str, arr: &dyn ArrayHandle) -> Result<()> {
    match arr.dtype() {
        Dtype::Int(_) | Dtype::UInt(_) | Dtype::Float(_) => Ok(()),
        other => Err(ctx.unsupported(el, format!("{other} matrix values"))),
    }
}

fn one_dim(ctx: &StoreCtx, el: &str, arr: &dyn ArrayHandle) -> Result<u64> {
    match arr.shape() {
        [n] => Ok(*n),
        s => Err(ctx.shape(el, format!("expected a 1-D array, found shape {s:?}"))),
    }
}

fn shape_attr(ctx: &StoreCtx, el: &str, v: Option<&Value>) -> Result<(u64, u64)> {
    let dims: Option<Vec<u64>> = v
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .and_then(|x| x);
    match dims.as_deref() {
        Some([r, c]) => Ok((*r, *c)),
        _ => Err(ctx.shape(
            el,
            format!("shape attribute is {v:?}, expected [rows, columns]"),
        )),
    }
}

impl MatrixReader {
    pub(crate) fn open(b: &dyn Backend, opts: &ReadOptions, n_obs: u64) -> Result<Self> {
        let ctx = b.ctx().clone();
        let el = opts.matrix.element();
        if el.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
            return Err(crate::Error::InvalidArgument(format!(
                "'{el}' is not a valid matrix element name"
            )));
        }
        let kind = b
            .node(&el)?
            .ok_or_else(|| ctx.err(&el, StoreProblem::Missing))?;
        let attrs = b.attrs(&el)?;
        // anndata < 0.7 wrote sparse matrices with `h5sparse_*` attributes instead.
        let enc = attr_str(&attrs, "encoding-type")
            .or_else(|| match attr_str(&attrs, "h5sparse_format") {
                Some("csr") => Some("csr_matrix"),
                Some("csc") => Some("csc_matrix"),
                _ => None,
            })
            .unwrap_or("");
        let (layout, n_rows, n_cols) = match (kind, enc) {
            (NodeKind::Array, "" | "array") => {
                let arr = b.open_array(&el)?;
                numeric_matrix_dtype(&ctx, &el, arr.as_ref())?;
                let (r, c) = match arr.shape() {
                    [r, c] => (*r, *c),
                    s => return Err(ctx.shape(&el, format!("dense matrix has shape {s:?}"))),
                };
                (Layout::Dense(arr), r, c)
            }
            (NodeKind::Group, "csr_matrix" | "csc_matrix") => {
                let (r, c) = shape_attr(
                    &ctx,
                    &el,
                    attrs.get("shape").or_else(|| attrs.get("h5sparse_shape")),
                )?;
                let ip_el = join(&el, "indptr");
                let ix_el = join(&el, "indices");
                let d_el = join(&el, "data");
                let indptr = b.open_array(&ip_el)?;
                let indices = b.open_array(&ix_el)?;
                let data = b.open_array(&d_el)?;
                numeric_matrix_dtype(&ctx, &d_el, data.as_ref())?;
                let n_ptr = one_dim(&ctx, &ip_el, indptr.as_ref())?;
                let nnz = one_dim(&ctx, &d_el, data.as_ref())?;
                if one_dim(&ctx, &ix_el, indices.as_ref())? != nnz {
                    return Err(ctx.shape(
                        &el,
                        format!(
                            "indices has {} entries but data has {nnz}",
                            indices.shape()[0]
                        ),
                    ));
                }
                let major = if enc == "csr_matrix" { r } else { c };
                if n_ptr != major + 1 {
                    return Err(ctx.shape(
                        &ip_el,
                        format!(
                            "{n_ptr} entries for a {r} x {c} {enc} (expected {})",
                            major + 1
                        ),
                    ));
                }
                let ends = [0, major].map(|p| indptr.read(p..p + 1));
                let [first, last] = ends;
                let first = first?.to_offsets(&ctx, &ip_el)?[0];
                let last = last?.to_offsets(&ctx, &ip_el)?[0];
                if first != 0 || last != nnz {
                    return Err(ctx.shape(
                        &ip_el,
                        format!(
                            "runs from {first} to {last}, expected 0 to {nnz} (the data length)"
                        ),
                    ));
                }
                let layout = if enc == "csr_matrix" {
                    Layout::Csr {
                        indptr,
                        indices,
                        data,
                    }
                } else {
                    let ptr = indptr.read_all()?.to_offsets(&ctx, &ip_el)?;
                    check_monotone(&ctx, &ip_el, &ptr, 0)?;
                    Layout::Csc {
                        indptr: ptr,
                        indices,
                        data,
                    }
                };
                (layout, r, c)
            }
            (NodeKind::Group, _) | (NodeKind::Array, _) => {
                return Err(ctx.err(
                    &el,
                    StoreProblem::WrongEncoding {
                        expected: "'csr_matrix', 'csc_matrix' or a dense 'array'".into(),
                        found: enc.into(),
                    },
                ))
            }
        };
        if n_rows != n_obs {
            return Err(ctx.shape(&el, format!("{n_rows} rows but obs has {n_obs} cells")));
        }
        if n_cols > u32::MAX as u64 + 1 {
            return Err(ctx.unsupported(&el, format!("{n_cols} columns (at most 2^32)")));
        }
        let var_el = opts.matrix.var_element();
        let genes = match &opts.gene_column {
            Some(col) => {
                let (index, _) = super::column::dataframe_layout(b, var_el)?;
                let _ = index;
                let c_el = join(var_el, col);
                let column = super::column::read_column(b, &c_el)?;
                super::column::strings_of(b, &c_el, column)?
            }
            None => super::column::read_index(b, var_el)?,
        };
        if genes.len() as u64 != n_cols {
            return Err(ctx.shape(
                var_el,
                format!("{} genes but {el} has {n_cols} columns", genes.len()),
            ));
        }
        Ok(MatrixReader {
            ctx,
            element: el,
            layout,
            n_rows: n_rows as usize,
            n_cols: n_cols as usize,
            genes,
            check_values: opts.check_values,
            window: opts.csc_scan_window.max(1),
        })
    }

    /// The layout of the matrix on disk.
    pub fn encoding(&self) -> MatrixEncoding {
        match self.layout {
            Layout::Csr { .. } => MatrixEncoding::Csr,
            Layout::Csc { .. } => MatrixEncoding::Csc,
            Layout::Dense(_) => MatrixEncoding::Dense,
        }
    }

    /// Rows per storage chunk of the row-addressed array (`indptr` of CSR, the array itself
    /// when dense); `None` for CSC, whose chunks follow genes, or unchunked arrays.
    pub fn chunk_rows(&self) -> Option<usize> {
        match &self.layout {
            Layout::Csr { indptr, .. } => indptr.chunk_rows().map(|n| n as usize),
            Layout::Dense(a) => a.chunk_rows().map(|n| n as usize),
            Layout::Csc { .. } => None,
        }
    }

    /// The element read, e.g. `X` or `layers/counts`.
    pub fn element(&self) -> &str {
        &self.element
    }

    fn check_value(&self, row: u64, column: u64, value: f32) -> Result<()> {
        if self.check_values && !(value.is_finite() && value >= 0.0) {
            return Err(self.ctx.err(
                &join(&self.element, "data"),
                StoreProblem::InvalidValue {
                    row,
                    column,
                    value: value as f64,
                },
            ));
        }
        Ok(())
    }

    fn read_csr(&self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        let Layout::Csr {
            indptr,
            indices,
            data,
        } = &self.layout
        else {
            unreachable!("read_csr on a non-CSR layout")
        };
        let ip_el = join(&self.element, "indptr");
        let ptr = indptr
            .read(rows.start as u64..rows.end as u64 + 1)?
            .to_offsets(&self.ctx, &ip_el)?;
        check_monotone(&self.ctx, &ip_el, &ptr, rows.start as u64)?;
        let (a, z) = (ptr[0], ptr[ptr.len() - 1]);
        let idx = indices.read(a..z)?;
        let row_of = |pos: usize| {
            let p = a + pos as u64;
            rows.start as u64 + ptr.partition_point(|&x| x <= p).saturating_sub(1) as u64
        };
        extend_indices(
            &idx,
            self.n_cols as u64,
            &mut out.indices,
            &self.ctx,
            &join(&self.element, "indices"),
            row_of,
        )?;
        let vals = data.read(a..z)?;
        vals.extend_f32(&mut out.data);
        out.indptr.extend(ptr[1..].iter().map(|&p| p - a));
        if self.check_values {
            for r in 0..ptr.len() - 1 {
                let (s, e) = ((ptr[r] - a) as usize, (ptr[r + 1] - a) as usize);
                for k in s..e {
                    self.check_value((rows.start + r) as u64, out.indices[k] as u64, out.data[k])?;
                }
            }
        }
        Ok(())
    }

    fn read_csc(&self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        let Layout::Csc {
            indptr,
            indices,
            data,
        } = &self.layout
        else {
            unreachable!("read_csc on a non-CSC layout")
        };
        let ix_el = join(&self.element, "indices");
        let nnz = *indptr.last().unwrap_or(&0);
        let (r0, r1) = (rows.start as i128, rows.end as i128);
        // (row within block, column, value), gathered in column order.
        let mut hits: Vec<(u32, u32, f32)> = Vec::new();
        let mut col = 0usize;
        let mut start = 0u64;
        let mut window_vals = Vec::new();
        while start < nnz {
            let end = (start + self.window as u64).min(nnz);
            let idx = indices.read(start..end)?.ints().ok_or_else(|| {
                self.ctx
                    .unsupported(&ix_el, format!("{} index array", indices.dtype()))
            })?;
            let mut have_vals = false;
            for (k, &r) in idx.iter().enumerate() {
                let pos = start + k as u64;
                while indptr[col + 1] <= pos {
                    col += 1;
                }
                if r < 0 || r >= self.n_rows as i128 {
                    return Err(self.ctx.err(
                        &ix_el,
                        StoreProblem::IndexOutOfRange {
                            major: col as u64,
                            index: r,
                            bound: self.n_rows as u64,
                        },
                    ));
                }
                if r >= r0 && r < r1 {
                    if !have_vals {
                        // Values are decoded only for windows that hold rows of this block.
                        window_vals.clear();
                        data.read(start..end)?.extend_f32(&mut window_vals);
                        have_vals = true;
                    }
                    hits.push(((r - r0) as u32, col as u32, window_vals[k]));
                }
            }
            start = end;
        }
        // Counting sort by row keeps the column order inside each row.
        let n = rows.len();
        let mut counts = vec![0u64; n + 1];
        for h in &hits {
            counts[h.0 as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        out.indices.resize(hits.len(), 0);
        out.data.resize(hits.len(), 0.0);
        let mut next = counts.clone();
        for &(r, c, v) in &hits {
            let slot = next[r as usize] as usize;
            out.indices[slot] = c;
            out.data[slot] = v;
            next[r as usize] += 1;
        }
        out.indptr.clear();
        out.indptr.extend_from_slice(&counts);
        if self.check_values {
            for r in 0..n {
                for k in counts[r] as usize..counts[r + 1] as usize {
                    self.check_value((rows.start + r) as u64, out.indices[k] as u64, out.data[k])?;
                }
            }
        }
        Ok(())
    }

    fn read_dense(&self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        let Layout::Dense(arr) = &self.layout else {
            unreachable!("read_dense on a non-dense layout")
        };
        let vals = arr.read(rows.start as u64..rows.end as u64)?;
        let mut dense = Vec::with_capacity(vals.len());
        vals.extend_f32(&mut dense);
        for (r, row) in dense
            .chunks(self.n_cols.max(1))
            .enumerate()
            .take(rows.len())
        {
            for (c, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    self.check_value((rows.start + r) as u64, c as u64, v)?;
                    out.indices.push(c as u32);
                    out.data.push(v);
                }
            }
            out.indptr.push(out.indices.len() as u64);
        }
        // A matrix with zero columns still has rows.
        while out.indptr.len() < rows.len() + 1 {
            out.indptr.push(0);
        }
        Ok(())
    }
}

fn check_monotone(ctx: &StoreCtx, el: &str, ptr: &[u64], offset: u64) -> Result<()> {
    if let Some(i) = ptr.windows(2).position(|w| w[1] < w[0]) {
        return Err(ctx.err(
            el,
            StoreProblem::IndptrNotMonotone {
                position: offset + i as u64 + 1,
                before: ptr[i] as i128,
                after: ptr[i + 1] as i128,
            },
        ));
    }
    Ok(())
}

impl RowSource for MatrixReader {
    fn n_rows(&self) -> usize {
        self.n_rows
    }

    fn n_cols(&self) -> usize {
        self.n_cols
    }

    fn gene_names(&self) -> &[String] {
        &self.genes
    }

    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> Result<()> {
        if rows.start > rows.end || rows.end > self.n_rows {
            return Err(crate::Error::InvalidArgument(format!(
                "rows {rows:?} out of range for {} cells in {}",
                self.n_rows,
                self.ctx.path().display()
            )));
        }
        out.clear(self.n_cols);
        let res = match self.layout {
            Layout::Csr { .. } => self.read_csr(rows, out),
            Layout::Csc { .. } => self.read_csc(rows, out),
            Layout::Dense(_) => self.read_dense(rows, out),
        };
        if res.is_err() {
            // Never hand back a half-filled block.
            out.clear(self.n_cols);
        }
        res
    }
}
