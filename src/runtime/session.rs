//! The one session factory: every graph of a model is opened here, with the same threads,
//! optimisation level and execution-provider policy.

use super::env::{Runtime, SharedPool};
use super::options::{ExecutionProvider, GraphOptimization, SessionOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// Which execution providers a session actually got, and which requested ones failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderReport {
    /// Providers registered successfully, in priority order (CPU is always present last).
    pub active: Vec<String>,
    /// Requested providers that failed to start, with ONNX Runtime's reason (only non-empty
    /// when fallback was allowed).
    pub fallbacks: Vec<(String, String)>,
}

impl ProviderReport {
    /// Whether any requested provider fell back.
    pub fn fell_back(&self) -> bool {
        !self.fallbacks.is_empty()
    }
}

fn ort_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Onnx {
        context: context.to_string(),
        message: e.to_string(),
    }
}

fn level(o: GraphOptimization) -> ort::session::builder::GraphOptimizationLevel {
    use ort::session::builder::GraphOptimizationLevel as L;
    match o {
        GraphOptimization::Disabled => L::Disable,
        GraphOptimization::Basic => L::Level1,
        GraphOptimization::Extended => L::Level2,
        GraphOptimization::All => L::All,
    }
}

/// The ort dispatch for a GPU provider, or why this build cannot offer it.
fn dispatch(
    p: &ExecutionProvider,
) -> std::result::Result<ort::ep::ExecutionProviderDispatch, String> {
    match p {
        ExecutionProvider::Cpu => Ok(ort::ep::CPU::default().build().error_on_failure()),
        #[cfg(feature = "cuda")]
        ExecutionProvider::Cuda { device_id } => Ok(ort::ep::CUDA::default()
            .with_device_id(*device_id)
            .build()
            .error_on_failure()),
        #[cfg(feature = "tensorrt")]
        ExecutionProvider::TensorRt {
            device_id,
            fp16,
            engine_cache,
        } => {
            let mut trt = ort::ep::TensorRT::default()
                .with_device_id(*device_id)
                .with_fp16(*fp16);
            if let Some(dir) = engine_cache {
                trt = trt
                    .with_engine_cache(true)
                    .with_engine_cache_path(dir.display());
            }
            Ok(trt.build().error_on_failure())
        }
        #[allow(unreachable_patterns)]
        other => Err(format!(
            "this build of instructcell lacks the `{}` cargo feature",
            other.short_name().to_lowercase()
        )),
    }
}

/// Opens one graph with the model-wide options.
///
/// Providers are registered in the caller's order. A provider that is not compiled into this
/// crate, not present in the loaded ONNX Runtime, or fails to register is an
/// [`Error::ProviderUnavailable`] — unless `allow_fallback` is set, in which case the failure is
/// recorded in the returned report and printed to stderr.
pub(crate) fn open_session(
    rt: &Runtime,
    file: &Path,
    opts: &SessionOptions,
    graph: &str,
) -> Result<(ort::session::Session, ProviderReport)> {
    let ctx = |what: &str| format!("{what} for graph {graph} ({})", file.display());
    let mut builder = ort::session::Session::builder(&rt.env)
        .map_err(|e| ort_err(&ctx("creating session options"), e))?
        .with_optimization_level(level(opts.optimization))
        .map_err(|e| ort_err(&ctx("setting optimisation level"), e))?;
    let wanted = SharedPool {
        threads: opts.threads.max(1),
        spinning: opts.spinning,
    };
    // Sessions with the shared pool's settings run on it (ort disables their own pools when the
    // environment has one); any other setting gets a pool of its own.
    if rt.shared_pool() != Some(wanted) {
        builder = builder
            .with_independent_thread_pool()
            .map_err(|e| ort_err(&ctx("choosing a thread pool"), e))?
            .with_intra_threads(wanted.threads)
            .map_err(|e| ort_err(&ctx("setting threads"), e))?
            .with_inter_threads(1)
            .map_err(|e| ort_err(&ctx("setting threads"), e))?
            .with_intra_op_spinning(opts.spinning)
            .map_err(|e| ort_err(&ctx("setting thread spinning"), e))?;
    }

    let mut report = ProviderReport::default();
    for p in &opts.providers {
        if *p == ExecutionProvider::Cpu {
            continue; // CPU is registered implicitly, always last.
        }
        let attempt = dispatch(p).and_then(|d| {
            if !rt.available_providers().iter().any(|a| a == p.ort_name()) {
                return Err(format!(
                    "the loaded ONNX Runtime ({}) was built without it (available: {}); \
                     install a GPU build such as `pip install onnxruntime-gpu`",
                    rt.library_path().display(),
                    rt.available_providers().join(", ")
                ));
            }
            Ok(d)
        });
        let failure = match attempt {
            Err(reason) => Some(reason),
            Ok(d) => match builder.with_execution_providers([d]) {
                Ok(b) => {
                    builder = b;
                    report.active.push(p.ort_name().to_string());
                    None
                }
                Err(e) => {
                    let reason = e.to_string();
                    builder = e.recover();
                    Some(reason)
                }
            },
        };
        if let Some(reason) = failure {
            if !opts.allow_fallback {
                return Err(Error::ProviderUnavailable {
                    provider: p.short_name().to_string(),
                    reason,
                });
            }
            eprintln!(
                "instructcell: warning: {} unavailable for graph {graph}, continuing without it: {reason}",
                p.short_name()
            );
            report.fallbacks.push((p.short_name().to_string(), reason));
        }
    }
    report.active.push("CPUExecutionProvider".to_string());

    let session = builder
        .commit_from_file(file)
        .map_err(|e| ort_err(&ctx("loading graph"), e))?;
    Ok((session, report))
}

/// One opened ONNX graph: a session behind a lock, its input/output names and the providers
/// it runs on.
///
/// `Graph` is `Send + Sync`. ONNX Runtime sessions need exclusive access to run in the `ort`
/// bindings, so concurrent callers of the same graph take turns on the lock; open the package
/// twice (or use one model per thread) for parallel runs.
pub struct Graph {
    name: String,
    session: std::sync::Mutex<ort::session::Session>,
    providers: ProviderReport,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("providers", &self.providers)
            .finish()
    }
}

impl Graph {
    /// Opens the graph in `file` with the model-wide options; `name` is used in messages.
    ///
    /// # Errors
    /// [`Error::Onnx`] if ONNX Runtime rejects the file, [`Error::ProviderUnavailable`] if a
    /// requested provider cannot start and fallback is not allowed.
    pub fn open(rt: &Runtime, file: &Path, opts: &SessionOptions, name: &str) -> Result<Self> {
        let (session, providers) = open_session(rt, file, opts, name)?;
        let inputs = session
            .inputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(Graph {
            name: name.to_string(),
            session: std::sync::Mutex::new(session),
            providers,
            inputs,
            outputs,
        })
    }

    /// The graph's name (as given when opened).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Input names, in the graph's order.
    pub fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// Output names, in the graph's order.
    pub fn output_names(&self) -> &[String] {
        &self.outputs
    }

    /// The execution providers this graph runs on, and any fallbacks.
    pub fn providers(&self) -> &ProviderReport {
        &self.providers
    }

    /// Runs the graph on float32 inputs given as `(name, shape, values)` and returns every output
    /// as `(shape, values)`, in the graph's output order. A convenience for inspection and
    /// checks; the model's own hot paths bind tensors directly.
    ///
    /// # Errors
    /// [`Error::Shape`] when a value count disagrees with its shape, [`Error::Onnx`] when ONNX
    /// Runtime rejects the inputs or an output is not float32.
    pub fn run_f32(
        &self,
        inputs: &[(&str, &[usize], &[f32])],
    ) -> Result<Vec<(Vec<usize>, Vec<f32>)>> {
        let mut values: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::new();
        for (name, shape, data) in inputs {
            let n: usize = shape.iter().product();
            if n != data.len() {
                return Err(Error::Shape(format!(
                    "input {name} of graph {}: shape {shape:?} needs {n} values, got {}",
                    self.name,
                    data.len()
                )));
            }
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let t = ort::value::Tensor::from_array((shape, data.to_vec()))
                .map_err(|e| self.run_error(e))?;
            values.push((name.to_string(), t.into()));
        }
        let mut session = self.session();
        let outputs = session.run(values).map_err(|e| self.run_error(e))?;
        let mut result = Vec::with_capacity(self.outputs.len());
        for name in &self.outputs {
            let (shape, data) = outputs[name.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(|e| self.run_error(format!("output {name}: {e}")))?;
            result.push((shape.iter().map(|&d| d as usize).collect(), data.to_vec()));
        }
        Ok(result)
    }

    /// Exclusive access to the session for a run.
    pub(crate) fn session(&self) -> std::sync::MutexGuard<'_, ort::session::Session> {
        // A panic while running cannot leave the session half-updated in a way we rely on.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Builds the crate error for a failed run of this graph.
    pub(crate) fn run_error(&self, e: impl std::fmt::Display) -> Error {
        ort_err(&format!("running graph {}", self.name), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::runtime;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// The shared runtime, or `None` (with a message) when ONNX Runtime is not installed here.
    /// Set `INSTRUCTCELL_REQUIRE_ORT=1` (the repository's test script does) to make absence fail.
    pub(crate) fn test_runtime() -> Option<Arc<Runtime>> {
        match runtime() {
            Ok(rt) => Some(rt),
            Err(e) if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() => {
                eprintln!("skipping: {e}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn affine() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/graphs/affine.onnx")
    }

    #[test]
    fn runs_a_graph_on_cpu() {
        let Some(rt) = test_runtime() else { return };
        let opts = SessionOptions::default().with_threads(1);
        let g = Graph::open(&rt, &affine(), &opts, "affine").unwrap();
        assert_eq!(
            g.providers().active,
            vec!["CPUExecutionProvider".to_string()]
        );
        assert!(!g.providers().fell_back());
        assert_eq!(g.input_names(), &["x".to_string()]);
        assert_eq!(g.output_names(), &["y".to_string()]);
        let out = g
            .run_f32(&[("x", &[2, 3], &[1., 1., 1., 2., 0., -1.])])
            .unwrap();
        let (shape, y) = &out[0];
        assert_eq!(shape, &[2, 3]);
        assert_eq!(y, &[1.5, 1.0, 3.0, 2.5, -1.0, -3.0]);
        let err = g.run_f32(&[("x", &[2, 3], &[1.0])]).unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{err}");
        let err = g.run_f32(&[("nope", &[1, 3], &[1., 2., 3.])]).unwrap_err();
        assert!(matches!(err, Error::Onnx { .. }), "{err}");
    }

    #[test]
    fn version_is_reported() {
        let Some(rt) = test_runtime() else { return };
        let v = rt.version().expect("a version");
        assert!(v.starts_with("1."), "{v}");
        assert!(rt
            .available_providers()
            .contains(&"CPUExecutionProvider".to_string()));
    }

    #[test]
    fn missing_graph_file_is_an_onnx_error() {
        let Some(rt) = test_runtime() else { return };
        let err = open_session(
            &rt,
            Path::new("/nonexistent/graph.onnx"),
            &SessionOptions::default(),
            "g",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Onnx { .. }), "{err}");
    }

    #[test]
    fn corrupt_graph_file_is_an_onnx_error() {
        let Some(rt) = test_runtime() else { return };
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.onnx");
        std::fs::write(&f, b"this is not a protobuf").unwrap();
        let err = open_session(&rt, &f, &SessionOptions::default(), "bad").unwrap_err();
        assert!(
            matches!(&err, Error::Onnx { context, .. } if context.contains("bad")),
            "{err}"
        );
    }

    #[test]
    fn unavailable_gpu_provider_is_an_error_without_fallback() {
        let Some(rt) = test_runtime() else { return };
        if rt
            .available_providers()
            .iter()
            .any(|p| p == "CUDAExecutionProvider")
        {
            eprintln!("skipping: this ONNX Runtime has CUDA");
            return;
        }
        let opts = SessionOptions::default()
            .with_threads(1)
            .with_providers(vec![ExecutionProvider::cuda(), ExecutionProvider::Cpu]);
        let err = open_session(&rt, &affine(), &opts, "affine").unwrap_err();
        assert!(
            matches!(&err, Error::ProviderUnavailable { provider, .. } if provider == "CUDA"),
            "{err}"
        );
        let (_s, report) =
            open_session(&rt, &affine(), &opts.with_allow_fallback(true), "affine").unwrap();
        assert!(report.fell_back());
        assert_eq!(report.fallbacks[0].0, "CUDA");
        assert_eq!(report.active, vec!["CPUExecutionProvider".to_string()]);
    }
}
