//! A fence around the storage libraries: bad bytes must become typed errors, never a panic
//! or an absurd allocation.
//!
//! `zarrs` decodes chunks with slicing that trusts lengths read from the data (for example its
//! `vlen_v2` string decoder), so a corrupt chunk can panic inside it. Every call into it runs
//! under [`no_panic`], which turns a panic into a [`StoreProblem::Backend`] error naming the
//! element and the chunks read. (A binary built with `panic = "abort"` cannot be saved this
//! way; the default hook still prints the panic message to stderr.) Sizes claimed by metadata
//! are checked before anything is allocated for them ([`MAX_READ_BYTES`]).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::problem::StoreCtx;
use crate::error::Result;

/// The most bytes one read of an array (a block of rows, or a dataframe column) or one
/// decoded chunk may claim: far above any real AnnData chunk or column, far below what
/// would exhaust a machine.
pub(crate) const MAX_READ_BYTES: u64 = 4 << 30;

/// Runs `f`, turning a panic into an error of `element` that says what was being done.
pub(crate) fn no_panic<T>(
    ctx: &StoreCtx,
    element: &str,
    doing: impl FnOnce() -> String,
    f: impl FnOnce() -> T,
) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        ctx.backend(
            element,
            format!("corrupt data: the zarr decoder failed {} ({why})", doing()),
        )
    })
}

/// The bytes `counts` elements of `elem_size` bytes take, or `None` past `MAX_READ_BYTES`
/// (overflow included).
pub(crate) fn claimed_bytes(counts: &[u64], elem_size: u64) -> Option<u64> {
    counts
        .iter()
        .try_fold(elem_size, |acc, &n| acc.checked_mul(n))
        .filter(|&b| b <= MAX_READ_BYTES)
}
