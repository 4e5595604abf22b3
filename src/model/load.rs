//! Loading a package: its files checked, the shared parts read once, the graphs of the chosen
//! precision opened, and (with a tie margin) the fp32 graphs beside them.

use super::decoder::CacheNames;
use super::engine::{Engine, Shared};
use super::int8_choice::choose_int8_weights;
use super::ties::{self, TieCheck};
use super::{Model, ModelOptions};
use crate::error::Result;
use crate::package::{interface, Int8Weights, ModelPackage, Precision};
use crate::prompt::{PromptFormatter, TextTokenizer};
use crate::runtime::{runtime_with_pool, SharedPool};
use std::path::Path;
use std::sync::Arc;

impl Model {
    /// Loads the package in `dir`: validates the manifest, verifies every file it will use
    /// (size and SHA-256), loads ONNX Runtime if needed and opens the four graphs.
    ///
    /// # Errors
    /// [`Error::Package`](crate::Error::Package) for a malformed, incomplete or tampered
    /// package; the runtime's errors when ONNX Runtime cannot be found or a provider cannot
    /// start.
    pub fn load(dir: impl AsRef<Path>, opts: &ModelOptions) -> Result<Model> {
        let precision = opts.precision;
        let tie_margin = opts
            .fp32_tie_margin
            .filter(|_| precision != Precision::Fp32)
            .map(ties::check_margin)
            .transpose()?;
        let package = ModelPackage::open(dir.as_ref())?;
        let int8_weights = match precision {
            Precision::Int8 => Some(choose_int8_weights(&package, opts.int8_weights)?),
            _ => None,
        };
        check_files(&package, precision, int8_weights, opts)?;
        if tie_margin.is_some() {
            check_files(&package, Precision::Fp32, None, opts)?;
        }
        // The first model loaded in a process sizes the shared thread pool of ONNX Runtime.
        let pool = SharedPool {
            threads: opts.session.threads.max(1),
            spinning: opts.session.spinning,
        };
        let runtime = runtime_with_pool(opts.onnxruntime_library.as_deref(), pool)?;
        let m = package.manifest();
        let tokenizer = TextTokenizer::from_file(&package.path_of(&m.files.tokenizer.file))?;
        interface::check_tokenizer(&package, &|t| tokenizer.token_id(t))?;
        let shared = Arc::new(Shared {
            cache_names: Arc::new(CacheNames::new(m.model.num_decoder_layers)),
            embeddings: package.token_embeddings()?,
            genes: package.genes()?,
            formatter: PromptFormatter::new(m.prompt.clone()),
            tokenizer,
            runtime,
            package,
        });
        let engine = Engine::open(&shared, precision, int8_weights, opts)?;
        // The fp32 graphs that decide near-ties, verified and opened like the model's own.
        let tie_check = match tie_margin {
            Some(margin) => Some(TieCheck {
                fp32: Engine::open(&shared, Precision::Fp32, None, opts)?,
                margin,
            }),
            None => None,
        };
        Ok(Model {
            shared,
            engine,
            tie_check,
        })
    }
}

/// Every graph of `precision` is listed, and (unless skipped) every file it needs matches its
/// recorded size and SHA-256.
fn check_files(
    package: &ModelPackage,
    precision: Precision,
    int8_weights: Option<Int8Weights>,
    opts: &ModelOptions,
) -> Result<()> {
    for name in crate::package::GRAPH_NAMES {
        package.graph_in(name, precision, int8_weights)?;
    }
    if !opts.skip_checksums {
        package.verify_in(precision, int8_weights)?;
    }
    Ok(())
}
