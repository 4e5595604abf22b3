//! Building the text encoder's input: token embeddings with the placeholder replaced by a cell's
//! query vectors, padded into a batch with an attention mask.

use crate::error::{Error, Result};

/// One row of the encoder batch: its token ids and, when it carries a cell, the cell's query
/// vectors (`num_query × d_model`, row-major) that replace the single placeholder token.
#[derive(Debug, Clone, Copy)]
pub struct SpliceRow<'a> {
    /// Token ids from the tokenizer.
    pub ids: &'a [u32],
    /// The cell encoder output for this row, if any.
    pub cell: Option<&'a [f32]>,
}

/// A padded batch of encoder inputs.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EncoderBatch {
    /// Rows in the batch.
    pub batch: usize,
    /// Padded sequence length.
    pub length: usize,
    /// Model width.
    pub d_model: usize,
    /// `[batch × length × d_model]` embeddings.
    pub embeds: Vec<f32>,
    /// `[batch × length]`, 1 for real positions, 0 for padding.
    pub mask: Vec<i64>,
}

/// Splices and pads `rows`. Padding positions, and any pad token inside a prompt, get zero
/// embeddings and mask 0, as the reference implementation derives its mask from the pad id.
///
/// # Errors
/// [`Error::Prompt`] when a row with a cell has no placeholder or more than one, or a row without
/// a cell contains the placeholder; [`Error::Shape`] for wrong cell sizes or token ids outside
/// the embedding table.
pub fn splice_batch(
    rows: &[SpliceRow<'_>],
    table: &[f32],
    d_model: usize,
    placeholder: u32,
    pad: u32,
    num_query: usize,
) -> Result<EncoderBatch> {
    let vocab = table.len() / d_model;
    let lengths: Vec<usize> = rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let n_ph = row.ids.iter().filter(|&&t| t == placeholder).count();
            match (row.cell, n_ph) {
                (Some(cell), 1) => {
                    if cell.len() != num_query * d_model {
                        return Err(Error::Shape(format!(
                            "row {r}: cell vectors have {} values, expected {num_query} × {d_model}",
                            cell.len()
                        )));
                    }
                    Ok(row.ids.len() - 1 + num_query)
                }
                (Some(_), n) => Err(Error::Prompt(format!(
                    "row {r}: a cell was given but the prompt has {n} cell placeholders (exactly one needed)"
                ))),
                (None, 0) => Ok(row.ids.len()),
                (None, n) => Err(Error::Prompt(format!(
                    "row {r}: the prompt has {n} cell placeholder(s) but no cell was given"
                ))),
            }
        })
        .collect::<Result<_>>()?;
    let length = lengths.iter().copied().max().unwrap_or(0);
    let b = rows.len();
    let mut embeds = vec![0f32; b * length * d_model];
    let mut mask = vec![0i64; b * length];
    let embed = |t: u32| -> Result<&[f32]> {
        let t = t as usize;
        if t >= vocab {
            return Err(Error::Shape(format!(
                "token id {t} outside the embedding table of {vocab}"
            )));
        }
        Ok(&table[t * d_model..(t + 1) * d_model])
    };
    for (r, row) in rows.iter().enumerate() {
        let out = &mut embeds[r * length * d_model..(r + 1) * length * d_model];
        let m = &mut mask[r * length..(r + 1) * length];
        let mut pos = 0;
        for &t in row.ids {
            if t == placeholder {
                let cell = row.cell.expect("checked above");
                out[pos * d_model..(pos + num_query) * d_model].copy_from_slice(cell);
                m[pos..pos + num_query].fill(1);
                pos += num_query;
            } else {
                let e = embed(t)?;
                if t != pad {
                    out[pos * d_model..(pos + 1) * d_model].copy_from_slice(e);
                    m[pos] = 1;
                }
                pos += 1;
            }
        }
    }
    Ok(EncoderBatch {
        batch: b,
        length,
        d_model,
        embeds,
        mask,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_and_pads() {
        // vocab 5, d 2: embedding of token t is [t, 10 t].
        let table: Vec<f32> = (0..5).flat_map(|t| [t as f32, 10.0 * t as f32]).collect();
        let cell = [0.5, 0.6, 0.7, 0.8]; // 2 query vectors
        let rows = [
            SpliceRow {
                ids: &[2, 4, 1],
                cell: Some(&cell),
            },
            SpliceRow {
                ids: &[3, 1],
                cell: None,
            },
        ];
        let b = splice_batch(&rows, &table, 2, 4, 0, 2).unwrap();
        assert_eq!((b.batch, b.length), (2, 4));
        assert_eq!(&b.embeds[..8], &[2.0, 20.0, 0.5, 0.6, 0.7, 0.8, 1.0, 10.0]);
        assert_eq!(&b.embeds[8..], &[3.0, 30.0, 1.0, 10.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(b.mask, vec![1, 1, 1, 1, 1, 1, 0, 0]);
        // A pad token inside a prompt embeds as zeros and is masked out.
        let with_pad = [SpliceRow {
            ids: &[3, 0, 1],
            cell: None,
        }];
        let b = splice_batch(&with_pad, &table, 2, 4, 0, 2).unwrap();
        assert_eq!(b.embeds, vec![3.0, 30.0, 0.0, 0.0, 1.0, 10.0]);
        assert_eq!(b.mask, vec![1, 0, 1]);
    }

    #[test]
    fn placeholder_rules() {
        let table = vec![0f32; 10];
        let cell = [0f32; 4];
        let no_ph = [SpliceRow {
            ids: &[2, 1],
            cell: Some(&cell),
        }];
        assert!(matches!(
            splice_batch(&no_ph, &table, 2, 4, 0, 2),
            Err(Error::Prompt(_))
        ));
        let two_ph = [SpliceRow {
            ids: &[4, 4, 1],
            cell: Some(&cell),
        }];
        assert!(splice_batch(&two_ph, &table, 2, 4, 0, 2).is_err());
        let stray = [SpliceRow {
            ids: &[4, 1],
            cell: None,
        }];
        assert!(splice_batch(&stray, &table, 2, 4, 0, 2).is_err());
        let oov = [SpliceRow {
            ids: &[9, 1],
            cell: None,
        }];
        assert!(matches!(
            splice_batch(&oov, &table, 2, 4, 0, 2),
            Err(Error::Shape(_))
        ));
        let wrong_cell = [SpliceRow {
            ids: &[4, 1],
            cell: Some(&cell[..3]),
        }];
        assert!(matches!(
            splice_batch(&wrong_cell, &table, 2, 4, 0, 2),
            Err(Error::Shape(_))
        ));
    }
}
