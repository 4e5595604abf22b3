//! One precision's graphs of a package, and what every precision shares.

use super::cell_input::CellInput;
use super::decoder::CacheNames;
use super::ModelOptions;
use crate::error::Result;
use crate::package::{manifest::ModelDims, Int8Weights, ModelPackage, Precision};
use crate::prompt::{PromptFormatter, TextTokenizer};
use crate::runtime::{Graph, Runtime};
use std::sync::Arc;

/// The parts of a loaded package that do not depend on the precision of the graphs.
pub(super) struct Shared {
    pub package: ModelPackage,
    pub tokenizer: TextTokenizer,
    pub formatter: PromptFormatter,
    pub embeddings: Vec<f32>,
    pub genes: Vec<String>,
    pub cache_names: Arc<CacheNames>,
    pub runtime: Arc<Runtime>,
}

impl Shared {
    /// Architecture sizes.
    pub fn dims(&self) -> &ModelDims {
        &self.package.manifest().model
    }
}

/// The four graphs of one precision (and that precision's cell input projection), run over
/// the shared tokenizer, embeddings and cache interface.
pub(super) struct Engine {
    pub shared: Arc<Shared>,
    pub precision: Precision,
    pub int8_weights: Option<Int8Weights>,
    pub cell_encoder: Graph,
    pub text_encoder: Graph,
    pub decoder: Graph,
    pub generator: Graph,
    pub cell_input: CellInput,
}

impl Engine {
    /// Opens the graphs of `precision` (files already verified by the caller).
    pub fn open(
        shared: &Arc<Shared>,
        precision: Precision,
        int8_weights: Option<Int8Weights>,
        opts: &ModelOptions,
    ) -> Result<Engine> {
        let package = &shared.package;
        let open = |name: &str| -> Result<Graph> {
            let entry = package.graph_in(name, precision, int8_weights)?;
            Graph::open(
                &shared.runtime,
                &package.path_of(&entry.file),
                &opts.session,
                name,
            )
        };
        let text_encoder = open("text_encoder")?;
        let decoder = open("decoder")?;
        crate::package::interface::check_cache_interface(
            package,
            &shared.cache_names,
            graph_names(&text_encoder),
            graph_names(&decoder),
        )?;
        Ok(Engine {
            shared: Arc::clone(shared),
            precision,
            int8_weights,
            cell_encoder: open("cell_encoder")?,
            text_encoder,
            decoder,
            generator: open("generator")?,
            cell_input: CellInput::load(package, precision)?,
        })
    }
}

fn graph_names(g: &Graph) -> crate::package::interface::GraphNames<'_> {
    crate::package::interface::GraphNames {
        name: g.name(),
        inputs: g.input_names(),
        outputs: g.output_names(),
    }
}
