//! # instructcell
//!
//! Run InstructCell-architecture models (a T5 encoder-decoder whose encoder input is spliced with
//! learned cell embeddings, plus a conditional cell generator) over single-cell count matrices.
//!
//! * [`pipeline`] — one call per task over a whole store, as the `instructcell` command-line
//!   tool runs them: [`pipeline::Dataset`], [`pipeline::annotate`], [`pipeline::Predictions`],
//!   write-back into a new store or in place, result tables, shards and their merge;
//! * [`tasks`] — the typed tasks over any row source: [`tasks::annotate`], [`tasks::predict_drug_response`],
//!   [`tasks::generate_cells`] and [`tasks::instruct`] over whole datasets, with write-back;
//! * [`model`] — a loaded model package ([`model::Model`]): cell encoder, text encoder, KV-cached
//!   decoder and generator run through ONNX Runtime, token-identical to the reference;
//! * [`generation`] — the decoding loop (greedy, seeded sampling, beam search, label tries);
//! * [`prompt`], [`package`], [`runtime`], [`cellgen`] — templates and splicing, package
//!   validation, finding and configuring ONNX Runtime, seeded count sampling;
//! * [`io`] — AnnData stores read straight from the on-disk specification (zarr v2/v3, sharded v3,
//!   and `.h5ad` behind the `h5ad` feature), and atomic write-back of results;
//! * [`genes`] — alignment of a dataset's genes to a model's gene vocabulary, computed once;
//! * [`preprocess`] — the sparse core: CSR row blocks to aligned, `normalize_total` + `log1p`
//!   dense batches in a reused buffer, with bounded memory;
//! * `ffi` (feature `capi`) — the C API behind `include/instructcell.h`;
//! * `bundled` (feature `bundled-model`) — the bundled `pbmc-small` model, written out on first
//!   use for users of the crate from crates.io.
//!
//! Every fallible call returns [`Result`], whose error type [`Error`] names what went wrong and
//! where (the store path, the cell, the gene).
//!
//! Annotating a store and writing the labels into a copy that keeps every element:
//!
//! ```
//! use instructcell::pipeline::{self, Dataset, InputOptions, LabelOutput, LabelRequest, WriteTarget};
//! use instructcell::{Control, Model, ModelOptions, TaskOptions};
//!
//! # fn main() -> instructcell::Result<()> {
//! # if instructcell::runtime::runtime().is_err() { return Ok(()); } // no ONNX Runtime here
//! # let out_dir = tempfile::tempdir().unwrap();
//! # let out = out_dir.path().join("annotated.zarr");
//! let model = Model::load("onnx/models/pbmc-small", &ModelOptions::default())?;
//! let mut data = Dataset::open("examples/data/pbmc68k_heldout.zarr", &InputOptions::default())?;
//! let labels = model.label_set("cell_type").unwrap_or_default().to_vec();
//! let request = LabelRequest::new(TaskOptions::default().with_labels(labels));
//! let predictions = pipeline::annotate(&model, &mut data, &request, &mut Control::new())?;
//! let columns = predictions.columns(&LabelOutput::default().with_p_thres(0.5))?;
//! let target = WriteTarget::NewStore { path: out.clone(), overwrite: false };
//! pipeline::write_columns(data.path(), data.modality(), &target, &columns, false)?;
//! assert_eq!(predictions.predictions.len(), 178);
//! # Ok(())
//! # }
//! ```
#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(feature = "bundled-model")]
pub mod bundled;
pub mod cellgen;
pub mod error;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod generation;
pub mod genes;
pub mod io;
pub mod matrix;
pub mod memory;
pub mod model;
pub mod package;
pub mod pipeline;
pub mod preprocess;
pub mod prompt;
pub mod rng;
pub mod runtime;
mod simd;
pub mod tasks;

pub use error::{Error, Result};
pub use genes::{AlignOptions, GeneAlignment};
pub use io::{AnnDataStore, AnnDataWriter, ReadOptions};
pub use matrix::{CsrRows, RowSource};
pub use memory::{DenseSource, SparseSource};
pub use model::{Model, ModelOptions};
pub use pipeline::{Dataset, InputOptions, LabelOutput, LabelRequest, Predictions, WriteTarget};
pub use preprocess::{Batch, Batcher, PreprocessOptions, Preprocessor};
pub use tasks::{AnswerMode, Control, TaskOptions};
