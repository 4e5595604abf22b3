//! The pipeline layer: one call per task over a whole dataset, the way the command-line tool,
//! the C API and the examples use the crate.
//!
//! * [`Dataset::open`] opens a store (zarr v2/v3, `.h5ad`) or a 10x directory and picks the
//!   matrix to read ([`InputOptions`]: counts in X, a counts layer or `raw/X`, else
//!   log-normalised values turned back into counts), with the genes of that matrix;
//! * [`annotate`], [`drug_response`] and [`instruct`] run a task over every cell (or one
//!   [`Shard`]), aligning genes themselves and reading per-cell template fields from obs
//!   columns, and return [`Predictions`] (serializable);
//! * [`Predictions::columns`] turns them into obs columns ([`LabelOutput`]: `key_added`,
//!   probability threshold, majority voting over clusters), [`write_columns`] writes them to
//!   a new store that keeps every element of the input, or in place;
//! * [`write_table`] / [`read_table`] give one row per cell as TSV, CSV or JSON lines, and
//!   [`merge_tables`] joins the tables of a sharded run into exactly what one run gives.
//!
//! ```no_run
//! use instructcell::pipeline::{self, Dataset, InputOptions, LabelOutput, LabelRequest, WriteTarget};
//! use instructcell::model::{Model, ModelOptions};
//! use instructcell::tasks::{Control, TaskOptions};
//!
//! # fn main() -> instructcell::Result<()> {
//! let model = Model::load("onnx/models/pbmc-small", &ModelOptions::default())?;
//! let mut data = Dataset::open("examples/data/pbmc68k_heldout.zarr", &InputOptions::default())?;
//! let request = LabelRequest::new(TaskOptions::default().with_labels(["CD19+ B", "CD56+ NK"]));
//! let predictions = pipeline::annotate(&model, &mut data, &request, &mut Control::new())?;
//! let columns = predictions.columns(&LabelOutput::default().with_p_thres(0.5))?;
//! let target = WriteTarget::NewStore { path: "annotated.zarr".into(), overwrite: false };
//! pipeline::write_columns(data.path(), data.modality(), &target, &columns, false)?;
//! # Ok(())
//! # }
//! ```

pub mod calibration;
mod dataset;
mod labels;
mod merge;
mod output;
mod predictions;
mod shard;
mod table;
mod writeback;

pub use dataset::{Dataset, InputOptions};
pub use labels::{annotate, drug_response, instruct, LabelRequest, DRUG_LABELS};
pub use merge::merge_tables;
pub use output::{write_columns, WriteTarget};
pub use predictions::{Assigned, LabelOutput, Predictions, UNASSIGNED};
pub use shard::{shard_unit, Shard};
pub use table::{read_table, write_table, TableFormat, TableRows};
pub use writeback::{prediction_columns, write_predictions};
