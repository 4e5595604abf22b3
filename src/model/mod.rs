//! The loaded model: four ONNX graphs, the tokenizer, the token embeddings and the gene list of a
//! package, and the engine that runs prompts (with or without cells) through them.
//!
//! A [`Model`] is `Send + Sync`. Each graph runs behind its own lock, so concurrent calls are
//! safe; they take turns on a graph (ONNX Runtime already spreads one run over the thread
//! budget).

mod cell_input;
mod decoder;
mod int8_choice;
mod margins;
mod options;
mod output;
mod tensors;
mod ties;

pub use margins::MarginShift;
pub use options::{CellOptions, ModelOptions};
pub use output::{Answer, GeneratedCell, ZinbOutput};

use crate::cellgen::{append_cell, standard_normal, LibraryPrior, ZinbParams};
use crate::error::{Error, Result};
use crate::generation::{generate, Decoding, DecodingOptions, StopReason, TokenFilter};
use crate::matrix::CsrRows;
use crate::package::{manifest::ModelDims, Int8Weights, ModelPackage, Precision};
use crate::preprocess::PreprocessOptions;
use crate::prompt::{splice_batch, PromptFormatter, SpliceRow, TextTokenizer};
use crate::rng::Rng;
use crate::runtime::{runtime_with_pool, Graph, ProviderReport, Runtime, SharedPool};
use cell_input::CellInput;
use decoder::{final_hidden, sequence_logprobs, CacheNames, CrossState, OnnxDecoder};
use int8_choice::choose_int8_weights;
use std::path::Path;
use std::sync::Arc;

/// One prompt for the engine.
#[derive(Debug, Clone, Copy)]
pub struct Prompt<'a> {
    /// The complete prompt text (already formatted and wrapped, see
    /// [`Model::formatter`]); it contains the cell placeholder exactly when `expression` is set.
    pub text: &'a str,
    /// The attached cell as a preprocessed expression vector over the model's genes.
    pub expression: Option<&'a [f32]>,
    /// A stable id (e.g. the cell's index): selects the prompt's random streams, so results do not
    /// depend on how prompts are batched.
    pub id: u64,
}

/// A loaded model package, ready to run.
pub struct Model {
    package: ModelPackage,
    precision: Precision,
    int8_weights: Option<Int8Weights>,
    _runtime: Arc<Runtime>,
    cell_encoder: Graph,
    text_encoder: Graph,
    decoder: Graph,
    generator: Graph,
    tokenizer: TextTokenizer,
    formatter: PromptFormatter,
    embeddings: Vec<f32>,
    genes: Vec<String>,
    cache_names: Arc<CacheNames>,
    cell_input: CellInput,
    /// The fp32 graphs of the same package and the margin below which they re-decide.
    tie_check: Option<(Box<Model>, f32)>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("package", &self.package.root())
            .field("precision", &self.precision)
            .field("int8_weights", &self.int8_weights)
            .field("fp32_tie_margin", &self.fp32_tie_margin())
            .field("variant", &self.package.manifest().variant)
            .finish()
    }
}

impl Model {
    /// Loads the package in `dir`: validates the manifest, verifies every file it will use
    /// (size and SHA-256), loads ONNX Runtime if needed and opens the four graphs.
    ///
    /// # Errors
    /// [`Error::Package`] for a malformed, incomplete or tampered package; the runtime's errors
    /// when ONNX Runtime cannot be found or a provider cannot start.
    pub fn load(dir: impl AsRef<Path>, opts: &ModelOptions) -> Result<Model> {
        let dir = dir.as_ref();
        let precision = opts.precision;
        let tie_margin = opts
            .fp32_tie_margin
            .filter(|_| precision != Precision::Fp32)
            .map(ties::check_margin)
            .transpose()?;
        let package = ModelPackage::open(dir)?;
        let int8_weights = match precision {
            Precision::Int8 => Some(choose_int8_weights(&package, opts.int8_weights)?),
            _ => None,
        };
        for name in crate::package::GRAPH_NAMES {
            package.graph_in(name, precision, int8_weights)?;
        }
        if !opts.skip_checksums {
            package.verify_in(precision, int8_weights)?;
        }
        // The first model loaded in a process sizes the shared thread pool of ONNX Runtime.
        let pool = SharedPool {
            threads: opts.session.threads.max(1),
            spinning: opts.session.spinning,
        };
        let rt = runtime_with_pool(opts.onnxruntime_library.as_deref(), pool)?;
        let open = |name: &str| -> Result<Graph> {
            let entry = package.graph_in(name, precision, int8_weights)?;
            Graph::open(&rt, &package.path_of(&entry.file), &opts.session, name)
        };
        let m = package.manifest();
        let tokenizer = TextTokenizer::from_file(&package.path_of(&m.files.tokenizer.file))?;
        let st = &m.special_tokens;
        let pairs = [
            (&st.texts.cell_start, st.cell_start),
            (&st.texts.cell_end, st.cell_end),
            (&st.texts.placeholder, st.placeholder),
        ];
        let signals = st.texts.signal.iter().zip(st.signal.iter().copied());
        for (text, id) in pairs.into_iter().chain(signals) {
            if tokenizer.token_id(text) != Some(id) {
                return Err(Error::Package {
                    path: package.root().to_path_buf(),
                    problem: format!(
                        "the tokenizer maps {text:?} to {:?}, the manifest says {id}",
                        tokenizer.token_id(text)
                    ),
                });
            }
        }
        let cache_names = Arc::new(CacheNames::new(m.model.num_decoder_layers));
        let text_encoder = open("text_encoder")?;
        let decoder = open("decoder")?;
        let interface = [
            (&text_encoder, None, cache_names.text_encoder_outputs()),
            (
                &decoder,
                Some(cache_names.decoder_inputs()),
                cache_names.decoder_outputs(),
            ),
        ];
        for (graph, inputs, outputs) in interface {
            let inputs_ok = inputs.is_none_or(|i| graph.input_names() == i.as_slice());
            if !inputs_ok || graph.output_names() != outputs.as_slice() {
                return Err(Error::Package {
                    path: package.root().to_path_buf(),
                    problem: format!(
                        "graph {} has inputs {:?} and outputs {:?}, not the per-layer cache \
                         interface (package format 2 and later) for {} decoder layers",
                        graph.name(),
                        graph.input_names(),
                        graph.output_names(),
                        m.model.num_decoder_layers
                    ),
                });
            }
        }
        // The fp32 graphs that decide near-ties, verified and opened like this model's own.
        let tie_check = match tie_margin {
            Some(margin) => {
                let mut fp32 = opts.clone().with_precision(Precision::Fp32);
                fp32.fp32_tie_margin = None;
                Some((Box::new(Model::load(dir, &fp32)?), margin))
            }
            None => None,
        };
        let model = Model {
            cell_encoder: open("cell_encoder")?,
            text_encoder,
            decoder,
            generator: open("generator")?,
            embeddings: package.token_embeddings()?,
            genes: package.genes()?,
            formatter: PromptFormatter::new(m.prompt.clone()),
            tokenizer,
            _runtime: rt,
            precision,
            int8_weights,
            cell_input: CellInput::load(&package, precision)?,
            package,
            cache_names,
            tie_check,
        };
        Ok(model)
    }

    /// The package this model was loaded from.
    pub fn package(&self) -> &ModelPackage {
        &self.package
    }

    /// Precision of the loaded graphs.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// For int8 models, the weight encoding of the loaded graphs (see [`Int8Weights`]).
    pub fn int8_weights(&self) -> Option<Int8Weights> {
        self.int8_weights
    }

    /// The margin (nats) below which the fp32 graphs re-decide this model's near-ties, when
    /// they were loaded for it ([`ModelOptions::fp32_tie_margin`]).
    pub fn fp32_tie_margin(&self) -> Option<f32> {
        self.tie_check.as_ref().map(|(_, m)| *m)
    }

    /// Architecture sizes.
    pub fn dims(&self) -> &ModelDims {
        &self.package.manifest().model
    }

    /// The model's genes, in input order.
    pub fn genes(&self) -> &[String] {
        &self.genes
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Preprocessing options with this package's constants (normalisation target, `log1p`), the
    /// way the model was trained to read cells.
    pub fn preprocess_options(&self, batch_size: usize) -> PreprocessOptions {
        let p = &self.package.manifest().preprocess;
        PreprocessOptions::default()
            .with_normalize_total(p.normalize_total)
            .with_target_sum(p.target_sum)
            .with_log1p(p.log1p)
            .with_batch_size(batch_size)
    }

    /// Prompt formatting with the package's conventions.
    pub fn formatter(&self) -> &PromptFormatter {
        &self.formatter
    }

    /// Execution providers of the decoder graph (all graphs share the same options).
    pub fn providers(&self) -> &ProviderReport {
        self.decoder.providers()
    }

    /// Runs the cell encoder on `n` preprocessed cells (`expression` is `[n × num_genes]`
    /// row-major) and returns their query vectors, `[n × num_query × d_model]`.
    ///
    /// # Errors
    /// [`Error::Shape`] for a wrong length; [`Error::Onnx`] if the graph fails.
    pub fn encode_cells(&self, expression: &[f32], n: usize) -> Result<Vec<f32>> {
        let d = self.dims();
        if expression.len() != n * d.num_genes {
            return Err(Error::Shape(format!(
                "{} expression values for {n} cells of {} genes",
                expression.len(),
                d.num_genes
            )));
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let projection = self.cell_input.project(expression, n)?;
        let width = self.cell_input.width();
        let out = self
            .cell_encoder
            .run_f32(&[("input_projection", &[n, width], &projection)])?;
        let (shape, values) = out.into_iter().next().ok_or_else(|| {
            self.cell_encoder
                .run_error("the cell encoder produced no output")
        })?;
        if shape != [n, d.num_query_tokens, d.d_model] {
            return Err(self.cell_encoder.run_error(format!(
                "cell embeddings shape {shape:?}, expected [{n}, {}, {}]",
                d.num_query_tokens, d.d_model
            )));
        }
        Ok(values)
    }

    /// Tokenizes a complete prompt text.
    ///
    /// # Errors
    /// [`Error::Tokenizer`].
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    /// Tokenizes the prompts and encodes their cells in one batch.
    fn prepare(&self, prompts: &[Prompt<'_>]) -> Result<(Vec<Vec<u32>>, Vec<f32>)> {
        let d = self.dims();
        let ids: Vec<Vec<u32>> = prompts
            .iter()
            .map(|p| self.tokenize(p.text))
            .collect::<Result<_>>()?;
        let mut expr = Vec::new();
        let mut n_cells = 0;
        for p in prompts {
            if let Some(e) = p.expression {
                if e.len() != d.num_genes {
                    return Err(Error::Shape(format!(
                        "prompt {}: expression has {} values, the model takes {} genes",
                        p.id,
                        e.len(),
                        d.num_genes
                    )));
                }
                expr.extend_from_slice(e);
                n_cells += 1;
            }
        }
        Ok((ids, self.encode_cells(&expr, n_cells)?))
    }

    /// Each prompt's slice of the batched cell encoder output (in prompt order).
    fn split_cells<'e>(
        &self,
        prompts: &[Prompt<'_>],
        encoded: &'e [f32],
    ) -> Vec<Option<&'e [f32]>> {
        let per_cell = self.dims().num_query_tokens * self.dims().d_model;
        let mut next = 0;
        prompts
            .iter()
            .map(|p| {
                p.expression.map(|_| {
                    let c = &encoded[next * per_cell..(next + 1) * per_cell];
                    next += 1;
                    c
                })
            })
            .collect()
    }

    /// The text encoder's final hidden states of each prompt, with its cell spliced in:
    /// `[positions × d_model]` row-major per prompt, over the prompt's own positions (a cell
    /// occupies `num_query_tokens` of them). These are what the decoder attends to; useful as
    /// prompt+cell embeddings and for checking the encoder against a reference.
    ///
    /// # Errors
    /// As [`Model::generate`].
    pub fn encoder_states(&self, prompts: &[Prompt<'_>]) -> Result<Vec<Vec<f32>>> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, cells) = self.prepare(prompts)?;
        let cell_refs = self.split_cells(prompts, &cells);
        let (cross, hidden) = self.run_text_encoder(&ids, &cell_refs, true)?;
        let hidden = hidden.ok_or_else(|| {
            self.text_encoder
                .run_error("the text encoder returned no hidden states")
        })?;
        let hidden = tensors::view_f32(&self.text_encoder, "encoder_hidden_states", &hidden)?.1;
        let d = self.dims().d_model;
        let len = cross.enc_len;
        Ok((0..cross.rows)
            .map(|r| {
                let mask = &cross.mask_host[r * len..(r + 1) * len];
                let real = mask.iter().filter(|&&m| m != 0).count();
                hidden[r * len * d..(r * len + real) * d].to_vec()
            })
            .collect())
    }

    /// Runs the text encoder on tokenized prompts with their cells spliced in.
    fn encode_text(&self, ids: &[Vec<u32>], cells: &[Option<&[f32]>]) -> Result<CrossState> {
        Ok(self.run_text_encoder(ids, cells, false)?.0)
    }

    /// The decoder's cross state and, when asked, the encoder's hidden states
    /// `[rows, enc_len, d_model]` (right-padded rows; shape checked).
    fn run_text_encoder(
        &self,
        ids: &[Vec<u32>],
        cells: &[Option<&[f32]>],
        want_hidden: bool,
    ) -> Result<(CrossState, Option<ort::value::DynValue>)> {
        let d = self.dims();
        let st = &self.package.manifest().special_tokens;
        let rows: Vec<SpliceRow<'_>> = ids
            .iter()
            .zip(cells)
            .map(|(ids, cell)| SpliceRow { ids, cell: *cell })
            .collect();
        let batch = splice_batch(
            &rows,
            &self.embeddings,
            d.d_model,
            st.placeholder,
            st.pad,
            d.num_query_tokens,
        )?;
        let g = &self.text_encoder;
        let mask_value = tensors::i64_tensor(g, &[batch.batch, batch.length], batch.mask.clone())?;
        let inputs = ort::inputs![
            "inputs_embeds" => tensors::f32_tensor(g, &[batch.batch, batch.length, d.d_model], batch.embeds)?,
            "attention_mask" => &mask_value,
        ];
        let mut session = g.session();
        let out = session.run(inputs).map_err(|e| g.run_error(e))?;
        let expect = [batch.batch, d.num_heads, batch.length, d.d_kv];
        let mut out = out;
        let names = &self.cache_names;
        let key = tensors::take_all(g, &mut out, &names.cross_key)?;
        let value = tensors::take_all(g, &mut out, &names.cross_value)?;
        for (n, v) in names
            .cross_key
            .iter()
            .chain(&names.cross_value)
            .zip(key.iter().chain(&value))
        {
            let shape = tensors::view_f32(g, n, v)?.0;
            if shape != expect {
                return Err(g.run_error(format!("{n} has shape {shape:?}, expected {expect:?}")));
            }
        }
        let hidden = if want_hidden {
            let v = tensors::take(g, &mut out, "encoder_hidden_states")?;
            let shape = tensors::view_f32(g, "encoder_hidden_states", &v)?.0;
            if shape != [batch.batch, batch.length, d.d_model] {
                return Err(g.run_error(format!(
                    "encoder_hidden_states has shape {shape:?}, expected [{}, {}, {}]",
                    batch.batch, batch.length, d.d_model
                )));
            }
            Some(v)
        } else {
            None
        };
        let cross = CrossState {
            names: Arc::clone(names),
            heads: d.num_heads,
            d_kv: d.d_kv,
            rows: batch.batch,
            enc_len: batch.length,
            key,
            value,
            mask: mask_value,
            mask_host: batch.mask,
        };
        Ok((cross, hidden))
    }

    /// Answers a batch of prompts.
    ///
    /// Cells are encoded in one batch, prompts are encoded in one padded batch, then decoded
    /// together (finished rows leave the batch). Prompts that end with the cell-generation signal
    /// get a generated cell (see [`CellOptions`]). `filter` can restrict tokens (constrained
    /// answers). A reduced-precision model loaded with a tie margin
    /// ([`ModelOptions::fp32_tie_margin`]) answers its greedy near-ties with the fp32 graphs.
    ///
    /// # Errors
    /// Prompt, shape and runtime errors; nothing is returned partially.
    pub fn generate(
        &self,
        prompts: &[Prompt<'_>],
        opts: &DecodingOptions,
        cell_opts: &CellOptions,
        filter: Option<&dyn TokenFilter>,
    ) -> Result<Vec<Answer>> {
        opts.validate()?;
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dims();
        let st = &self.package.manifest().special_tokens;
        let (ids, encoded) = self.prepare(prompts)?;
        let cells = self.split_cells(prompts, &encoded);
        let cross = self.encode_text(&ids, &cells)?;
        let row_ids: Vec<u64> = prompts.iter().map(|p| p.id).collect();
        // With a tie check, a greedy row stops at its first near-tie: fp32 answers it anyway.
        let tie_margin = match (&self.tie_check, &opts.decoding) {
            (Some((_, m)), Decoding::Greedy) => Some(*m),
            _ => None,
        };
        let own_opts = match tie_margin {
            Some(m) => {
                let bound = opts.stop_below_margin.map_or(m, |b| b.min(m));
                opts.clone().with_stop_below_margin(bound)
            }
            None => opts.clone(),
        };
        let generated = {
            let mut dec = OnnxDecoder::new(&self.decoder, &cross, d.vocab_size, st.pad)?;
            generate(
                &mut dec,
                st.decoder_start,
                &st.stop,
                &own_opts,
                &row_ids,
                filter,
            )?
        };
        let mut redecided: Vec<Option<Answer>> = vec![None; prompts.len()];
        if let (Some((fp32, _)), Some(margin)) = (&self.tie_check, tie_margin) {
            let rows = ties::near_tie_answers(&generated, margin);
            if !rows.is_empty() {
                let sub: Vec<Prompt<'_>> = rows.iter().map(|&i| prompts[i]).collect();
                for (i, a) in rows
                    .iter()
                    .zip(fp32.generate(&sub, opts, cell_opts, filter)?)
                {
                    redecided[*i] = Some(a);
                }
            }
        }

        let signal = st.signal.first().copied();
        let wants_cell: Vec<usize> = generated
            .iter()
            .enumerate()
            .filter(|(i, g)| {
                redecided[*i].is_none() && signal.is_some_and(|s| g.stop == StopReason::Token(s))
            })
            .map(|(i, _)| i)
            .collect();
        let mut cells_out: Vec<Option<GeneratedCell>> = vec![None; prompts.len()];
        if !wants_cell.is_empty() {
            let seqs: Vec<Vec<u32>> = wants_cell
                .iter()
                .map(|&i| {
                    let mut s = vec![st.decoder_start];
                    s.extend(&generated[i].tokens);
                    s
                })
                .collect();
            let sub = cross.select(&self.decoder, &wants_cell)?;
            let conditions = final_hidden(&self.decoder, &sub, &seqs, st.pad, d.d_model)?;
            let ids: Vec<u64> = wants_cell.iter().map(|&i| prompts[i].id).collect();
            for (k, cell) in self
                .cells_from_conditions(&conditions, &ids, cell_opts)?
                .into_iter()
                .enumerate()
            {
                cells_out[wants_cell[k]] = Some(cell);
            }
        }
        generated
            .into_iter()
            .zip(cells_out)
            .zip(redecided)
            .map(|((g, cell), fp32)| match fp32 {
                Some(a) => Ok(a),
                None => Ok(Answer {
                    text: self.tokenizer.decode(g.content_tokens())?,
                    tokens: g.tokens,
                    logprobs: g.logprobs,
                    stop: g.stop,
                    cell,
                    min_margin: g.min_margin,
                    precision: self.precision,
                }),
            })
            .collect()
    }

    /// How the model spells `label` as an answer: its tokens without special tokens.
    ///
    /// # Errors
    /// [`Error::Tokenizer`]; [`Error::InvalidArgument`] for a label with no tokens.
    pub fn label_tokens(&self, label: &str) -> Result<Vec<u32>> {
        let ids = self.tokenizer.encode_plain(label)?;
        if ids.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "label {label:?} has no tokens"
            )));
        }
        Ok(ids)
    }

    /// Log-likelihood of every candidate answer for every prompt: `result[i][j]` is
    /// `log p(candidates[j] + end-of-sequence | prompt i)` under the model, computed
    /// teacher-forced (the candidates are token ids, e.g. from [`Self::label_tokens`]). With a
    /// tie margin ([`ModelOptions::fp32_tie_margin`]), the rows whose two best candidates lie
    /// closer than the margin are the fp32 graphs' scores.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no or empty candidates; prompt, shape and runtime errors.
    pub fn score(&self, prompts: &[Prompt<'_>], candidates: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .score_with_precision(prompts, candidates)?
            .into_iter()
            .map(|(scores, _)| scores)
            .collect())
    }

    /// [`Self::score`], each prompt's scores with the precision of the graphs that computed
    /// them (fp32 for rows re-scored as near-ties, see [`ModelOptions::fp32_tie_margin`]).
    ///
    /// # Errors
    /// As [`Self::score`].
    pub fn score_with_precision(
        &self,
        prompts: &[Prompt<'_>],
        candidates: &[Vec<u32>],
    ) -> Result<Vec<(Vec<f32>, Precision)>> {
        if candidates.is_empty() || candidates.iter().any(Vec::is_empty) {
            return Err(Error::InvalidArgument(
                "scoring needs a non-empty set of non-empty candidates".into(),
            ));
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let st = &self.package.manifest().special_tokens;
        let (ids, cells) = self.prepare(prompts)?;
        let cell_refs = self.split_cells(prompts, &cells);
        let cross = self.encode_text(&ids, &cell_refs)?;
        let k = candidates.len();
        let seqs: Vec<Vec<u32>> = candidates
            .iter()
            .map(|c| {
                std::iter::once(st.decoder_start)
                    .chain(c.iter().copied())
                    .chain(std::iter::once(st.eos))
                    .collect()
            })
            .collect();
        // Bound the rows of one decoder run (prompts × candidates).
        let per_run = (64 / k).max(1);
        let mut out = Vec::with_capacity(prompts.len());
        for start in (0..prompts.len()).step_by(per_run) {
            let end = (start + per_run).min(prompts.len());
            let rows: Vec<usize> = (start..end)
                .flat_map(|i| std::iter::repeat_n(i, k))
                .collect();
            let sub = cross.select(&self.decoder, &rows)?;
            let all: Vec<Vec<u32>> = (start..end).flat_map(|_| seqs.iter().cloned()).collect();
            let lp = sequence_logprobs(&self.decoder, &sub, &all, st.pad, self.dims().vocab_size)?;
            out.extend(lp.chunks(k).map(<[f32]>::to_vec));
        }
        let mut out: Vec<(Vec<f32>, Precision)> =
            out.into_iter().map(|s| (s, self.precision)).collect();
        if let Some((fp32, margin)) = &self.tie_check {
            let rows = ties::near_tie_scores(out.iter().map(|(s, _)| s.as_slice()), *margin);
            if !rows.is_empty() {
                let sub: Vec<Prompt<'_>> = rows.iter().map(|&i| prompts[i]).collect();
                for (&i, row) in rows
                    .iter()
                    .zip(fp32.score_with_precision(&sub, candidates)?)
                {
                    out[i] = row;
                }
            }
        }
        Ok(out)
    }

    /// The generator's condition for each prompt: the last decoder layer's hidden state at the
    /// final token of `sequences[i]` (the generated tokens, ending with the signal token; the
    /// decoder start token is prepended here), computed teacher-forced as the reference does.
    ///
    /// # Errors
    /// Prompt, shape and runtime errors.
    pub fn conditions(
        &self,
        prompts: &[Prompt<'_>],
        sequences: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>> {
        if prompts.len() != sequences.len() {
            return Err(Error::Shape(format!(
                "{} prompts for {} sequences",
                prompts.len(),
                sequences.len()
            )));
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, cells) = self.prepare(prompts)?;
        let cell_refs = self.split_cells(prompts, &cells);
        let cross = self.encode_text(&ids, &cell_refs)?;
        let st = &self.package.manifest().special_tokens;
        let seqs: Vec<Vec<u32>> = sequences
            .iter()
            .map(|s| {
                std::iter::once(st.decoder_start)
                    .chain(s.iter().copied())
                    .collect()
            })
            .collect();
        final_hidden(&self.decoder, &cross, &seqs, st.pad, self.dims().d_model)
    }

    /// Runs the generator graph: `conditions` (one `d_model` vector per cell), `z`
    /// (`[n × n_latent]`) and `log_library` (one per cell) → ZINB parameters per cell and gene.
    ///
    /// # Errors
    /// Shape and runtime errors.
    pub fn generator_params(
        &self,
        conditions: &[Vec<f32>],
        z: &[f32],
        log_library: &[f32],
    ) -> Result<ZinbOutput> {
        let d = self.dims();
        let n = conditions.len();
        if z.len() != n * d.n_latent || log_library.len() != n {
            return Err(Error::Shape(format!(
                "generator inputs for {n} cells: z has {} values (expected {}), log_library {}",
                z.len(),
                n * d.n_latent,
                log_library.len()
            )));
        }
        if let Some(c) = conditions.iter().find(|c| c.len() != d.d_model) {
            return Err(Error::Shape(format!(
                "condition of {} values, the model width is {}",
                c.len(),
                d.d_model
            )));
        }
        let cond: Vec<f32> = conditions.concat();
        let out = self.generator.run_f32(&[
            ("condition", &[n, d.d_model], &cond),
            ("z", &[n, d.n_latent], z),
            ("log_library", &[n, 1], log_library),
        ])?;
        let names = self.generator.output_names();
        let get = |name: &str| -> Result<Vec<f32>> {
            let i = names
                .iter()
                .position(|x| x == name)
                .ok_or_else(|| self.generator.run_error(format!("no output {name:?}")))?;
            let (shape, v) = &out[i];
            if shape[..] != [n, d.num_genes] {
                return Err(self.generator.run_error(format!(
                    "{name} shape {shape:?}, expected [{n}, {}]",
                    d.num_genes
                )));
            }
            Ok(v.clone())
        };
        Ok(ZinbOutput {
            mu: get("mu")?,
            theta: get("theta")?,
            zi_logits: get("zi_logits")?,
        })
    }

    /// Runs the generator on conditions (one per cell) and draws the cells' counts.
    ///
    /// Each cell `i` draws its latent, library size and counts from the stream
    /// `(cell_opts.seed, ids[i])`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad prior batch or non-finite fixed library size;
    /// shape and runtime errors.
    pub fn cells_from_conditions(
        &self,
        conditions: &[Vec<f32>],
        ids: &[u64],
        cell_opts: &CellOptions,
    ) -> Result<Vec<GeneratedCell>> {
        let d = self.dims();
        let gen = &self.package.manifest().generator;
        if conditions.len() != ids.len() {
            return Err(Error::Shape(format!(
                "{} conditions for {} ids",
                conditions.len(),
                ids.len()
            )));
        }
        // Condition widths are checked by `generator_params`, before any counts are drawn.
        let b = cell_opts.prior_batch;
        let prior = match (gen.library_log_means.get(b), gen.library_log_vars.get(b)) {
            (Some(&log_mean), Some(&log_var)) => LibraryPrior { log_mean, log_var },
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "prior batch {b} does not exist (the package has {})",
                    gen.library_log_means.len()
                )))
            }
        };
        if let Some(l) = cell_opts.log_library {
            if !l.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "log library {l} is not finite"
                )));
            }
        }
        let n = conditions.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut rngs: Vec<Rng> = ids
            .iter()
            .map(|&id| Rng::for_stream(cell_opts.seed, id))
            .collect();
        let mut z = vec![0f32; n * d.n_latent];
        let mut libs = vec![0f32; n];
        for (i, rng) in rngs.iter_mut().enumerate() {
            standard_normal(rng, &mut z[i * d.n_latent..(i + 1) * d.n_latent]);
            libs[i] = cell_opts.log_library.unwrap_or_else(|| prior.sample(rng));
        }
        let params = self.generator_params(conditions, &z, &libs)?;
        let (mu, theta, zi) = (&params.mu, &params.theta, &params.zi_logits);
        let g = d.num_genes;
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            let params = ZinbParams {
                mu: &mu[i * g..(i + 1) * g],
                theta: &theta[i * g..(i + 1) * g],
                zi_logits: &zi[i * g..(i + 1) * g],
            };
            let mut counts = CsrRows::new(g);
            append_cell(params, cell_opts.mode, &mut rngs[i], &mut counts)?;
            cells.push(GeneratedCell {
                condition: conditions[i].clone(),
                log_library: libs[i],
                counts,
            });
        }
        Ok(cells)
    }
}
