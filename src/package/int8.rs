//! The two encodings of a package's int8 weights, and which one this CPU multiplies exactly.
//!
//! ONNX Runtime multiplies the int8 graphs' uint8 activations by their weights. With signed
//! (int8) weights, x86-64 CPUs without VNNI first add pairs of products into 16-bit integers,
//! which saturate: large activations meeting large weights are clipped and answers change (on
//! the bundled trained package, a quarter of the sentence answers differed from fp32 on such a
//! CPU, against 2 % on a CPU with VNNI). Packages of format 3 therefore also carry the same
//! weights shifted by +128 into uint8 (`int8-unsigned/`), which every CPU multiplies exactly
//! with 16-bit widening: the unsigned graphs compute the same integers on any CPU that the
//! signed ones compute on a VNNI CPU, usually a little slower there.

use crate::error::{Error, Result};

/// How a package's int8 weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Int8Weights {
    /// int8 weights: fastest, exact on x86-64 with VNNI (AVX512-VNNI or AVX-VNNI; every CPU
    /// with AMX has AVX512-VNNI) and on ARM.
    Signed,
    /// The same weights shifted into uint8 (zero points shifted alike): exact on every CPU.
    Unsigned,
}

impl Int8Weights {
    /// The name used in manifests (`signed`, `unsigned`).
    pub fn as_str(self) -> &'static str {
        match self {
            Int8Weights::Signed => "signed",
            Int8Weights::Unsigned => "unsigned",
        }
    }

    /// The encoding this CPU multiplies exactly and fastest: [`Int8Weights::Signed`] on
    /// x86-64 with AVX512-VNNI or AVX-VNNI and on other architectures,
    /// [`Int8Weights::Unsigned`] on x86-64 without them.
    pub fn preferred() -> Int8Weights {
        if signed_is_exact() {
            Int8Weights::Signed
        } else {
            Int8Weights::Unsigned
        }
    }
}

impl std::fmt::Display for Int8Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Int8Weights {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "signed" | "s8" => Ok(Int8Weights::Signed),
            "unsigned" | "u8" => Ok(Int8Weights::Unsigned),
            other => Err(Error::InvalidArgument(format!(
                "unknown int8 weight encoding {other:?} (expected signed or unsigned)"
            ))),
        }
    }
}

/// Parses `fp32`, `int8`, `fp16`, or `int8-signed` / `int8-unsigned` (a precision with a forced
/// int8 weight encoding), as the C API and command lines accept it.
///
/// # Errors
/// [`Error::InvalidArgument`] for unknown names and for an encoding on fp32 or fp16.
pub fn parse_precision_spec(s: &str) -> Result<(super::Precision, Option<Int8Weights>)> {
    match s.split_once('-') {
        None => Ok((s.parse()?, None)),
        Some((p, w)) => {
            let p: super::Precision = p.parse()?;
            if p != super::Precision::Int8 {
                return Err(Error::InvalidArgument(format!(
                    "{s:?}: only int8 has weight encodings (int8-signed, int8-unsigned)"
                )));
            }
            Ok((p, Some(w.parse()?)))
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn signed_is_exact() -> bool {
    std::arch::is_x86_feature_detected!("avx512vnni")
        || std::arch::is_x86_feature_detected!("avxvnni")
}

#[cfg(target_arch = "x86")]
fn signed_is_exact() -> bool {
    false
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
fn signed_is_exact() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for w in [Int8Weights::Signed, Int8Weights::Unsigned] {
            assert_eq!(w.as_str().parse::<Int8Weights>().unwrap(), w);
            assert_eq!(w.to_string(), w.as_str());
        }
        assert_eq!("U8".parse::<Int8Weights>().unwrap(), Int8Weights::Unsigned);
        assert!(matches!(
            "int4".parse::<Int8Weights>(),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn precision_specs() {
        use super::super::Precision;
        assert_eq!(
            parse_precision_spec("int8").unwrap(),
            (Precision::Int8, None)
        );
        assert_eq!(
            parse_precision_spec("fp16").unwrap(),
            (Precision::Fp16, None)
        );
        assert_eq!(
            parse_precision_spec("int8-unsigned").unwrap(),
            (Precision::Int8, Some(Int8Weights::Unsigned))
        );
        assert_eq!(
            parse_precision_spec("INT8-signed").unwrap(),
            (Precision::Int8, Some(Int8Weights::Signed))
        );
        for bad in ["fp32-signed", "int8-int4", "int4", "int8-"] {
            assert!(
                matches!(parse_precision_spec(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    /// The preference agrees with the kernel's own CPU flags as Linux reports them.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn preference_follows_the_cpu_flags() {
        let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
            return;
        };
        let Some(flags) = info.lines().find(|l| l.starts_with("flags")) else {
            return;
        };
        let exact = flags
            .split_whitespace()
            .any(|f| matches!(f, "avx512_vnni" | "avx_vnni"));
        let expected = if exact {
            Int8Weights::Signed
        } else {
            Int8Weights::Unsigned
        };
        assert_eq!(Int8Weights::preferred(), expected);
    }
}
