//! Progress of a run: a bar with cells/s and ETA on a terminal, periodic plain lines in
//! pipeline logs, nothing when quiet.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often plain progress lines are written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// Reports `done/total` as work advances.
pub enum Progress {
    /// Nothing.
    Quiet,
    /// An interactive bar.
    Bar(ProgressBar),
    /// A line every [`LINE_EVERY`].
    Lines {
        start: Instant,
        last: Instant,
        what: &'static str,
    },
}

impl Progress {
    /// Chooses the kind from `quiet` and whether stderr is a terminal.
    pub fn new(quiet: bool, total: usize, what: &'static str) -> Self {
        if quiet {
            return Progress::Quiet;
        }
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} {msg} [{elapsed_precise}, {per_sec}, ETA {eta}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what);
            Progress::Bar(bar)
        } else {
            let now = Instant::now();
            Progress::Lines {
                start: now,
                last: now,
                what,
            }
        }
    }

    /// Records progress.
    pub fn update(&mut self, done: usize, total: usize) {
        match self {
            Progress::Quiet => {}
            Progress::Bar(b) => b.set_position(done as u64),
            Progress::Lines { start, last, what } => {
                let now = Instant::now();
                if now.duration_since(*last) < LINE_EVERY && done < total {
                    return;
                }
                *last = now;
                let secs = now.duration_since(*start).as_secs_f64().max(1e-9);
                let rate = done as f64 / secs;
                let eta = if rate > 0.0 {
                    format!("{:.0} s", (total - done.min(total)) as f64 / rate)
                } else {
                    "unknown".into()
                };
                eprintln!(
                    "progress: {done}/{total} {what} ({:.0}%), {rate:.1} {what}/s, ETA {eta}",
                    100.0 * done as f64 / total.max(1) as f64
                );
            }
        }
    }

    /// Ends the bar.
    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
