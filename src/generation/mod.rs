//! Text generation: the decoding loop (greedy, sampling, beam search), logits processors and
//! stop rules. Model-agnostic: it drives any [`StepDecoder`].

mod beam;
mod decoder;
mod filter;
mod lse;
mod options;
mod output;
pub mod processors;
mod sampling;
mod search;
mod trie;

pub use decoder::StepDecoder;
pub use filter::TokenFilter;
pub use options::{BeamSearch, Decoding, DecodingOptions, Sampling};
pub use output::{Generated, StopReason};
pub use sampling::sample_index;
pub use search::generate;
pub use trie::LabelTrie;
