//! Element types found in stores, and conversion of what was read to what the crate uses.

use super::problem::{StoreCtx, StoreProblem};
use crate::error::Result;

/// The element type of a stored array, as far as the readers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    Bool,
    Int(u8),
    UInt(u8),
    Float(u8),
    Str,
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dtype::Bool => write!(f, "bool"),
            Dtype::Int(b) => write!(f, "int{b}"),
            Dtype::UInt(b) => write!(f, "uint{b}"),
            Dtype::Float(b) => write!(f, "float{b}"),
            Dtype::Str => write!(f, "string"),
        }
    }
}

/// A slice of a stored array in its native element type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Str(Vec<String>),
}

/// Applies one expression to the vector inside any integer variant.
macro_rules! each_int {
    ($v:expr, $x:ident => $body:expr, $other:ident => $fallback:expr) => {
        match $v {
            Values::I8($x) => $body,
            Values::I16($x) => $body,
            Values::I32($x) => $body,
            Values::I64($x) => $body,
            Values::U8($x) => $body,
            Values::U16($x) => $body,
            Values::U32($x) => $body,
            Values::U64($x) => $body,
            $other => $fallback,
        }
    };
}

impl Values {
    pub(crate) fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Str(v) => v.len(),
            other => each_int!(other, v => v.len(), _x => 0),
        }
    }

    pub(crate) fn dtype(&self) -> Dtype {
        match self {
            Values::Bool(_) => Dtype::Bool,
            Values::I8(_) => Dtype::Int(8),
            Values::I16(_) => Dtype::Int(16),
            Values::I32(_) => Dtype::Int(32),
            Values::I64(_) => Dtype::Int(64),
            Values::U8(_) => Dtype::UInt(8),
            Values::U16(_) => Dtype::UInt(16),
            Values::U32(_) => Dtype::UInt(32),
            Values::U64(_) => Dtype::UInt(64),
            Values::F32(_) => Dtype::Float(32),
            Values::F64(_) => Dtype::Float(64),
            Values::Str(_) => Dtype::Str,
        }
    }

    /// Integers widened to `i128`, which holds every stored integer type exactly.
    pub(crate) fn ints(&self) -> Option<Vec<i128>> {
        each_int!(self, v => Some(v.iter().map(|&x| x as i128).collect()), _x => None)
    }

    /// Integers as `i64` (for columns); `None` for non-integers or `u64` values above `i64::MAX`.
    pub(crate) fn to_i64(&self) -> Option<Vec<i64>> {
        self.ints()?
            .into_iter()
            .map(|x| i64::try_from(x).ok())
            .collect()
    }

    /// Numbers as `f64` (integers and booleans converted).
    pub(crate) fn to_f64(&self) -> Option<Vec<f64>> {
        match self {
            Values::F32(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Values::F64(v) => Some(v.clone()),
            Values::Bool(v) => Some(v.iter().map(|&x| x as u8 as f64).collect()),
            Values::Str(_) => None,
            other => Some(other.ints()?.into_iter().map(|x| x as f64).collect()),
        }
    }

    /// Non-negative offsets (pointer arrays), rejecting anything negative.
    pub(crate) fn to_offsets(&self, ctx: &StoreCtx, element: &str) -> Result<Vec<u64>> {
        let ints = self
            .ints()
            .ok_or_else(|| ctx.unsupported(element, format!("{} pointer array", self.dtype())))?;
        ints.into_iter()
            .enumerate()
            .map(|(i, x)| {
                u64::try_from(x).map_err(|_| {
                    ctx.err(
                        element,
                        StoreProblem::IndptrNotMonotone {
                            position: i as u64,
                            before: 0,
                            after: x,
                        },
                    )
                })
            })
            .collect()
    }

    /// Appends the values as `f32` (the dtype the core works in) to `out`.
    pub(crate) fn extend_f32(&self, out: &mut Vec<f32>) -> Option<()> {
        match self {
            Values::F32(v) => out.extend_from_slice(v),
            Values::F64(v) => out.extend(v.iter().map(|&x| x as f32)),
            Values::Bool(_) | Values::Str(_) => return None,
            other => {
                each_int!(other, v => out.extend(v.iter().map(|&x| x as f32)), _x => return None)
            }
        }
        Some(())
    }

    /// A copy of the values at `range` (which must lie inside).
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Values {
        match self {
            Values::Bool(v) => Values::Bool(v[range].to_vec()),
            Values::I8(v) => Values::I8(v[range].to_vec()),
            Values::I16(v) => Values::I16(v[range].to_vec()),
            Values::I32(v) => Values::I32(v[range].to_vec()),
            Values::I64(v) => Values::I64(v[range].to_vec()),
            Values::U8(v) => Values::U8(v[range].to_vec()),
            Values::U16(v) => Values::U16(v[range].to_vec()),
            Values::U32(v) => Values::U32(v[range].to_vec()),
            Values::U64(v) => Values::U64(v[range].to_vec()),
            Values::F32(v) => Values::F32(v[range].to_vec()),
            Values::F64(v) => Values::F64(v[range].to_vec()),
            Values::Str(v) => Values::Str(v[range].to_vec()),
        }
    }

    pub(crate) fn into_strings(self) -> Option<Vec<String>> {
        match self {
            Values::Str(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn into_bools(self) -> Option<Vec<bool>> {
        match self {
            Values::Bool(v) => Some(v),
            // h5py stores numpy booleans as an 8-bit enum, which some readers see as integers.
            Values::U8(v) => Some(v.into_iter().map(|x| x != 0).collect()),
            Values::I8(v) => Some(v.into_iter().map(|x| x != 0).collect()),
            _ => None,
        }
    }
}

/// Converts column indices of any integer type to `u32`, checking them against `bound`.
///
/// `major_of` maps a position in `idx` to the row (or column) it belongs to, for the error.
pub(crate) fn extend_indices(
    idx: &Values,
    bound: u64,
    out: &mut Vec<u32>,
    ctx: &StoreCtx,
    element: &str,
    major_of: impl Fn(usize) -> u64,
) -> Result<()> {
    let bad = |pos: usize, index: i128| {
        ctx.err(
            element,
            StoreProblem::IndexOutOfRange {
                major: major_of(pos),
                index,
                bound,
            },
        )
    };
    macro_rules! convert {
        ($v:expr) => {{
            out.reserve($v.len());
            for (pos, &x) in $v.iter().enumerate() {
                let wide = x as i128;
                if wide < 0 || wide >= bound as i128 {
                    return Err(bad(pos, wide));
                }
                out.push(wide as u32);
            }
        }};
    }
    match idx {
        Values::I8(v) => convert!(v),
        Values::I16(v) => convert!(v),
        Values::I32(v) => convert!(v),
        Values::I64(v) => convert!(v),
        Values::U8(v) => convert!(v),
        Values::U16(v) => convert!(v),
        Values::U32(v) => convert!(v),
        Values::U64(v) => convert!(v),
        other => {
            return Err(ctx.unsupported(element, format!("{} index array", other.dtype())));
        }
    }
    Ok(())
}
