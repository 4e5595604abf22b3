//! The typed result of a label task over a dataset, its post-processing (probability
//! threshold, majority voting over clusters) and the obs columns it becomes.

use std::collections::BTreeMap;
use std::ops::Range;

use super::writeback::categorical;
use crate::error::{Error, Result};
use crate::io::Column;
use crate::package::Precision;
use crate::tasks::{AnswerMode, LabelPrediction};

/// The label given to cells whose confidence is below the threshold
/// ([`LabelOutput::p_thres`]).
pub const UNASSIGNED: &str = "Unassigned";

/// The answers of a label task (annotation, drug response) for the rows of a dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Predictions {
    /// The task: `annotate` or `drug-response`.
    pub task: String,
    /// How answers became labels (`None` when merged from tables, which do not record it).
    pub mode: Option<AnswerMode>,
    /// The label set, in order (scored probabilities follow it).
    pub labels: Vec<String>,
    /// Scored mode: the temperature applied to the probabilities (from the package's
    /// calibration of the task, or the caller's); `None`: raw, uncalibrated probabilities.
    pub temperature: Option<f32>,
    /// Cells in the whole dataset.
    pub n_obs: usize,
    /// The rows processed (all of them, or one shard's).
    pub rows: Range<usize>,
    /// One answer per processed row, in row order.
    pub predictions: Vec<LabelPrediction>,
    /// The name of each answered cell, in the order of `predictions`.
    pub cell_names: Vec<String>,
}

/// How predictions become obs columns (and table columns).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LabelOutput {
    /// Prefix of the columns (scanpy's `key_added`): `{key}` holds the label,
    /// `{key}_confidence`, `{key}_text` and `{key}_precision` the rest.
    pub key_added: String,
    /// Labels whose confidence is below this become [`UNASSIGNED`].
    pub p_thres: Option<f32>,
    /// One cluster per dataset row (e.g. an obs `leiden` column): adds
    /// `{key}_majority_voting`, the most frequent label of each cell's cluster.
    pub clusters: Option<Vec<Option<String>>>,
}

impl Default for LabelOutput {
    fn default() -> Self {
        LabelOutput {
            key_added: "instructcell".into(),
            p_thres: None,
            clusters: None,
        }
    }
}

impl LabelOutput {
    /// Sets the column prefix.
    pub fn with_key_added(mut self, key: impl Into<String>) -> Self {
        self.key_added = key.into();
        self
    }
    /// Sets the confidence threshold below which labels become [`UNASSIGNED`].
    pub fn with_p_thres(mut self, p: f32) -> Self {
        self.p_thres = Some(p);
        self
    }
    /// Adds majority voting over `clusters` (one per dataset row).
    pub fn with_majority_voting(mut self, clusters: Vec<Option<String>>) -> Self {
        self.clusters = Some(clusters);
        self
    }
}

/// Per-cell labels after post-processing, aligned with [`Predictions::predictions`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Assigned {
    /// The label after the threshold (`None`: no label in free mode).
    pub labels: Vec<Option<String>>,
    /// The majority label of each cell's cluster, when majority voting was asked for.
    pub majority: Option<Vec<Option<String>>>,
}

impl Predictions {
    /// Applies the threshold and majority voting of `out`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a threshold outside `[0, 1]`; [`Error::Shape`] when the
    /// clusters are not one per dataset row.
    pub fn assign(&self, out: &LabelOutput) -> Result<Assigned> {
        if let Some(p) = out.p_thres {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::InvalidArgument(format!(
                    "the probability threshold {p} is not within 0..1"
                )));
            }
        }
        let labels: Vec<Option<String>> = self
            .predictions
            .iter()
            .map(|p| match (out.p_thres, &p.label) {
                (Some(t), Some(_)) if p.confidence < t => Some(UNASSIGNED.to_string()),
                (_, l) => l.clone(),
            })
            .collect();
        let majority = match &out.clusters {
            None => None,
            Some(clusters) => {
                if clusters.len() != self.n_obs {
                    return Err(Error::Shape(format!(
                        "{} cluster values for {} cells",
                        clusters.len(),
                        self.n_obs
                    )));
                }
                Some(majority_vote(&self.predictions, &labels, clusters))
            }
        };
        Ok(Assigned { labels, majority })
    }

    /// The obs columns of these predictions over the whole dataset: rows not processed get
    /// a missing label, NaN confidence, empty text and a missing precision.
    ///
    /// # Errors
    /// As [`Predictions::assign`]; [`Error::Shape`] for a prediction outside the dataset.
    pub fn columns(&self, out: &LabelOutput) -> Result<Vec<(String, Column)>> {
        let n = self.n_obs;
        let assigned = self.assign(out)?;
        let mut labels: Vec<Option<String>> = vec![None; n];
        let mut conf = vec![f64::NAN; n];
        let mut text = vec![String::new(); n];
        let mut precision: Vec<Option<String>> = vec![None; n];
        let mut majority: Vec<Option<String>> = vec![None; n];
        for (i, p) in self.predictions.iter().enumerate() {
            if p.row >= n {
                return Err(Error::Shape(format!(
                    "prediction for row {} of a dataset with {n} cells",
                    p.row
                )));
            }
            labels[p.row] = assigned.labels[i].clone();
            conf[p.row] = p.confidence as f64;
            text[p.row] = p.text.clone();
            precision[p.row] = Some(p.precision.as_str().to_string());
            if let Some(m) = &assigned.majority {
                majority[p.row] = m[i].clone();
            }
        }
        let key = &out.key_added;
        let mut cols = vec![
            (key.clone(), categorical(&labels)),
            (format!("{key}_confidence"), Column::Float(conf)),
            (format!("{key}_text"), Column::String(text)),
            (format!("{key}_precision"), categorical(&precision)),
        ];
        if assigned.majority.is_some() {
            cols.push((format!("{key}_majority_voting"), categorical(&majority)));
        }
        Ok(cols)
    }

    /// How many answers were decided by each precision (fp32 for re-decided near-ties).
    pub fn precision_counts(&self) -> BTreeMap<Precision, usize> {
        let mut m = BTreeMap::new();
        for p in &self.predictions {
            *m.entry(p.precision).or_default() += 1;
        }
        m
    }

    /// How many cells received each label (after `out`'s threshold), most frequent first.
    ///
    /// # Errors
    /// As [`Predictions::assign`].
    pub fn label_counts(&self, out: &LabelOutput) -> Result<Vec<(String, usize)>> {
        let assigned = self.assign(out)?;
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for l in &assigned.labels {
            *m.entry(l.clone().unwrap_or_else(|| "(none)".into()))
                .or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(v)
    }
}

/// The most frequent label among the answered cells of each cluster (ties: the label first in
/// sorted order), given back per answered cell. Cells without a cluster get none.
fn majority_vote(
    predictions: &[LabelPrediction],
    labels: &[Option<String>],
    clusters: &[Option<String>],
) -> Vec<Option<String>> {
    let mut votes: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (p, l) in predictions.iter().zip(labels) {
        if let (Some(c), Some(l)) = (clusters[p.row].as_deref(), l.as_deref()) {
            *votes.entry(c).or_default().entry(l).or_default() += 1;
        }
    }
    let winner: BTreeMap<&str, &str> = votes
        .iter()
        .map(|(c, counts)| {
            let best = counts
                .iter()
                // max_by_key keeps the last maximum; iterate in reverse so the first sorted
                // label wins a tie.
                .rev()
                .max_by_key(|(_, &n)| n)
                .map(|(l, _)| *l)
                .unwrap_or_default();
            (*c, best)
        })
        .collect();
    predictions
        .iter()
        .map(|p| {
            clusters[p.row]
                .as_deref()
                .and_then(|c| winner.get(c))
                .map(|l| l.to_string())
        })
        .collect()
}
