//! Caller-facing options for ONNX Runtime sessions: threads, optimisation, execution providers.

use std::path::PathBuf;

/// An ONNX Runtime execution provider, in the order the caller prefers them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutionProvider {
    /// The default CPU provider (always available).
    Cpu,
    /// NVIDIA CUDA (needs the crate's `cuda` feature and a GPU build of ONNX Runtime).
    Cuda {
        /// GPU ordinal.
        device_id: i32,
    },
    /// NVIDIA TensorRT (needs the crate's `tensorrt` feature and a GPU build of ONNX Runtime).
    TensorRt {
        /// GPU ordinal.
        device_id: i32,
        /// Let TensorRT run layers in fp16.
        fp16: bool,
        /// Directory for cached engines (building them is slow); `None` disables the cache.
        engine_cache: Option<PathBuf>,
    },
}

impl ExecutionProvider {
    /// CUDA on GPU 0.
    pub fn cuda() -> Self {
        ExecutionProvider::Cuda { device_id: 0 }
    }

    /// TensorRT on GPU 0, fp32, without an engine cache.
    pub fn tensorrt() -> Self {
        ExecutionProvider::TensorRt {
            device_id: 0,
            fp16: false,
            engine_cache: None,
        }
    }

    /// The name ONNX Runtime uses for this provider.
    pub fn ort_name(&self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "CPUExecutionProvider",
            ExecutionProvider::Cuda { .. } => "CUDAExecutionProvider",
            ExecutionProvider::TensorRt { .. } => "TensorrtExecutionProvider",
        }
    }

    /// Short human-readable name (`CPU`, `CUDA`, `TensorRT`).
    pub fn short_name(&self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "CPU",
            ExecutionProvider::Cuda { .. } => "CUDA",
            ExecutionProvider::TensorRt { .. } => "TensorRT",
        }
    }
}

/// How much ONNX Runtime rewrites a graph before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GraphOptimization {
    /// No rewriting.
    Disabled,
    /// Semantics-preserving rewrites only (constant folding, redundant node removal).
    Basic,
    /// Basic plus node fusions.
    Extended,
    /// Everything, including layout optimisations (the default).
    #[default]
    All,
}

/// Options shared by every graph session of a model: one thread budget, one optimisation level,
/// one ordered list of execution providers.
///
/// ```
/// use instructcell::runtime::{ExecutionProvider, SessionOptions};
/// let opts = SessionOptions::default()
///     .with_threads(2)
///     .with_providers(vec![ExecutionProvider::cuda(), ExecutionProvider::Cpu])
///     .with_allow_fallback(false);
/// assert_eq!(opts.threads, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// Threads for ONNX Runtime's intra-op pool (also the budget the crate gives rayon).
    /// The first model loaded in a process creates a pool of this size (and spinning setting)
    /// that all its graphs, and later models with the same settings, share; other settings get
    /// a pool per graph.
    /// Always set explicitly: ONNX Runtime's own default pins threads to cores, which fails in
    /// containers with restricted CPU sets.
    pub threads: usize,
    /// Graph optimisation level.
    pub optimization: GraphOptimization,
    /// Providers to register, most preferred first. CPU is always the last resort inside ONNX
    /// Runtime for operators a provider does not support.
    pub providers: Vec<ExecutionProvider>,
    /// When a requested GPU provider cannot start: `false` (default) makes that an error;
    /// `true` continues with the remaining providers, records the failure (see
    /// [`crate::runtime::ProviderReport`]) and prints a warning to stderr.
    pub allow_fallback: bool,
    /// Let ONNX Runtime's idle worker threads spin waiting for work (its default, lowest
    /// latency on dedicated cores). Turn off on shared or oversubscribed machines, where spinning
    /// threads take CPU from everything else.
    pub spinning: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            threads: default_threads(),
            optimization: GraphOptimization::All,
            providers: vec![ExecutionProvider::Cpu],
            allow_fallback: false,
            spinning: true,
        }
    }
}

/// The number of CPUs this process may use (respects cgroup quotas and affinity), at least 1.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl SessionOptions {
    /// Sets the thread budget (values below 1 are treated as 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets the graph optimisation level.
    pub fn with_optimization(mut self, level: GraphOptimization) -> Self {
        self.optimization = level;
        self
    }

    /// Sets the ordered list of execution providers.
    pub fn with_providers(mut self, providers: Vec<ExecutionProvider>) -> Self {
        self.providers = providers;
        self
    }

    /// Sets whether idle ONNX Runtime threads spin.
    pub fn with_spinning(mut self, spin: bool) -> Self {
        self.spinning = spin;
        self
    }

    /// Allows (loudly reported) fallback when a requested provider cannot start.
    pub fn with_allow_fallback(mut self, allow: bool) -> Self {
        self.allow_fallback = allow;
        self
    }
}
