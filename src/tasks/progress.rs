//! Progress reporting and cancellation for long runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Observes a running task: progress after each batch, and a cancellation flag checked between
/// batches (a cancelled run returns [`crate::Error::Cancelled`] and writes nothing).
///
/// It also adds up the time spent in the model's graphs ([`Control::inference_time`]), so a
/// caller can tell reading and preprocessing (which overlap inference where the source can be
/// read from another thread) from inference.
#[derive(Default)]
pub struct Control<'a> {
    progress: Option<Box<dyn FnMut(usize, usize) + Send + 'a>>,
    cancel: Option<&'a AtomicBool>,
    inference: Duration,
}

impl<'a> Control<'a> {
    /// No progress reports, no cancellation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `f(done, total)` after every batch.
    pub fn with_progress(mut self, f: impl FnMut(usize, usize) + Send + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Stops before the next batch once `flag` is set.
    pub fn with_cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Time spent running the model so far (label tasks).
    pub fn inference_time(&self) -> Duration {
        self.inference
    }

    pub(crate) fn add_inference(&mut self, d: Duration) {
        self.inference += d;
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|f| f.load(Ordering::Relaxed))
    }

    pub(crate) fn report(&mut self, done: usize, total: usize) {
        if let Some(f) = self.progress.as_mut() {
            f(done, total);
        }
    }
}

impl std::fmt::Debug for Control<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}
