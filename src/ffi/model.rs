//! Model options and loading: one options handle, one load call.

use super::args::{free_box, handle_ref, invalid, opt_handle, out_arg, put, str_arg, ArgResult};
use super::error::{fail, guard, IcStatus};
use crate::model::{Model, ModelOptions};
use crate::runtime::{default_threads, ExecutionProvider};
use std::ffi::{c_char, CString};

/// The most threads `ic_model_options_set_threads` accepts.
const MAX_THREADS: u32 = 4096;

/// The execution providers a model asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Cpu,
    Cuda,
    Tensorrt,
}

/// How to load a model (opaque): precision, threads, execution provider, CPU fallback and the
/// fp32 tie margin. Made by `ic_model_options_new` with the defaults (fp32, every available
/// CPU, the CPU provider, no fallback, no tie margin), changed by the `ic_model_options_set_*`
/// calls, released by `ic_model_options_free`. One options handle may serve several loads; it
/// must not be changed while another thread uses it.
pub struct IcModelOptions {
    model: ModelOptions,
    threads: u32,
    provider: Provider,
    allow_fallback: bool,
}

impl Default for IcModelOptions {
    fn default() -> Self {
        IcModelOptions {
            model: ModelOptions::default(),
            threads: 0,
            provider: Provider::Cpu,
            allow_fallback: false,
        }
    }
}

impl IcModelOptions {
    /// The crate's model options these settings describe.
    fn to_model_options(&self) -> ModelOptions {
        let providers = match self.provider {
            Provider::Cpu => vec![ExecutionProvider::Cpu],
            Provider::Cuda => vec![ExecutionProvider::cuda(), ExecutionProvider::Cpu],
            Provider::Tensorrt => vec![ExecutionProvider::tensorrt(), ExecutionProvider::Cpu],
        };
        let threads = match self.threads {
            0 => default_threads(),
            n => n as usize,
        };
        let session = self
            .model
            .session
            .clone()
            .with_providers(providers)
            .with_allow_fallback(self.allow_fallback)
            .with_threads(threads);
        self.model.clone().with_session(session)
    }
}

/// A loaded model (opaque). Thread-safe: one handle may be used from several threads at once.
pub struct IcModel {
    pub(crate) model: Model,
    gene_names: Vec<CString>,
}

/// A checked tie margin: finite and not negative.
fn tie_margin(margin: f32) -> ArgResult<f32> {
    if margin.is_finite() && margin >= 0.0 {
        Ok(margin)
    } else {
        Err(invalid(format!(
            "the fp32 tie margin must be a finite number of nats, at least 0 (got {margin})"
        )))
    }
}

/// A mutable reference to a live options handle, or IC_NULL_ARGUMENT.
///
/// # Safety
/// `opts` is NULL or a live handle from `ic_model_options_new` that no other thread uses.
unsafe fn options_mut<'a>(opts: *mut IcModelOptions) -> ArgResult<&'a mut IcModelOptions> {
    // SAFETY: a live handle came from `Box::into_raw` (aligned, initialised) and nothing else
    // uses it during the call, per this function's contract; NULL becomes `None`.
    unsafe { opts.as_mut() }.ok_or_else(|| super::args::null("opts"))
}

/// New model options with the defaults: fp32, every available CPU, the CPU provider, no
/// fallback, no fp32 tie margin. Returns NULL only when out of memory (which aborts in
/// practice). Release with `ic_model_options_free`.
#[no_mangle]
pub extern "C" fn ic_model_options_new() -> *mut IcModelOptions {
    std::panic::catch_unwind(|| Box::into_raw(Box::<IcModelOptions>::default()))
        .unwrap_or(std::ptr::null_mut())
}

/// Releases model options. NULL is ignored.
///
/// # Safety
/// `opts` is NULL or a handle from `ic_model_options_new` not yet freed and not in use.
#[no_mangle]
pub unsafe extern "C" fn ic_model_options_free(opts: *mut IcModelOptions) {
    // SAFETY: this function's contract is the one `free_box` requires: NULL or a live
    // `Box::into_raw` handle of this type, freed once.
    unsafe { free_box(opts) }
}

/// Sets the precision: "fp32" (default), "fp16", "int8" (the int8 weights this CPU multiplies
/// exactly), "int8-signed" / "int8-unsigned" (a forced weight encoding), each optionally with a
/// suffix "+ties=M" that sets the fp32 tie margin to M nats as
/// `ic_model_options_set_fp32_tie_margin` does (e.g. "int8+ties=0.5"). A precision without
/// the suffix leaves the tie margin as it is.
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (unknown precision or
/// encoding, an encoding on fp32 or fp16, a margin that is not a finite number ≥ 0); the options
/// are unchanged after an error.
///
/// # Safety
/// `opts` is NULL or a live options handle no other thread uses; `precision` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ic_model_options_set_precision(
    opts: *mut IcModelOptions,
    precision: *const c_char,
) -> IcStatus {
    guard(|| {
        // SAFETY: `opts` is NULL or a live handle no other thread uses (this function's contract).
        let o = unsafe { options_mut(opts)? };
        // SAFETY: `precision` is NULL or NUL-terminated (this function's contract).
        let spec = unsafe { str_arg(precision, "precision")? };
        let parsed = ModelOptions::default()
            .with_precision_spec(spec)
            .map_err(fail)?;
        let ties = parsed.fp32_tie_margin.map(tie_margin).transpose()?;
        o.model.precision = parsed.precision;
        o.model.int8_weights = parsed.int8_weights;
        if ties.is_some() {
            o.model.fp32_tie_margin = ties;
        }
        Ok(())
    })
}

/// Sets the number of threads (default 0: every CPU this process may use).
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_ARGUMENT (more than 4096).
///
/// # Safety
/// `opts` is NULL or a live options handle no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn ic_model_options_set_threads(
    opts: *mut IcModelOptions,
    threads: u32,
) -> IcStatus {
    guard(|| {
        // SAFETY: `opts` is NULL or a live handle no other thread uses (this function's contract).
        let o = unsafe { options_mut(opts)? };
        if threads > MAX_THREADS {
            return Err(invalid(format!(
                "threads {threads} is more than {MAX_THREADS} (0 uses every available CPU)"
            )));
        }
        o.threads = threads;
        Ok(())
    })
}

/// Sets the execution provider: "cpu" (default), "cuda" or "tensorrt" (GPU 0, with the CPU
/// behind it for what the GPU provider does not run; needs a library built with the matching
/// feature and a GPU build of ONNX Runtime). Whether a provider can start is known only at
/// `ic_model_load` (see `ic_model_options_set_allow_fallback`).
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_UTF8, IC_INVALID_ARGUMENT (any other name).
///
/// # Safety
/// `opts` is NULL or a live options handle no other thread uses; `provider` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ic_model_options_set_provider(
    opts: *mut IcModelOptions,
    provider: *const c_char,
) -> IcStatus {
    guard(|| {
        // SAFETY: `opts` is NULL or a live handle no other thread uses (this function's contract).
        let o = unsafe { options_mut(opts)? };
        // SAFETY: `provider` is NULL or NUL-terminated (this function's contract).
        o.provider = match unsafe { str_arg(provider, "provider")? } {
            "cpu" => Provider::Cpu,
            "cuda" => Provider::Cuda,
            "tensorrt" => Provider::Tensorrt,
            other => {
                return Err(invalid(format!(
                    "unknown provider {other:?} (expected cpu, cuda or tensorrt)"
                )))
            }
        };
        Ok(())
    })
}

/// Whether a GPU provider that cannot start falls back to the CPU (default false: the load
/// fails with IC_RUNTIME). With fallback the model runs on the CPU and a warning goes to stderr.
/// Errors: IC_NULL_ARGUMENT.
///
/// # Safety
/// `opts` is NULL or a live options handle no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn ic_model_options_set_allow_fallback(
    opts: *mut IcModelOptions,
    allow: bool,
) -> IcStatus {
    guard(|| {
        // SAFETY: `opts` is NULL or a live handle no other thread uses (this function's contract).
        unsafe { options_mut(opts)? }.allow_fallback = allow;
        Ok(())
    })
}

/// For an "int8" or "fp16" precision, also loads the package's fp32 graphs and lets them decide
/// the near-ties: a greedy answer whose smallest top-1/top-2 logit margin is below `margin`
/// nats, and a scored cell whose two best labels lie that close, is answered by the fp32 graphs,
/// so answers are the fp32 answers at reduced-precision speed for every clear decision (0.5
/// suits the bundled trained package). No effect for "fp32". Default: no margin.
/// Errors: IC_NULL_ARGUMENT, IC_INVALID_ARGUMENT (negative or not finite). At load,
/// IC_PACKAGE when the package lacks its fp32 graphs.
///
/// # Safety
/// `opts` is NULL or a live options handle no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn ic_model_options_set_fp32_tie_margin(
    opts: *mut IcModelOptions,
    margin: f32,
) -> IcStatus {
    guard(|| {
        // SAFETY: `opts` is NULL or a live handle no other thread uses (this function's contract).
        let o = unsafe { options_mut(opts)? };
        o.model.fp32_tie_margin = Some(tie_margin(margin)?);
        Ok(())
    })
}

/// Loads the model package in directory `package_dir` with `opts` (NULL: the defaults of
/// `ic_model_options_new`). On success `*out` receives a handle to release with
/// `ic_model_free`; on failure `*out` is set to NULL. `opts` may be freed right after.
/// Errors: IC_NULL_ARGUMENT (`package_dir` or `out`), IC_INVALID_UTF8, IC_PACKAGE (missing,
/// malformed or tampered package; int8 weights the package lacks; fp32 graphs missing for a
/// tie margin), IC_RUNTIME (ONNX Runtime missing or failing, a provider that cannot start
/// without fallback), IC_INVALID_ARGUMENT (options the package cannot satisfy).
///
/// # Safety
/// `package_dir` is NULL or a NUL-terminated string; `opts` is NULL or a live options handle
/// not being changed; `out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn ic_model_load(
    package_dir: *const c_char,
    opts: *const IcModelOptions,
    out: *mut *mut IcModel,
) -> IcStatus {
    guard(|| {
        // SAFETY: `out` is NULL or writable (this function's contract).
        unsafe { out_arg(out, "out")? };
        // SAFETY: `package_dir` is NULL or NUL-terminated (this function's contract).
        let dir = unsafe { str_arg(package_dir, "package_dir")? };
        // SAFETY: `opts` is NULL or a live handle not being changed (this function's contract).
        let opts = match unsafe { opt_handle(opts) } {
            Some(o) => o.to_model_options(),
            None => IcModelOptions::default().to_model_options(),
        };
        let model = Model::load(dir, &opts).map_err(fail)?;
        let gene_names = model
            .genes()
            .iter()
            .map(|g| CString::new(g.replace('\0', " ")).unwrap_or_default())
            .collect();
        // SAFETY: `out` passed `out_arg` above and stays writable (this function's contract).
        unsafe { put(out, Box::new(IcModel { model, gene_names })) };
        Ok(())
    })
}

/// Releases a model. NULL is ignored.
///
/// # Safety
/// `model` is NULL or a handle from `ic_model_load` not yet freed, which no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn ic_model_free(model: *mut IcModel) {
    // SAFETY: this function's contract is the one `free_box` requires.
    unsafe { free_box(model) }
}

/// Number of genes the model reads (0 for NULL): the columns of generated cells.
///
/// # Safety
/// `model` is NULL or a live model handle.
#[no_mangle]
pub unsafe extern "C" fn ic_model_num_genes(model: *const IcModel) -> usize {
    // SAFETY: `model` is NULL or live (this function's contract).
    unsafe { opt_handle(model) }.map_or(0, |m| m.gene_names.len())
}

/// Symbol of the model's gene `i` (column `i` of generated cells), or NULL (NULL `model`, `i`
/// out of range). Owned by `model`.
///
/// # Safety
/// `model` is NULL or a live model handle.
#[no_mangle]
pub unsafe extern "C" fn ic_model_gene_name(model: *const IcModel, i: usize) -> *const c_char {
    // SAFETY: `model` is NULL or live (this function's contract).
    unsafe { opt_handle(model) }
        .and_then(|m| m.gene_names.get(i))
        .map_or(std::ptr::null(), |g| g.as_ptr())
}

/// The model of a live handle, or IC_NULL_ARGUMENT.
///
/// # Safety
/// `model` is NULL or a live model handle that outlives `'a`.
pub(crate) unsafe fn model_ref<'a>(model: *const IcModel) -> ArgResult<&'a Model> {
    // SAFETY: this function's contract is the one `handle_ref` requires.
    unsafe { handle_ref(model, "model") }.map(|m| &m.model)
}
