//! Label-valued tasks over datasets (cell type annotation, drug response): stream cells through
//! the sparse core, ask the model, turn answers into labels of the set.

use super::options::{AnswerMode, TaskOptions};
use super::progress::Control;
use super::texts::PromptTexts;
use crate::error::{Error, Result};
use crate::generation::LabelTrie;
use crate::genes::GeneAlignment;
use crate::matrix::RowSource;
use crate::model::{CellOptions, Model, Prompt};
use crate::package::Precision;
use crate::preprocess::Batcher;
use crate::prompt::Template;

/// The model's answer for one cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LabelPrediction {
    /// Row of the cell in the source.
    pub row: usize,
    /// The label, from the set. Always present in constrained and scored modes; in free mode,
    /// `None` when the answer names no label of the set (or no set was given).
    pub label: Option<String>,
    /// Constrained: probability of the label tokens generated until the label was determined;
    /// scored: the label's probability
    /// among the set; free: probability of the whole generated answer.
    pub confidence: f32,
    /// Scored mode: the probability of every label, in the order of the set (empty otherwise).
    pub probabilities: Vec<f32>,
    /// The answer text (scored mode: the chosen label).
    pub text: String,
    /// The precision of the graphs that decided this answer: the model's own, or fp32 for a
    /// near-tie re-decided by a tie-checked model ([`crate::model::ModelOptions::fp32_tie_margin`]).
    pub precision: Precision,
}

/// The label a free answer names: the whole answer (ignoring case and surrounding punctuation),
/// else the longest label contained in it.
pub fn match_label(text: &str, labels: &[String]) -> Option<usize> {
    let clean = |s: &str| {
        s.trim()
            .trim_matches(|c: char| c == '.' || c == '"' || c == '\'')
            .to_lowercase()
    };
    let answer = clean(text);
    if let Some(i) = labels.iter().position(|l| clean(l) == answer) {
        return Some(i);
    }
    labels
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && answer.contains(&clean(l)))
        .max_by_key(|(_, l)| l.len())
        .map(|(i, _)| i)
}

/// Runs a label-valued task over every (remaining) row of `source`.
pub(crate) fn classify<S: RowSource + Send>(
    model: &Model,
    source: S,
    alignment: &GeneAlignment,
    opts: &TaskOptions,
    default_template: &str,
    control: &mut Control<'_>,
) -> Result<Vec<LabelPrediction>> {
    opts.generation.validate()?;
    if let Some(t) = opts.temperature {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the temperature {t} is not a positive number"
            )));
        }
    }
    let labels = &opts.labels;
    if opts.mode != AnswerMode::Free && labels.is_empty() {
        return Err(Error::InvalidArgument(
            "constrained and scored answers need a non-empty label set".into(),
        ));
    }
    if alignment.n_vocab() != model.dims().num_genes {
        return Err(Error::Shape(format!(
            "the alignment targets {} genes, the model takes {}",
            alignment.n_vocab(),
            model.dims().num_genes
        )));
    }
    let template = Template::parse(opts.template.as_deref().unwrap_or(default_template))?;
    let choices = (!labels.is_empty()).then_some(labels.as_slice());
    let mut texts = PromptTexts::new(
        model,
        template,
        &opts.metadata,
        choices,
        &opts.cell_metadata,
        source.n_rows(),
    )?;
    let label_tokens: Vec<Vec<u32>> = labels
        .iter()
        .map(|l| model.label_tokens(l))
        .collect::<Result<_>>()?;
    let eos = model.eos_token();
    let trie = match opts.mode {
        AnswerMode::Constrained => Some(LabelTrie::new(&label_tokens, eos, true)?),
        _ => None,
    };

    let rows = opts.rows.clone().unwrap_or(0..source.n_rows());
    let total = rows.len();
    let mut batcher = Batcher::new(
        source,
        alignment.clone(),
        model
            .preprocess_options(opts.batch_size)
            .with_integer_counts(opts.integer_counts),
    )?
    .with_rows(rows)?;
    let mut out = Vec::with_capacity(total);
    let mut done = 0;
    batcher.for_each_batch_prefetch(|batch| {
        if control.cancelled() {
            return Err(Error::Cancelled);
        }
        let batch_texts: Vec<String> = batch
            .rows()
            .iter()
            .map(|&r| texts.text(r))
            .collect::<Result<_>>()?;
        let prompts: Vec<Prompt<'_>> = (0..batch.n_cells())
            .map(|i| Prompt {
                text: &batch_texts[i],
                expression: Some(batch.cell(i)),
                id: batch.rows()[i] as u64,
            })
            .collect();
        let started = std::time::Instant::now();
        match opts.mode {
            AnswerMode::Scored => {
                let scores = model.score_with_precision(&prompts, &label_tokens)?;
                for (p, (s, precision)) in prompts.iter().zip(scores) {
                    let probs = softmax(&s, opts.temperature.unwrap_or(1.0));
                    let best = (0..probs.len())
                        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
                        .unwrap_or(0);
                    out.push(LabelPrediction {
                        row: p.id as usize,
                        label: Some(labels[best].clone()),
                        confidence: probs[best],
                        text: labels[best].clone(),
                        probabilities: probs,
                        precision,
                    });
                }
            }
            mode => {
                let filter = trie
                    .as_ref()
                    .map(|t| t as &dyn crate::generation::TokenFilter);
                let answers =
                    model.generate(&prompts, &opts.generation, &CellOptions::default(), filter)?;
                for (p, a) in prompts.iter().zip(answers) {
                    let label = match (mode, &trie) {
                        (AnswerMode::Constrained, Some(t)) => t.resolve(&a.tokens),
                        _ => match_label(&a.text, labels),
                    };
                    // An early stop forces the end token once the label is determined; its
                    // probability says nothing about the label, so it is left out.
                    let early = matches!((mode, label), (AnswerMode::Constrained, Some(l))
                        if a.tokens.len() < label_tokens[l].len() + 1);
                    let counted = if early {
                        &a.logprobs[..a.logprobs.len().saturating_sub(1)]
                    } else {
                        &a.logprobs[..]
                    };
                    out.push(LabelPrediction {
                        row: p.id as usize,
                        label: label.map(|i| labels[i].clone()),
                        confidence: counted.iter().sum::<f32>().exp(),
                        probabilities: Vec::new(),
                        text: a.text,
                        precision: a.precision,
                    });
                }
            }
        }
        control.add_inference(started.elapsed());
        done += batch.n_cells();
        control.report(done, total);
        Ok(())
    })?;
    Ok(out)
}

/// The softmax of `scores / temperature`.
fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let m = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let t = temperature as f64;
    let e: Vec<f64> = scores.iter().map(|&s| ((s - m) as f64 / t).exp()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|v| (v / total) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_answers_find_labels() {
        let labels: Vec<String> = ["B cell", "T cell", "CD4+ T cell"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(match_label("B cell.", &labels), Some(0));
        assert_eq!(match_label("  t CELL ", &labels), Some(1));
        assert_eq!(match_label("This is a CD4+ T cell.", &labels), Some(2));
        assert_eq!(match_label("a macrophage", &labels), None);
        assert_eq!(match_label("anything", &[]), None);
        let p = softmax(&[0.0, (2.0f32).ln()], 1.0);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-6 && (p[1] - 2.0 / 3.0).abs() < 1e-6);
        let p = softmax(&[0.0, (4.0f32).ln()], 2.0);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-6 && (p[1] - 2.0 / 3.0).abs() < 1e-6);
    }
}
