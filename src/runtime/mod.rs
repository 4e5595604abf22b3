//! ONNX Runtime: finding the shared library, the process-wide environment, and the options every
//! graph session is opened with.
//!
//! The crate loads ONNX Runtime dynamically (it never downloads binaries). [`runtime`] finds and
//! loads it once per process; [`locate_onnxruntime`] documents where it looks.

mod env;
mod locate;
mod options;
pub(crate) mod session;

pub use env::{runtime, runtime_from, Runtime};
pub use locate::locate_onnxruntime;
pub use options::{default_threads, ExecutionProvider, GraphOptimization, SessionOptions};
pub use session::{Graph, ProviderReport};
