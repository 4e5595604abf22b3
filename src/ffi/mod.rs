//! The C API (feature `capi`): opaque handles, status codes with a thread-local message, panics
//! caught at the boundary. The header `include/instructcell.h` is generated from this module by
//! cbindgen and checked for drift by the tests.
//!
//! Ownership: every `*_free` function releases what the matching call returned; strings and
//! arrays read from a result stay valid until that result is freed. Thread safety: a model handle
//! may be shared between threads; result handles must not be freed while another thread reads
//! them; `ic_last_error` is per thread.

mod api;
mod args;
mod error;
mod rows;

pub use api::*;
pub use error::{ic_last_error, IcStatus};
