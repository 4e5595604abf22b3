//! Writing a new AnnData store (CSR `X`, obs, var) from streamed row blocks.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::atomic::{publish, temp_sibling, TempDir};
use super::checks::{checked_block, checked_obs};
use super::column::DataFrame;
use super::encode::{enc, write_dataframe};
use super::options::{StoreFormat, WriteOptions};
use super::problem::{StoreCtx, StoreProblem};
use super::values::Dtype;
use super::zarr::{Appender, ZarrOut};
use crate::error::{Error, Result};
use crate::matrix::CsrRows;

/// Writes a new AnnData store: cells are appended as CSR blocks, obs comes at the end.
///
/// Everything is written into a temporary sibling of the destination and renamed into place
/// by [`finish`](AnnDataWriter::finish); dropping the writer before that deletes the temporary
/// copy and leaves the destination untouched. Memory is bounded by one chunk per array.
///
/// ```no_run
/// use instructcell::io::{AnnDataWriter, Column, DataFrame, WriteOptions};
/// use instructcell::CsrRows;
/// # fn main() -> instructcell::Result<()> {
/// let genes = vec!["CD3E".to_string(), "MS4A1".to_string()];
/// let mut w = AnnDataWriter::create("generated.zarr", &genes, &WriteOptions::default())?;
/// let mut block = CsrRows::new(2);
/// block.push_row(&[0], &[3.0])?;
/// w.append(&block)?;
/// let obs = DataFrame::new(
///     vec!["cell0".into()],
///     vec![("condition".into(), Column::categorical_from_labels(&["T cell"]))],
/// );
/// w.finish(&obs)?;
/// # Ok(()) }
/// ```
pub struct AnnDataWriter {
    inner: Inner,
}

enum Inner {
    // Boxed: the writers are large and differ in size; one allocation per store is nothing.
    Zarr(Box<ZarrWriter>),
    #[cfg(feature = "h5ad")]
    H5(Box<super::h5::H5Writer>),
}

impl std::fmt::Debug for AnnDataWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnDataWriter").finish_non_exhaustive()
    }
}

impl AnnDataWriter {
    /// Starts a store at `path` whose genes (var index) are `var_names`.
    ///
    /// Fails with [`StoreProblem::AlreadyExists`] if `path` exists and
    /// [`WriteOptions::overwrite`] is off.
    ///
    /// # Errors
    /// As above; [`Error::Io`] when the temporary store cannot be created;
    /// [`StoreProblem::FeatureDisabled`] for `.h5ad` without the `h5ad` feature.
    pub fn create(
        path: impl AsRef<Path>,
        var_names: &[String],
        opts: &WriteOptions,
    ) -> Result<Self> {
        let path = path.as_ref();
        let ctx = StoreCtx::new(path);
        if path.symlink_metadata().is_ok() && !opts.overwrite {
            return Err(ctx.err("", StoreProblem::AlreadyExists));
        }
        if var_names.len() > i32::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "{} genes: at most 2^31 - 1 can be indexed",
                var_names.len()
            )));
        }
        let inner = match opts.format {
            StoreFormat::Zarr(v) => {
                Inner::Zarr(Box::new(ZarrWriter::create(path, ctx, v, var_names, opts)?))
            }
            #[cfg(feature = "h5ad")]
            StoreFormat::H5ad => Inner::H5(Box::new(super::h5::H5Writer::create(
                path, var_names, opts,
            )?)),
            #[cfg(not(feature = "h5ad"))]
            StoreFormat::H5ad => return Err(ctx.err("", StoreProblem::FeatureDisabled("h5ad"))),
        };
        Ok(AnnDataWriter { inner })
    }

    /// Appends the rows of `rows` (its `n_cols` must equal the number of genes).
    ///
    /// # Errors
    /// [`Error::Shape`] when `rows` has another number of columns or is malformed;
    /// [`Error::Io`] / [`Error::Store`] when writing fails.
    pub fn append(&mut self, rows: &CsrRows) -> Result<()> {
        match &mut self.inner {
            Inner::Zarr(w) => w.append(rows),
            #[cfg(feature = "h5ad")]
            Inner::H5(w) => w.append(rows),
        }
    }

    /// Number of cells appended so far.
    pub fn n_rows(&self) -> usize {
        match &self.inner {
            Inner::Zarr(w) => w.n_rows,
            #[cfg(feature = "h5ad")]
            Inner::H5(w) => w.n_rows(),
        }
    }

    /// Writes obs and the remaining metadata, then moves the store into place.
    ///
    /// `obs.index` gives the cell names; if it is empty, cells are named `"0"`, `"1"`, ...
    /// (as anndata does). Every column must have one value per appended cell.
    ///
    /// # Errors
    /// [`Error::Shape`] when a column's length is not the number of appended cells;
    /// [`StoreProblem::AlreadyExists`] when the destination appeared meanwhile and overwriting
    /// is off; [`Error::Io`] / [`Error::Store`] when writing or the final rename fails.
    pub fn finish(self, obs: &DataFrame) -> Result<()> {
        match self.inner {
            Inner::Zarr(w) => w.finish(obs),
            #[cfg(feature = "h5ad")]
            Inner::H5(w) => w.finish(obs),
        }
    }
}

struct ZarrWriter {
    dest: PathBuf,
    ctx: StoreCtx,
    overwrite: bool,
    tmp: TempDir,
    out: ZarrOut,
    var_names: Vec<String>,
    indptr: Appender<i64>,
    indices: Appender<i32>,
    data: Appender<f32>,
    n_rows: usize,
    scratch: Vec<i64>,
}

impl ZarrWriter {
    fn create(
        dest: &Path,
        ctx: StoreCtx,
        version: super::zarr_read::ZarrVersion,
        var_names: &[String],
        opts: &WriteOptions,
    ) -> Result<Self> {
        let tmp = TempDir::create(temp_sibling(dest, "new"))?;
        let out = ZarrOut::new(
            tmp.path(),
            version,
            opts.compression_level,
            opts.chunk_len,
            ctx.clone(),
        )?;
        out.group("", enc("anndata", "0.1.0"))?;
        let mut indptr = out.appender::<i64>("X/indptr", Dtype::Int(64))?;
        indptr.extend(&out, &[0])?;
        let indices = out.appender::<i32>("X/indices", Dtype::Int(32))?;
        let data = out.appender::<f32>("X/data", Dtype::Float(32))?;
        Ok(ZarrWriter {
            dest: dest.to_path_buf(),
            ctx,
            overwrite: opts.overwrite,
            tmp,
            out,
            var_names: var_names.to_vec(),
            indptr,
            indices,
            data,
            n_rows: 0,
            scratch: Vec::new(),
        })
    }

    fn append(&mut self, rows: &CsrRows) -> Result<()> {
        checked_block(rows, self.var_names.len())?;
        let base = self.data.len() as i64;
        self.scratch.clear();
        self.scratch
            .extend(rows.indptr[1..].iter().map(|&p| base + p as i64));
        self.indptr.extend(&self.out, &self.scratch)?;
        let idx: Vec<i32> = rows.indices.iter().map(|&c| c as i32).collect();
        self.indices.extend(&self.out, &idx)?;
        self.data.extend(&self.out, &rows.data)?;
        self.n_rows += rows.n_rows();
        Ok(())
    }

    fn finish(mut self, obs: &DataFrame) -> Result<()> {
        let index = checked_obs(obs, self.n_rows)?;
        let out = &self.out;
        self.indptr.finish(out)?;
        self.indices.finish(out)?;
        self.data.finish(out)?;
        let mut x = enc("csr_matrix", "0.1.0");
        x.insert("shape".into(), json!([self.n_rows, self.var_names.len()]));
        out.group("X", x)?;
        write_dataframe(out, "obs", &DataFrame::new(index, obs.columns.clone()))?;
        write_dataframe(
            out,
            "var",
            &DataFrame::new(self.var_names.clone(), Vec::new()),
        )?;
        for empty in ["layers", "obsm", "obsp", "varm", "varp", "uns"] {
            out.group(empty, enc("dict", "0.1.0"))?;
        }
        publish(self.tmp.path(), &self.dest, self.overwrite, &self.ctx, "")?;
        self.tmp.disarm();
        Ok(())
    }
}
