//! The cell encoder's input layer, computed over the expressed genes only.
//!
//! A profile is mostly zeros, so `bias + x · W` is a sum of the weight rows of the expressed
//! genes scaled by their values: a small fraction of the dense product. Each output block is
//! accumulated gene by gene in one fixed order, so a cell's projection does not depend on the
//! batch it is in or on the thread count.

use crate::error::{Error, Result};
use crate::package::{read_matrix, ArrayEntry, ModelPackage, NpyValues, Precision};
use rayon::prelude::*;

/// Output columns per work item (the accumulator stays in registers / L1).
const BLOCK: usize = 256;

enum Weight {
    /// `[genes × width]`.
    F32(Vec<f32>),
    /// `[genes × width]` and a per-column scale.
    I8 { q: Vec<i8>, scale: Vec<f32> },
}

/// The first linear layer of the cell encoder (see `CellInputEntry` in the manifest).
pub(crate) struct CellInput {
    genes: usize,
    width: usize,
    weight: Weight,
    bias: Vec<f32>,
}

fn load_array(pkg: &ModelPackage, entry: &ArrayEntry, shape: [usize; 2]) -> Result<NpyValues> {
    let path = pkg.path_of(&entry.file.file);
    let (rows, cols, values) = read_matrix(&path)?;
    if [rows, cols] != shape {
        return Err(Error::Package {
            path,
            problem: format!(
                "array is {rows} × {cols}, expected {} × {}",
                shape[0], shape[1]
            ),
        });
    }
    Ok(values)
}

fn float_row(pkg: &ModelPackage, entry: &ArrayEntry, width: usize) -> Result<Vec<f32>> {
    match load_array(pkg, entry, [1, width])? {
        NpyValues::F32(v) => Ok(v),
        _ => Err(Error::Package {
            path: pkg.path_of(&entry.file.file),
            problem: "expected a float32 array".into(),
        }),
    }
}

impl CellInput {
    /// Loads the layer of `precision` from the package.
    pub fn load(pkg: &ModelPackage, precision: Precision) -> Result<CellInput> {
        let e = pkg.cell_input(precision)?;
        let (genes, width) = (e.genes, e.width);
        let weight = match (load_array(pkg, &e.weight, [genes, width])?, &e.scale) {
            (NpyValues::F32(w) | NpyValues::F16(w), None) => Weight::F32(w),
            (NpyValues::I8(q), Some(scale)) => Weight::I8 {
                q,
                scale: float_row(pkg, scale, width)?,
            },
            _ => {
                return Err(Error::Package {
                    path: pkg.path_of(&e.weight.file.file),
                    problem: "a cell input weight is float with no scale, or int8 with a scale"
                        .into(),
                })
            }
        };
        Ok(CellInput {
            genes,
            width,
            weight,
            bias: float_row(pkg, &e.bias, width)?,
        })
    }

    /// Output width (the cell encoder graph's `input_projection` columns).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Projects `n` profiles (`[n × genes]`, row-major) to `[n × width]`.
    pub fn project(&self, expression: &[f32], n: usize) -> Result<Vec<f32>> {
        if expression.len() != n * self.genes {
            return Err(Error::Shape(format!(
                "{} expression values for {n} cells of {} genes",
                expression.len(),
                self.genes
            )));
        }
        let nonzero: Vec<Vec<(usize, f32)>> = expression
            .chunks_exact(self.genes.max(1))
            .map(|row| {
                row.iter()
                    .enumerate()
                    .filter(|(_, &x)| x != 0.0)
                    .map(|(g, &x)| (g, x))
                    .collect()
            })
            .collect();
        let mut out = vec![0f32; n * self.width];
        // Cells in parallel; one cell stays on the calling thread (about a millisecond for a
        // 20k-gene model), where waking workers would compete with ONNX Runtime's pool.
        out.par_chunks_mut(self.width)
            .zip(nonzero.par_iter())
            .for_each(|(row, nz)| {
                for (b, block) in row.chunks_mut(BLOCK).enumerate() {
                    self.block(b * BLOCK, block, nz);
                }
            });
        Ok(out)
    }

    /// Columns `start..start + out.len()` of one cell.
    fn block(&self, start: usize, out: &mut [f32], nz: &[(usize, f32)]) {
        let cols = start..start + out.len();
        out.copy_from_slice(&[0.0; BLOCK][..out.len()]);
        match &self.weight {
            Weight::F32(w) => {
                for &(g, x) in nz {
                    let row = &w[g * self.width..(g + 1) * self.width];
                    kernels::axpy_f32(out, x, &row[cols.clone()]);
                }
                for (o, b) in out.iter_mut().zip(&self.bias[cols]) {
                    *o += b;
                }
            }
            Weight::I8 { q, scale } => {
                for &(g, x) in nz {
                    let row = &q[g * self.width..(g + 1) * self.width];
                    kernels::axpy_i8(out, x, &row[cols.clone()]);
                }
                for ((o, s), b) in out
                    .iter_mut()
                    .zip(&scale[cols.clone()])
                    .zip(&self.bias[cols])
                {
                    *o = *o * s + b;
                }
            }
        }
    }
}

/// `acc += x · row`, with an AVX2 + FMA build of the same loop chosen at run time.
mod kernels {
    #[inline(always)]
    fn axpy_f32_generic(acc: &mut [f32], x: f32, row: &[f32]) {
        for (a, &w) in acc.iter_mut().zip(row) {
            *a = w.mul_add(x, *a);
        }
    }

    #[inline(always)]
    fn axpy_i8_generic(acc: &mut [f32], x: f32, row: &[i8]) {
        for (a, &w) in acc.iter_mut().zip(row) {
            *a = (w as f32).mul_add(x, *a);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn axpy_f32_avx2(acc: &mut [f32], x: f32, row: &[f32]) {
        axpy_f32_generic(acc, x, row)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn axpy_i8_avx2(acc: &mut [f32], x: f32, row: &[i8]) {
        axpy_i8_generic(acc, x, row)
    }

    pub(super) fn axpy_f32(acc: &mut [f32], x: f32, row: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked above).
            return unsafe { axpy_f32_avx2(acc, x, row) };
        }
        axpy_f32_generic(acc, x, row)
    }

    pub(super) fn axpy_i8(acc: &mut [f32], x: f32, row: &[i8]) {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked above).
            return unsafe { axpy_i8_avx2(acc, x, row) };
        }
        axpy_i8_generic(acc, x, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(weight: Weight, genes: usize, width: usize) -> CellInput {
        let bias = (0..width).map(|j| j as f32 * 0.01 - 0.3).collect();
        CellInput {
            genes,
            width,
            weight,
            bias,
        }
    }

    /// Dense `bias + x · W` in f64, the reference the sparse kernel must match.
    fn dense(x: &[f32], w: &[f32], bias: &[f32], genes: usize, width: usize) -> Vec<f64> {
        let n = x.len() / genes;
        let mut out = vec![0f64; n * width];
        for c in 0..n {
            for j in 0..width {
                let mut acc = bias[j] as f64;
                for g in 0..genes {
                    acc += x[c * genes + g] as f64 * w[g * width + j] as f64;
                }
                out[c * width + j] = acc;
            }
        }
        out
    }

    fn profiles(n: usize, genes: usize) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(7);
        (0..n * genes)
            .map(|_| {
                if rng.uniform() < 0.8 {
                    0.0
                } else {
                    (rng.uniform() * 4.0) as f32
                }
            })
            .collect()
    }

    #[test]
    fn sparse_projection_matches_the_dense_product() {
        // Widths that are not multiples of the block size exercise the last partial block.
        let (genes, width, n) = (97, 2 * BLOCK + 37, 5);
        let mut rng = crate::rng::Rng::new(3);
        let w: Vec<f32> = (0..genes * width)
            .map(|_| rng.uniform() as f32 - 0.5)
            .collect();
        let mut x = profiles(n, genes);
        x[genes..2 * genes].fill(0.0); // an all-zero cell gets the bias
        let f = layer(Weight::F32(w.clone()), genes, width);
        let got = f.project(&x, n).unwrap();
        let want = dense(&x, &w, &f.bias, genes, width);
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-4, "{g} vs {w}");
        }
        assert_eq!(&got[width..2 * width], &f.bias[..]);

        // int8 weights with a per-column scale: the same as the dequantized dense product.
        let q: Vec<i8> = w.iter().map(|v| (v * 254.0).round() as i8).collect();
        let scale: Vec<f32> = (0..width).map(|j| 0.002 + j as f32 * 1e-5).collect();
        let deq: Vec<f32> = q
            .iter()
            .enumerate()
            .map(|(i, &v)| v as f32 * scale[i % width])
            .collect();
        let i8_layer = layer(Weight::I8 { q, scale }, genes, width);
        let got = i8_layer.project(&x, n).unwrap();
        let want = dense(&x, &deq, &i8_layer.bias, genes, width);
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-4, "{g} vs {w}");
        }
    }

    #[test]
    fn a_cell_projects_the_same_alone_and_in_a_batch() {
        let (genes, width, n) = (64, BLOCK + 5, 4);
        let w: Vec<f32> = (0..genes * width)
            .map(|i| ((i % 13) as f32 - 6.0) * 0.1)
            .collect();
        let f = layer(Weight::F32(w), genes, width);
        let x = profiles(n, genes);
        let batch = f.project(&x, n).unwrap();
        for c in 0..n {
            let alone = f.project(&x[c * genes..(c + 1) * genes], 1).unwrap();
            assert_eq!(alone, batch[c * width..(c + 1) * width]);
        }
        assert!(matches!(f.project(&x[1..], n), Err(Error::Shape(_))));
        assert!(f.project(&[], 0).unwrap().is_empty());
    }
}
