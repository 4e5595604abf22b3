//! ONNX Runtime: finding the shared library, the process-wide environment, and the options every
//! graph session is opened with.
//!
//! The crate loads ONNX Runtime dynamically (it never downloads binaries). [`runtime`] finds and
//! loads it once per process; [`locate_onnxruntime`] documents where it looks.

mod env;
mod locate;
mod options;
pub(crate) mod session;

pub(crate) use env::runtime_with_pool;
pub use env::{runtime, runtime_from, Runtime, SharedPool};
pub use locate::locate_onnxruntime;
pub use options::{default_threads, ExecutionProvider, GraphOptimization, SessionOptions};
pub use session::{Graph, ProviderReport};
