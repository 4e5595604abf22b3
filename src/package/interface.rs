//! What a package's tokenizer and graphs must agree on with its manifest: the special tokens'
//! ids, and the per-layer cache interface (tensor names, in order) of the text encoder and
//! the decoder (package format 2 and later).

use super::ModelPackage;
use crate::error::{Error, Result};

/// The per-layer cache tensor names of the text encoder and decoder graphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheNames {
    pub past_key: Vec<String>,
    pub past_value: Vec<String>,
    pub cross_key: Vec<String>,
    pub cross_value: Vec<String>,
    pub present_key: Vec<String>,
    pub present_value: Vec<String>,
}

impl CacheNames {
    /// `prefix_0` … `prefix_{layers-1}` for every cache kind.
    pub fn new(layers: usize) -> CacheNames {
        let names = |prefix: &str| (0..layers).map(|i| format!("{prefix}_{i}")).collect();
        CacheNames {
            past_key: names("past_key"),
            past_value: names("past_value"),
            cross_key: names("cross_key"),
            cross_value: names("cross_value"),
            present_key: names("present_key"),
            present_value: names("present_value"),
        }
    }

    /// The decoder inputs, in the graph's order.
    pub fn decoder_inputs(&self) -> Vec<String> {
        let mut v = vec![
            "input_ids".to_string(),
            "encoder_attention_mask".to_string(),
        ];
        for names in [
            &self.past_key,
            &self.past_value,
            &self.cross_key,
            &self.cross_value,
        ] {
            v.extend(names.iter().cloned());
        }
        v
    }

    /// The decoder outputs, in the graph's order.
    pub fn decoder_outputs(&self) -> Vec<String> {
        let mut v = vec!["logits".to_string(), "hidden".to_string()];
        v.extend(self.present_key.iter().cloned());
        v.extend(self.present_value.iter().cloned());
        v
    }

    /// The text encoder outputs, in the graph's order.
    pub fn text_encoder_outputs(&self) -> Vec<String> {
        let mut v = vec!["encoder_hidden_states".to_string()];
        v.extend(self.cross_key.iter().cloned());
        v.extend(self.cross_value.iter().cloned());
        v
    }
}

/// Checks that the tokenizer (its `token_id` lookup) maps every special token text of the
/// manifest to its id.
pub(crate) fn check_tokenizer(
    package: &ModelPackage,
    token_id: &dyn Fn(&str) -> Option<u32>,
) -> Result<()> {
    let st = &package.manifest().special_tokens;
    let pairs = [
        (&st.texts.cell_start, st.cell_start),
        (&st.texts.cell_end, st.cell_end),
        (&st.texts.placeholder, st.placeholder),
    ];
    let signals = st.texts.signal.iter().zip(st.signal.iter().copied());
    for (text, id) in pairs.into_iter().chain(signals) {
        if token_id(text) != Some(id) {
            return Err(Error::Package {
                path: package.root().to_path_buf(),
                problem: format!(
                    "the tokenizer maps {text:?} to {:?}, the manifest says {id}",
                    token_id(text)
                ),
            });
        }
    }
    Ok(())
}

/// The names a loaded graph declares, to compare with what the package format requires.
pub(crate) struct GraphNames<'a> {
    pub name: &'a str,
    pub inputs: &'a [String],
    pub outputs: &'a [String],
}

/// Checks that the text encoder's outputs and the decoder's inputs and outputs are the
/// per-layer cache interface of `names`.
pub(crate) fn check_cache_interface(
    package: &ModelPackage,
    names: &CacheNames,
    text_encoder: GraphNames<'_>,
    decoder: GraphNames<'_>,
) -> Result<()> {
    let expected = [
        (text_encoder, None, names.text_encoder_outputs()),
        (
            decoder,
            Some(names.decoder_inputs()),
            names.decoder_outputs(),
        ),
    ];
    for (graph, inputs, outputs) in expected {
        let inputs_ok = inputs.is_none_or(|i| graph.inputs == i.as_slice());
        if !inputs_ok || graph.outputs != outputs.as_slice() {
            return Err(Error::Package {
                path: package.root().to_path_buf(),
                problem: format!(
                    "graph {} has inputs {:?} and outputs {:?}, not the per-layer cache \
                     interface (package format 2 and later) for {} decoder layers",
                    graph.name,
                    graph.inputs,
                    graph.outputs,
                    package.manifest().model.num_decoder_layers
                ),
            });
        }
    }
    Ok(())
}
