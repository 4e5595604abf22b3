//! The ONNX decoder as a [`StepDecoder`]: self-attention caches stay in ONNX Runtime values
//! from step to step (each step feeds one new token per row), and the cross-attention
//! keys/values computed once by the text encoder are reused.

use super::tensors::{f32_tensor, gather_axis1, i64_tensor, take, view_f32};
use crate::error::{Error, Result};
use crate::generation::StepDecoder;
use crate::runtime::Graph;

/// The text encoder's per-sequence outputs that the decoder needs, on the host.
#[derive(Debug, Clone)]
pub(crate) struct CrossState {
    pub layers: usize,
    pub heads: usize,
    pub d_kv: usize,
    pub rows: usize,
    pub enc_len: usize,
    /// `[layers, rows, heads, enc_len, d_kv]`
    pub key: Vec<f32>,
    /// `[layers, rows, heads, enc_len, d_kv]`
    pub value: Vec<f32>,
    /// `[rows, enc_len]`
    pub mask: Vec<i64>,
}

impl CrossState {
    /// The state of a subset of rows (repeats allowed).
    pub fn select(&self, keep: &[usize]) -> Result<CrossState> {
        let mut mask = Vec::with_capacity(keep.len() * self.enc_len);
        for &k in keep {
            mask.extend_from_slice(&self.mask[k * self.enc_len..(k + 1) * self.enc_len]);
        }
        Ok(CrossState {
            rows: keep.len(),
            key: gather_axis1(&self.key, self.layers, self.rows, keep)?,
            value: gather_axis1(&self.value, self.layers, self.rows, keep)?,
            mask,
            ..*self
        })
    }

    fn kv_shape(&self) -> [usize; 5] {
        [self.layers, self.rows, self.heads, self.enc_len, self.d_kv]
    }
}

/// Incremental decoding over a batch, for the generation loop.
pub(crate) struct OnnxDecoder<'g> {
    graph: &'g Graph,
    vocab: usize,
    pad: u32,
    cross: CrossState,
    /// Logical row → physical row of the ONNX tensors. Rows that finished are dropped from the
    /// map at once but stay in the tensors until compaction pays off.
    map: Vec<usize>,
    cross_key: ort::value::DynValue,
    cross_value: ort::value::DynValue,
    mask: ort::value::DynValue,
    past_key: ort::value::DynValue,
    past_value: ort::value::DynValue,
    past_len: usize,
}

impl<'g> OnnxDecoder<'g> {
    pub fn new(graph: &'g Graph, cross: CrossState, vocab: usize, pad: u32) -> Result<Self> {
        let rows = cross.rows;
        let shape = cross.kv_shape();
        let empty = [cross.layers, rows, cross.heads, 0, cross.d_kv];
        Ok(OnnxDecoder {
            graph,
            vocab,
            pad,
            map: (0..rows).collect(),
            cross_key: f32_tensor(graph, &shape, cross.key.clone())?,
            cross_value: f32_tensor(graph, &shape, cross.value.clone())?,
            mask: i64_tensor(graph, &[rows, cross.enc_len], cross.mask.clone())?,
            past_key: f32_tensor(graph, &empty, Vec::new())?,
            past_value: f32_tensor(graph, &empty, Vec::new())?,
            past_len: 0,
            cross,
        })
    }

    /// Physically rebuilds every tensor so that physical row `i` is old physical row `phys[i]`.
    fn compact(&mut self, phys: &[usize]) -> Result<()> {
        let g = self.graph;
        let (l, h, k) = (self.cross.layers, self.cross.heads, self.cross.d_kv);
        let old_rows = self.cross.rows;
        let pk = gather_axis1(
            view_f32(g, "past_key", &self.past_key)?.1,
            l,
            old_rows,
            phys,
        )?;
        let pv = gather_axis1(
            view_f32(g, "past_value", &self.past_value)?.1,
            l,
            old_rows,
            phys,
        )?;
        self.cross = self.cross.select(phys)?;
        let n = phys.len();
        let past_shape = [l, n, h, self.past_len, k];
        self.past_key = f32_tensor(g, &past_shape, pk)?;
        self.past_value = f32_tensor(g, &past_shape, pv)?;
        let shape = self.cross.kv_shape();
        self.cross_key = f32_tensor(g, &shape, self.cross.key.clone())?;
        self.cross_value = f32_tensor(g, &shape, self.cross.value.clone())?;
        self.mask = i64_tensor(g, &[n, self.cross.enc_len], self.cross.mask.clone())?;
        self.map = (0..n).collect();
        Ok(())
    }
}

impl StepDecoder for OnnxDecoder<'_> {
    fn vocab_size(&self) -> usize {
        self.vocab
    }

    fn rows(&self) -> usize {
        self.map.len()
    }

    fn step(&mut self, tokens: &[u32], logits: &mut Vec<f32>) -> Result<()> {
        if tokens.len() != self.map.len() {
            return Err(Error::Shape(format!(
                "{} tokens for {} rows",
                tokens.len(),
                self.map.len()
            )));
        }
        let g = self.graph;
        let phys_rows = self.cross.rows;
        let mut ids = vec![self.pad as i64; phys_rows];
        for (&p, &t) in self.map.iter().zip(tokens) {
            ids[p] = t as i64;
        }
        let input_ids = i64_tensor(g, &[phys_rows, 1], ids)?;
        let mut session = g.session();
        let mut out = session
            .run(ort::inputs![
                "input_ids" => input_ids,
                "encoder_attention_mask" => &self.mask,
                "past_key" => &self.past_key,
                "past_value" => &self.past_value,
                "cross_key" => &self.cross_key,
                "cross_value" => &self.cross_value,
            ])
            .map_err(|e| g.run_error(e))?;
        let (shape, values) = view_f32(g, "logits", &out["logits"])?;
        if shape != [phys_rows, 1, self.vocab] {
            return Err(g.run_error(format!(
                "logits shape {shape:?}, expected [{phys_rows}, 1, {}]",
                self.vocab
            )));
        }
        logits.clear();
        for &p in &self.map {
            logits.extend_from_slice(&values[p * self.vocab..(p + 1) * self.vocab]);
        }
        self.past_key = take(g, &mut out, "present_key")?;
        self.past_value = take(g, &mut out, "present_value")?;
        self.past_len += 1;
        Ok(())
    }

    fn select_rows(&mut self, keep: &[usize]) -> Result<()> {
        if let Some(&bad) = keep.iter().find(|&&k| k >= self.map.len()) {
            return Err(Error::Shape(format!(
                "row {bad} selected from a batch of {}",
                self.map.len()
            )));
        }
        let phys: Vec<usize> = keep.iter().map(|&k| self.map[k]).collect();
        let mut seen = vec![false; self.cross.rows];
        let repeats = phys.iter().any(|&p| std::mem::replace(&mut seen[p], true));
        // Dropping a few finished rows is cheaper to carry along than to copy every cache;
        // compact once at least half of the physical rows are dead, or when rows repeat.
        if repeats || phys.len() * 2 <= self.cross.rows {
            self.compact(&phys)
        } else {
            self.map = phys;
            Ok(())
        }
    }
}

/// The last decoder layer's hidden state at the final token of each sequence, computed with
/// the decoder run teacher-forced over the whole sequence (no cache). `seqs[i]` starts with the
/// decoder start token and ends with the token whose state is wanted; `cross` holds the
/// matching rows.
pub(crate) fn final_hidden(
    graph: &Graph,
    cross: &CrossState,
    seqs: &[Vec<u32>],
    pad: u32,
    d_model: usize,
) -> Result<Vec<Vec<f32>>> {
    let n = seqs.len();
    if n != cross.rows {
        return Err(Error::Shape(format!(
            "{n} sequences for {} rows",
            cross.rows
        )));
    }
    let t = seqs.iter().map(Vec::len).max().unwrap_or(0);
    if t == 0 {
        return Err(Error::InvalidArgument("empty decoder sequence".into()));
    }
    // Right padding is harmless: attention is causal, and only each row's last real token is read.
    let mut ids = vec![pad as i64; n * t];
    for (r, s) in seqs.iter().enumerate() {
        for (j, &tok) in s.iter().enumerate() {
            ids[r * t + j] = tok as i64;
        }
    }
    let empty = [cross.layers, n, cross.heads, 0, cross.d_kv];
    let shape = cross.kv_shape();
    let inputs = ort::inputs![
        "input_ids" => i64_tensor(graph, &[n, t], ids)?,
        "encoder_attention_mask" => i64_tensor(graph, &[n, cross.enc_len], cross.mask.clone())?,
        "past_key" => f32_tensor(graph, &empty, Vec::new())?,
        "past_value" => f32_tensor(graph, &empty, Vec::new())?,
        "cross_key" => f32_tensor(graph, &shape, cross.key.clone())?,
        "cross_value" => f32_tensor(graph, &shape, cross.value.clone())?,
    ];
    let mut session = graph.session();
    let out = session.run(inputs).map_err(|e| graph.run_error(e))?;
    let (hshape, hidden) = view_f32(graph, "hidden", &out["hidden"])?;
    if hshape != [n, t, d_model] {
        return Err(graph.run_error(format!(
            "hidden shape {hshape:?}, expected [{n}, {t}, {d_model}]"
        )));
    }
    Ok(seqs
        .iter()
        .enumerate()
        .map(|(r, s)| {
            let pos = r * t + s.len() - 1;
            hidden[pos * d_model..(pos + 1) * d_model].to_vec()
        })
        .collect())
}
