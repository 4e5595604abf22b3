//! Cell generation: sampling counts from the generator's zero-inflated negative binomial
//! parameters, the log-library prior and the latent draw — all seeded and portable.

mod counts;
pub mod distributions;

pub use counts::{append_cell, standard_normal, CountMode, LibraryPrior, ZinbParams};
