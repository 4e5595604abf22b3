//! Shared helpers of the preprocessing and gene tests: a seeded generator, random count
//! matrices, and a deliberately plain reference implementation of alignment + normalization.
#![allow(dead_code)]

use instructcell::genes::{DatasetDuplicates, GeneMatching, VocabDuplicates};
use instructcell::preprocess::{LibrarySize, PreprocessOptions};
use instructcell::{Batch, CsrRows, RowSource};

/// SplitMix64: tiny, seeded, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A heavy-tailed count >= 1, mostly small, like UMI counts.
    pub fn count(&mut self) -> f32 {
        let u = 1.0 - self.unit();
        (u.powf(-0.7).floor()).min(5000.0) as f32
    }
}

/// One cell as parallel (column, value) lists.
pub type Row = (Vec<u32>, Vec<f32>);

/// `n_rows` random rows over `n_cols` columns with about `nnz` stored values each, sorted
/// columns, integer counts.
pub fn random_rows(rng: &mut Rng, n_rows: usize, n_cols: usize, nnz: usize) -> Vec<Row> {
    (0..n_rows)
        .map(|_| {
            let k = 1 + rng.below(nnz.max(1) * 2);
            let mut cols: Vec<u32> = (0..k).map(|_| rng.below(n_cols) as u32).collect();
            cols.sort_unstable();
            cols.dedup();
            let vals = cols.iter().map(|_| rng.count()).collect();
            (cols, vals)
        })
        .collect()
}

/// The rows as one CSR block.
pub fn block(rows: &[Row], n_cols: usize) -> CsrRows {
    let mut b = CsrRows::new(n_cols);
    for (c, v) in rows {
        b.push_row(c, v).unwrap();
    }
    b
}

/// An in-memory row source over explicit rows (lets tests feed non-canonical rows).
pub struct RowsSource {
    pub rows: Vec<Row>,
    pub n_cols: usize,
    pub genes: Vec<String>,
}

impl RowSource for RowsSource {
    fn n_rows(&self) -> usize {
        self.rows.len()
    }
    fn n_cols(&self) -> usize {
        self.n_cols
    }
    fn gene_names(&self) -> &[String] {
        &self.genes
    }
    fn read_rows(
        &mut self,
        rows: std::ops::Range<usize>,
        out: &mut CsrRows,
    ) -> instructcell::Result<()> {
        out.clear(self.n_cols);
        for (c, v) in &self.rows[rows] {
            out.push_row(c, v)?;
        }
        Ok(())
    }
}

pub fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn fold(s: &str, m: GeneMatching) -> String {
    match m {
        GeneMatching::IgnoreCase => s.to_uppercase(),
        _ => s.to_owned(),
    }
}

/// The reference: for each vocabulary gene, the dataset columns carrying it, straight from the
/// rules' definitions (no index structures).
pub fn reference_columns(
    dataset: &[String],
    vocab: &[String],
    matching: GeneMatching,
    dups: DatasetDuplicates,
    vdups: VocabDuplicates,
) -> Vec<Vec<usize>> {
    vocab
        .iter()
        .enumerate()
        .map(|(v, name)| {
            let key = fold(name, matching);
            let earlier = vocab[..v].iter().any(|o| fold(o, matching) == key);
            if earlier && vdups == VocabDuplicates::FirstOnly {
                return Vec::new();
            }
            let cols: Vec<usize> = dataset
                .iter()
                .enumerate()
                .filter(|(_, d)| fold(d, matching) == key)
                .map(|(c, _)| c)
                .collect();
            match (dups, cols.len()) {
                (_, 0) => cols,
                (DatasetDuplicates::KeepFirst, _) => vec![cols[0]],
                (DatasetDuplicates::KeepLast, _) => vec![*cols.last().unwrap()],
                _ => cols,
            }
        })
        .collect()
}

/// The reference preprocessing of one row, in f64. `None` for a bad cell.
pub fn reference_row(
    row: &Row,
    n_cols: usize,
    columns: &[Vec<usize>],
    o: &PreprocessOptions,
) -> Option<Vec<f64>> {
    let mut dense = vec![0.0f64; n_cols];
    for (&c, &v) in row.0.iter().zip(&row.1) {
        if !v.is_finite() || v < 0.0 || (o.integer_counts && v.fract() != 0.0) {
            return None;
        }
        dense[c as usize] += v as f64;
    }
    let aligned: Vec<f64> = columns
        .iter()
        .map(|cols| cols.iter().map(|&c| dense[c]).sum())
        .collect();
    let total: f64 = dense.iter().sum();
    let aligned_sum: f64 = aligned.iter().sum();
    if total == 0.0 || aligned_sum == 0.0 {
        return None;
    }
    let library = match o.library_size {
        LibrarySize::AllGenes => total,
        _ => aligned_sum,
    };
    Some(
        aligned
            .iter()
            .map(|&x| {
                let x = if o.normalize_total {
                    x / library * o.target_sum as f64
                } else {
                    x
                };
                if o.log1p {
                    x.ln_1p()
                } else {
                    x
                }
            })
            .collect(),
    )
}

/// The stated tolerance of the `f32` core against the `f64` reference.
pub fn close(got: f32, want: f64) -> bool {
    (got as f64 - want).abs() <= 1e-6 + 5e-7 * want.abs()
}

/// Asserts that batch row `i` equals the reference row.
pub fn assert_row(batch: &Batch<'_>, i: usize, want: &[f64], what: &str) {
    let got = batch.cell(i);
    assert_eq!(got.len(), want.len());
    for (g, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(close(a, b), "{what}: cell {i} gene {g}: got {a}, want {b}");
    }
}
