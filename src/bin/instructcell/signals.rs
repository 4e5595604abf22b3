//! SIGINT and SIGTERM: the first one asks the running task to stop between batches (it then
//! writes nothing); a second SIGINT ends the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit::Code;

/// The cancellation flag and which signal set it.
pub struct Signals {
    cancel: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    /// Installs the handlers (failures to install leave the default behaviour).
    pub fn install() -> Self {
        let cancel = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        let _ = signal_hook::flag::register_conditional_shutdown(
            SIGINT,
            Code::Interrupted as i32,
            cancel.clone(),
        );
        for (sig, code) in [(SIGINT, Code::Interrupted), (SIGTERM, Code::Terminated)] {
            let _ = signal_hook::flag::register_usize(sig, which.clone(), code as usize);
            let _ = signal_hook::flag::register(sig, cancel.clone());
        }
        Signals { cancel, which }
    }

    /// The flag tasks check between batches.
    pub fn flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// The exit code of the signal received, if any.
    pub fn received(&self) -> Option<Code> {
        if !self.cancel.load(Ordering::SeqCst) {
            return None;
        }
        Some(match self.which.load(Ordering::SeqCst) {
            143 => Code::Terminated,
            _ => Code::Interrupted,
        })
    }
}
