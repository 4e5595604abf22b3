//! Status codes, the thread-local last error, and the panic barrier of the C API.

use crate::error::Error;
use std::cell::RefCell;
use std::ffi::{c_char, CString};

/// Result of every C API call. `IC_OK` is 0; anything else is an error whose message
/// `ic_last_error()` returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcStatus {
    /// Success.
    IcOk = 0,
    /// A required pointer argument was NULL.
    IcNullArgument = 1,
    /// A string argument was not valid UTF-8.
    IcInvalidUtf8 = 2,
    /// An argument value is invalid (out of range, empty label set, ...).
    IcInvalidArgument = 3,
    /// Array lengths or shapes disagree.
    IcShape = 4,
    /// A file could not be read or written.
    IcIo = 5,
    /// The model package is malformed, incomplete or tampered with.
    IcPackage = 6,
    /// ONNX Runtime is missing, could not start a provider, or failed while running.
    IcRuntime = 7,
    /// An AnnData store is malformed or unsupported.
    IcStore = 8,
    /// The data's genes do not match the model's well enough.
    IcGenes = 9,
    /// A cell's counts are invalid (empty, NaN, negative, ...).
    IcBadCell = 10,
    /// A prompt or template is invalid.
    IcPrompt = 11,
    /// The operation was cancelled.
    IcCancelled = 12,
    /// An internal error (a bug); the library caught it at the boundary.
    IcPanic = 13,
    /// Any other error.
    IcOther = 14,
}

impl From<&Error> for IcStatus {
    fn from(e: &Error) -> Self {
        match e {
            Error::Io { .. } => IcStatus::IcIo,
            Error::Shape(_) => IcStatus::IcShape,
            Error::InvalidArgument(_) => IcStatus::IcInvalidArgument,
            Error::OnnxRuntimeNotFound { .. }
            | Error::OnnxRuntimeLoad { .. }
            | Error::ProviderUnavailable { .. }
            | Error::Onnx { .. } => IcStatus::IcRuntime,
            Error::Package { .. } => IcStatus::IcPackage,
            Error::Prompt(_) | Error::Tokenizer(_) => IcStatus::IcPrompt,
            Error::Cancelled => IcStatus::IcCancelled,
            Error::Store { .. } => IcStatus::IcStore,
            Error::GeneOverlap { .. } | Error::DuplicateGene { .. } => IcStatus::IcGenes,
            Error::BadCell { .. } => IcStatus::IcBadCell,
            #[allow(unreachable_patterns)]
            _ => IcStatus::IcOther,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Runs `f` behind the panic barrier: errors and panics become a status and a message.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), (IcStatus, String)>) -> IcStatus {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            IcStatus::IcOk
        }
        Ok(Err((status, msg))) => {
            set_last_error(&msg);
            status
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error: {msg}"));
            IcStatus::IcPanic
        }
    }
}

/// Converts a crate error for [`guard`].
pub(crate) fn fail(e: Error) -> (IcStatus, String) {
    ((&e).into(), e.to_string())
}

/// The message of the last failed call on this thread ("" after a success). The pointer stays
/// valid until the next C API call on the same thread; do not free it.
#[no_mangle]
pub extern "C" fn ic_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}
