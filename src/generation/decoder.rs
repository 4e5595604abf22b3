//! The interface between the decoding loop and whatever computes next-token logits.

use crate::error::Result;

/// An incremental decoder over a batch of rows, each row one sequence with its own cache.
///
/// The decoding loop owns all control flow; an implementation only runs the network. The ONNX
/// implementation keeps its key/value caches inside ONNX Runtime values; tests use small
/// hand-written models.
pub trait StepDecoder {
    /// Size of the logits vector of one row.
    fn vocab_size(&self) -> usize;

    /// Number of rows currently in the batch.
    fn rows(&self) -> usize;

    /// Feeds `tokens[i]` to row `i` (one token per row) and writes the next-token logits of every
    /// row, row-major `[rows × vocab_size]`, into `logits` (resized as needed).
    ///
    /// # Errors
    /// Whatever the decoder's backend reports (for the model's decoder, [`Error::Onnx`](crate::Error::Onnx));
    /// [`Error::Shape`](crate::Error::Shape) when `tokens` does not have one entry per row.
    fn step(&mut self, tokens: &[u32], logits: &mut Vec<f32>) -> Result<()>;

    /// Rebuilds the batch so that new row `i` continues old row `keep[i]`. Rows may be dropped
    /// (finished sequences) or repeated (beam search forks).
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) when `keep` names a row that does not exist; backend errors as for
    /// [`Self::step`].
    fn select_rows(&mut self, keep: &[usize]) -> Result<()>;
}
