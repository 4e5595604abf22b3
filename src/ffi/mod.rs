//! The C API (feature `capi`): opaque handles, status codes with a thread-local message, panics
//! caught at the boundary. The header `include/instructcell.h` is generated from this module by
//! cbindgen and checked for drift by the tests.
//!
//! The calls: model options (`ic_model_options_*`) and one load (`ic_model_load`); inputs from
//! CSR arrays or a store (`ic_input_*`); one call per label task over an input (`ic_annotate`,
//! `ic_predict_drug_response`); cell generation (`ic_generate_cells`, `ic_cells_*`); free
//! instructions (`ic_instruct`); result accessors (`ic_predictions_*`).
//!
//! Ownership: every `*_free` function releases what the matching call returned and accepts
//! NULL; strings and arrays read from a handle stay valid until that handle is freed; a call
//! that fails sets its out-pointer to NULL. Arguments: every pointer is checked (NULL gives
//! `IC_NULL_ARGUMENT` where a value is required), every string must be UTF-8, every array is
//! validated before use. Thread safety: model and input handles may be shared between threads;
//! options handles must not be changed while another thread uses them; result handles must not
//! be freed while another thread reads them; `ic_last_error` is per thread.

mod api;
mod args;
mod error;
mod input;
mod model;
mod rows;

pub use api::*;
pub use error::{ic_last_error, IcStatus};
pub use input::*;
pub use model::*;
