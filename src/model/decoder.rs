//! The ONNX decoder as a [`StepDecoder`]: self-attention caches stay in ONNX Runtime values
//! from step to step (each step feeds one new token per row), and the cross-attention
//! keys/values computed once by the text encoder are reused. Every cache is one tensor per
//! layer, so a step hands ONNX Runtime the tensors where they lie (no slicing, no copies).

use super::tensors::{f32_tensor, gather_axis1, i64_tensor, take_all, view_f32};
use crate::error::{Error, Result};
use crate::generation::StepDecoder;
pub(crate) use crate::package::interface::CacheNames;
use crate::runtime::Graph;
use std::sync::Arc;

type Inputs<'v> = Vec<(&'v str, ort::session::SessionInputValue<'v>)>;

/// The text encoder's per-sequence outputs that the decoder needs, kept as ONNX Runtime values
/// (no host copy unless rows are selected).
pub(crate) struct CrossState {
    pub names: Arc<CacheNames>,
    pub heads: usize,
    pub d_kv: usize,
    pub rows: usize,
    pub enc_len: usize,
    /// Per layer, `[rows, heads, enc_len, d_kv]`.
    pub key: Vec<ort::value::DynValue>,
    /// Per layer, `[rows, heads, enc_len, d_kv]`.
    pub value: Vec<ort::value::DynValue>,
    /// `[rows, enc_len]` on the host and as a value.
    pub mask_host: Vec<i64>,
    pub mask: ort::value::DynValue,
}

/// New per-layer tensors holding rows `keep` (repeats allowed) of `layers`.
fn select_layers(
    graph: &Graph,
    names: &[String],
    layers: &[ort::value::DynValue],
    rows: usize,
    keep: &[usize],
) -> Result<Vec<ort::value::DynValue>> {
    names
        .iter()
        .zip(layers)
        .map(|(name, v)| {
            let (shape, data) = view_f32(graph, name, v)?;
            let picked = gather_axis1(data, 1, rows, keep)?;
            let mut shape = shape;
            if let Some(first) = shape.first_mut() {
                *first = keep.len();
            }
            f32_tensor(graph, &shape, picked)
        })
        .collect()
}

impl CrossState {
    /// Decoder layers.
    pub fn layers(&self) -> usize {
        self.key.len()
    }

    /// The state of a subset of rows (repeats allowed), as new values.
    pub fn select(&self, graph: &Graph, keep: &[usize]) -> Result<CrossState> {
        let mut mask = Vec::with_capacity(keep.len() * self.enc_len);
        for &k in keep {
            mask.extend_from_slice(&self.mask_host[k * self.enc_len..(k + 1) * self.enc_len]);
        }
        Ok(CrossState {
            names: Arc::clone(&self.names),
            rows: keep.len(),
            key: select_layers(graph, &self.names.cross_key, &self.key, self.rows, keep)?,
            value: select_layers(graph, &self.names.cross_value, &self.value, self.rows, keep)?,
            mask: i64_tensor(graph, &[keep.len(), self.enc_len], mask.clone())?,
            mask_host: mask,
            ..*self
        })
    }

    /// Empty (length 0) self-attention caches for every layer.
    fn empty_past(&self, graph: &Graph, rows: usize) -> Result<Vec<ort::value::DynValue>> {
        let shape = [rows, self.heads, 0, self.d_kv];
        (0..self.layers())
            .map(|_| f32_tensor(graph, &shape, Vec::new()))
            .collect()
    }

    /// The decoder's inputs after `input_ids`: the mask, then every cache by name.
    fn decoder_inputs<'v>(
        &'v self,
        ids: ort::value::DynValue,
        past_key: &'v [ort::value::DynValue],
        past_value: &'v [ort::value::DynValue],
    ) -> Inputs<'v> {
        let n = &self.names;
        let mut v: Inputs<'v> = Vec::with_capacity(2 + 4 * self.layers());
        v.push(("input_ids", ids.into()));
        v.push(("encoder_attention_mask", (&self.mask).into()));
        let groups: [(&[String], &'v [ort::value::DynValue]); 4] = [
            (&n.past_key, past_key),
            (&n.past_value, past_value),
            (&n.cross_key, &self.key),
            (&n.cross_value, &self.value),
        ];
        for (names, values) in groups {
            for (name, value) in names.iter().zip(values) {
                v.push((name.as_str(), value.into()));
            }
        }
        v
    }
}

/// Incremental decoding over a batch, for the generation loop.
pub(crate) struct OnnxDecoder<'g> {
    graph: &'g Graph,
    vocab: usize,
    pad: u32,
    /// The encoder state of the batch as it came from the text encoder...
    base: &'g CrossState,
    /// ...or of the rows left after the last compaction.
    own: Option<CrossState>,
    /// Logical row → physical row of the ONNX tensors. Rows that finished are dropped from the
    /// map at once but stay in the tensors until compaction pays off.
    map: Vec<usize>,
    /// Per layer, `[physical rows, heads, past_len, d_kv]`.
    past_key: Vec<ort::value::DynValue>,
    past_value: Vec<ort::value::DynValue>,
}

impl<'g> OnnxDecoder<'g> {
    pub fn new(graph: &'g Graph, cross: &'g CrossState, vocab: usize, pad: u32) -> Result<Self> {
        Ok(OnnxDecoder {
            graph,
            vocab,
            pad,
            map: (0..cross.rows).collect(),
            past_key: cross.empty_past(graph, cross.rows)?,
            past_value: cross.empty_past(graph, cross.rows)?,
            base: cross,
            own: None,
        })
    }

    fn cross(&self) -> &CrossState {
        self.own.as_ref().unwrap_or(self.base)
    }

    /// Physically rebuilds every tensor so that physical row `i` is old physical row `phys[i]`.
    fn compact(&mut self, phys: &[usize]) -> Result<()> {
        let g = self.graph;
        let cross = self.cross();
        let names = &cross.names;
        let rows = cross.rows;
        let pk = select_layers(g, &names.past_key, &self.past_key, rows, phys)?;
        let pv = select_layers(g, &names.past_value, &self.past_value, rows, phys)?;
        let selected = cross.select(g, phys)?;
        self.past_key = pk;
        self.past_value = pv;
        self.own = Some(selected);
        self.map = (0..phys.len()).collect();
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
        let cross = self.cross();
        let phys_rows = cross.rows;
        let mut ids = vec![self.pad as i64; phys_rows];
        for (&p, &t) in self.map.iter().zip(tokens) {
            ids[p] = t as i64;
        }
        let input_ids = i64_tensor(g, &[phys_rows, 1], ids)?;
        let inputs = cross.decoder_inputs(input_ids, &self.past_key, &self.past_value);
        let mut session = g.session();
        let mut out = session.run(inputs).map_err(|e| g.run_error(e))?;
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
        let key = take_all(g, &mut out, &cross.names.present_key)?;
        let value = take_all(g, &mut out, &cross.names.present_value)?;
        self.past_key = key;
        self.past_value = value;
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
        let phys_rows = self.cross().rows;
        let mut seen = vec![false; phys_rows];
        let repeats = phys.iter().any(|&p| std::mem::replace(&mut seen[p], true));
        // Dropping a few finished rows is cheaper to carry along than to copy every cache;
        // compact once at least half of the physical rows are dead, or when rows repeat.
        if repeats || phys.len() * 2 <= phys_rows {
            self.compact(&phys)
        } else {
            self.map = phys;
            Ok(())
        }
    }
}

/// Runs the decoder teacher-forced over whole sequences (no cache) and hands each row's
/// `[len × vocab]` logits and `[len × d_model]` last hidden states to `visit` (only the row's
/// real positions). `seqs[i]` starts with the decoder start token; `cross` holds the matching
/// rows.
pub(crate) fn teacher_forced(
    graph: &Graph,
    cross: &CrossState,
    seqs: &[Vec<u32>],
    pad: u32,
    mut visit: impl FnMut(usize, &[f32], &[f32]),
) -> Result<()> {
    let n = seqs.len();
    if n != cross.rows {
        return Err(Error::Shape(format!(
            "{n} sequences for {} rows",
            cross.rows
        )));
    }
    let t = seqs.iter().map(Vec::len).max().unwrap_or(0);
    if t == 0 || seqs.iter().any(Vec::is_empty) {
        return Err(Error::InvalidArgument("empty decoder sequence".into()));
    }
    // Right padding is harmless: attention is causal, and only real positions are read.
    let mut ids = vec![pad as i64; n * t];
    for (r, s) in seqs.iter().enumerate() {
        for (j, &tok) in s.iter().enumerate() {
            ids[r * t + j] = tok as i64;
        }
    }
    let empty_key = cross.empty_past(graph, n)?;
    let empty_value = cross.empty_past(graph, n)?;
    let inputs = cross.decoder_inputs(i64_tensor(graph, &[n, t], ids)?, &empty_key, &empty_value);
    let mut session = graph.session();
    let out = session.run(inputs).map_err(|e| graph.run_error(e))?;
    let (lshape, logits) = view_f32(graph, "logits", &out["logits"])?;
    let (hshape, hidden) = view_f32(graph, "hidden", &out["hidden"])?;
    if lshape.len() != 3 || lshape[..2] != [n, t] || hshape.len() != 3 || hshape[..2] != [n, t] {
        return Err(graph.run_error(format!(
            "teacher-forced shapes {lshape:?} / {hshape:?}, expected [{n}, {t}, _]"
        )));
    }
    let (v, d) = (lshape[2], hshape[2]);
    for (r, s) in seqs.iter().enumerate() {
        let len = s.len();
        visit(
            r,
            &logits[r * t * v..(r * t + len) * v],
            &hidden[r * t * d..(r * t + len) * d],
        );
    }
    Ok(())
}

/// The last decoder layer's hidden state at the final token of each sequence (the generator's
/// condition when that token is the signal token).
pub(crate) fn final_hidden(
    graph: &Graph,
    cross: &CrossState,
    seqs: &[Vec<u32>],
    pad: u32,
    d_model: usize,
) -> Result<Vec<Vec<f32>>> {
    let mut out = vec![Vec::new(); seqs.len()];
    teacher_forced(graph, cross, seqs, pad, |r, _, hidden| {
        out[r] = hidden[hidden.len() - d_model..].to_vec();
    })?;
    Ok(out)
}

/// Log-likelihood of each continuation: `seqs[i]` is the decoder start token followed by the
/// continuation; the result sums `log p(token | prefix)` over the continuation's tokens.
pub(crate) fn sequence_logprobs(
    graph: &Graph,
    cross: &CrossState,
    seqs: &[Vec<u32>],
    pad: u32,
    vocab: usize,
) -> Result<Vec<f32>> {
    let mut out = vec![0f32; seqs.len()];
    let mut row = vec![0f32; vocab];
    teacher_forced(graph, cross, seqs, pad, |r, logits, _| {
        let s = &seqs[r];
        let mut total = 0f32;
        for j in 0..s.len() - 1 {
            row.copy_from_slice(&logits[j * vocab..(j + 1) * vocab]);
            crate::generation::processors::log_softmax(&mut row);
            total += row[s[j + 1] as usize];
        }
        out[r] = total;
    })?;
    Ok(out)
}
