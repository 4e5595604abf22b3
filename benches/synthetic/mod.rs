//! Synthetic raw-count data shared by the preprocessing bench and the throughput example:
//! a 30,000-gene dataset of which 15,000 genes are in an 18,961-gene vocabulary, cells with
//! 2,000 stored counts drawn from a heavy-tailed distribution (mostly 1s and 2s, rare hundreds),
//! as UMI counts are. Everything is a function of the seed.
#![allow(dead_code)]

use instructcell::{CsrRows, RowSource};
use std::ops::Range;

/// Vocabulary size of the published model.
pub const N_VOCAB: usize = 18_961;
/// Genes of the synthetic dataset.
pub const N_GENES: usize = 30_000;
/// Dataset genes that are in the vocabulary.
pub const N_SHARED: usize = 15_000;
/// Stored counts per cell.
pub const NNZ: usize = 2_000;

/// SplitMix64.
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
    /// P(count >= k) = k^(-1/0.7): 63% ones, 20% twos, 4% ten or more, capped at 10,000.
    pub fn count(&mut self) -> f32 {
        let u = 1.0 - (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        u.powf(-0.7).floor().min(10_000.0) as f32
    }
}

/// The vocabulary and the dataset's gene names (shuffled: half vocabulary genes, half others).
pub fn gene_names(seed: u64) -> (Vec<String>, Vec<String>) {
    let mut rng = Rng(seed);
    let vocab: Vec<String> = (0..N_VOCAB).map(|i| format!("VG{i:05}")).collect();
    let mut pick: Vec<usize> = (0..N_VOCAB).collect();
    for i in (1..pick.len()).rev() {
        pick.swap(i, rng.below(i + 1));
    }
    let mut genes: Vec<String> = pick[..N_SHARED].iter().map(|&i| vocab[i].clone()).collect();
    genes.extend((0..N_GENES - N_SHARED).map(|i| format!("XG{i:05}")));
    for i in (1..genes.len()).rev() {
        genes.swap(i, rng.below(i + 1));
    }
    (vocab, genes)
}

/// Appends one random cell (sorted distinct columns) to `out`; `seen` is scratch of N_GENES.
pub fn push_cell(rng: &mut Rng, seen: &mut [bool], cols: &mut Vec<u32>, out: &mut CsrRows) {
    cols.clear();
    while cols.len() < NNZ {
        let c = rng.below(N_GENES);
        if !seen[c] {
            seen[c] = true;
            cols.push(c as u32);
        }
    }
    cols.sort_unstable();
    for &c in cols.iter() {
        seen[c as usize] = false;
        out.indices.push(c);
        out.data.push(rng.count());
    }
    out.indptr.push(out.indices.len() as u64);
}

/// `n` cells as one CSR block.
pub fn cells(seed: u64, n: usize) -> CsrRows {
    let mut rng = Rng(seed ^ 0x5eed);
    let mut out = CsrRows::new(N_GENES);
    out.indices.reserve(n * NNZ);
    out.data.reserve(n * NNZ);
    let (mut seen, mut cols) = (vec![false; N_GENES], Vec::with_capacity(NNZ));
    for _ in 0..n {
        push_cell(&mut rng, &mut seen, &mut cols, &mut out);
    }
    out
}

/// A source of `n_rows` cells that holds only `pool` distinct cells and serves row `r` as cell
/// `r % pool`: a stand-in for an on-disk store, with memory independent of `n_rows`.
pub struct CyclingSource {
    pool: CsrRows,
    n_rows: usize,
    genes: Vec<String>,
}

impl CyclingSource {
    pub fn new(pool: CsrRows, n_rows: usize, genes: Vec<String>) -> Self {
        CyclingSource {
            pool,
            n_rows,
            genes,
        }
    }
}

impl RowSource for CyclingSource {
    fn n_rows(&self) -> usize {
        self.n_rows
    }
    fn n_cols(&self) -> usize {
        N_GENES
    }
    fn gene_names(&self) -> &[String] {
        &self.genes
    }
    fn read_rows(&mut self, rows: Range<usize>, out: &mut CsrRows) -> instructcell::Result<()> {
        out.clear(N_GENES);
        let n = self.pool.n_rows();
        for r in rows {
            let (c, v) = self.pool.row(r % n);
            out.push_row(c, v)?;
        }
        Ok(())
    }
}
