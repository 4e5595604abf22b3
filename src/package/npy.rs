//! Reading 2-D `.npy` arrays (format versions 1–3, little-endian, C order) of float32, float16
//! or int8 values.

use crate::error::{Error, Result};
use std::path::Path;

/// The values of a 2-D `.npy` array, by element type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NpyValues {
    /// `<f4`.
    F32(Vec<f32>),
    /// `<f2`, widened to float32 exactly.
    F16(Vec<f32>),
    /// `|i1`.
    I8(Vec<i8>),
}

/// Reads a 2-D little-endian float32 `.npy` array; returns `(rows, cols, values)`.
///
/// # Errors
/// [`Error::Package`] for anything that is not such an array.
pub fn read_f32_matrix(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    match read_matrix(path)? {
        (rows, cols, NpyValues::F32(v)) => Ok((rows, cols, v)),
        _ => Err(Error::Package {
            path: path.to_path_buf(),
            problem: "not a float32 matrix .npy file: dtype is not little-endian float32".into(),
        }),
    }
}

/// Reads a 2-D `.npy` array of float32, float16 or int8; returns `(rows, cols, values)`.
///
/// # Errors
/// [`Error::Package`] for anything that is not such an array.
pub fn read_matrix(path: &Path) -> Result<(usize, usize, NpyValues)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |p: &str| Error::Package {
        path: path.to_path_buf(),
        problem: format!("not a matrix .npy file: {p}"),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("unsupported version")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    let width = if compact.contains("'descr':'<f4'") {
        4
    } else if compact.contains("'descr':'<f2'") {
        2
    } else if compact.contains("'descr':'|i1'") {
        1
    } else {
        return Err(bad("dtype is not little-endian float32, float16 or int8"));
    };
    if !compact.contains("'fortran_order':False") {
        return Err(bad("Fortran order"));
    }
    let shape_txt = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape_txt
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else {
        return Err(bad("not two-dimensional"));
    };
    let data = &bytes[start + header_len..];
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(width))
        .ok_or_else(|| bad("shape overflows"))?;
    if data.len() != expected {
        return Err(bad(&format!(
            "{} data bytes for shape ({rows}, {cols})",
            data.len()
        )));
    }
    let values = match width {
        4 => NpyValues::F32(
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        2 => NpyValues::F16(
            data.chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        ),
        _ => NpyValues::I8(data.iter().map(|&b| b as i8).collect()),
    };
    Ok((rows, cols, values))
}

/// IEEE half → single precision (exact: every half value is a single value).
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: value = f · 2^-24.
            let v = f as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7fc0_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }
}
