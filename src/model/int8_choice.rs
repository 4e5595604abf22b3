//! Which int8 graphs a model loads: the caller's choice, else the encoding this CPU
//! multiplies exactly (see [`Int8Weights`]).

use crate::error::{Error, Result};
use crate::package::{Int8Weights, ModelPackage};

/// `requested` if given (an error when the package lacks it); otherwise the CPU's preferred
/// encoding, or the unsigned set when only that is present (exact everywhere, just slower on
/// VNNI CPUs). Signed-only packages are refused on CPUs that would saturate their products,
/// rather than run with changed answers.
pub(crate) fn choose_int8_weights(
    package: &ModelPackage,
    requested: Option<Int8Weights>,
) -> Result<Int8Weights> {
    choose(package, requested, Int8Weights::preferred())
}

fn choose(
    package: &ModelPackage,
    requested: Option<Int8Weights>,
    preferred: Int8Weights,
) -> Result<Int8Weights> {
    let sets = package.int8_weight_sets();
    let problem = |p: String| Error::Package {
        path: package.root().to_path_buf(),
        problem: p,
    };
    if sets.is_empty() {
        return Err(problem("no complete set of int8 graphs".into()));
    }
    if let Some(w) = requested {
        return if sets.contains(&w) {
            Ok(w)
        } else {
            Err(problem(format!(
                "no int8 graphs with {w} weights (the package has {})",
                sets[0]
            )))
        };
    }
    if sets.contains(&preferred) {
        return Ok(preferred);
    }
    match preferred {
        Int8Weights::Signed => Ok(Int8Weights::Unsigned),
        _ => Err(problem(
            "the int8 graphs of this package have signed weights only, and this CPU \
             (x86-64 without VNNI) multiplies them with saturating 16-bit sums, which changes \
             answers; add the exact unsigned set with `python -m instructcell_onnx \
             add-unsigned-int8 --package DIR` (onnx/), load fp32, or accept the error with \
             ModelOptions::with_int8_weights(Int8Weights::Signed)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tiny() -> ModelPackage {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-random");
        ModelPackage::open(dir).unwrap()
    }

    #[test]
    fn follows_the_cpu_and_the_request() {
        let pkg = tiny();
        assert_eq!(
            pkg.int8_weight_sets(),
            [Int8Weights::Signed, Int8Weights::Unsigned]
        );
        for pref in [Int8Weights::Signed, Int8Weights::Unsigned] {
            assert_eq!(choose(&pkg, None, pref).unwrap(), pref);
            for req in [Int8Weights::Signed, Int8Weights::Unsigned] {
                assert_eq!(choose(&pkg, Some(req), pref).unwrap(), req);
            }
        }
    }
}
