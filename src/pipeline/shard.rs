//! Splitting a dataset into contiguous parts that separate jobs process on their own.

use std::ops::Range;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The `index`-th (0-based) of `count` contiguous parts of a dataset, written `I/N` with
/// `I` counted from 1 (`1/4` … `4/4`).
///
/// Parts are made of whole *units*: a unit is a whole number of batches that also covers whole
/// storage chunks ([`shard_unit`]), so every part reads its own chunks, and the batches of a
/// sharded run are exactly the batches of one unsharded run. That matters for int8 graphs,
/// whose activations are quantized per batch: with units aligned to batches, sharded int8
/// answers equal unsharded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The part `index` (0-based) of `count`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `count` is 0 or `index >= count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::InvalidArgument(format!(
                "shard {}/{count} does not exist: write I/N with 1 <= I <= N",
                index + 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// The whole dataset as one part.
    pub fn whole() -> Self {
        Shard { index: 0, count: 1 }
    }

    /// 0-based index of the part.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Number of parts.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The rows of this part among `n_rows`, in whole units of `unit` rows: the units are
    /// dealt out as evenly as possible, earlier parts never smaller than later ones. A part can
    /// be empty when there are fewer units than parts.
    pub fn rows(&self, n_rows: usize, unit: usize) -> Range<usize> {
        let unit = unit.max(1);
        let units = n_rows.div_ceil(unit);
        let (base, extra) = (units / self.count, units % self.count);
        let first = self.index * base + self.index.min(extra);
        let len = base + usize::from(self.index < extra);
        let start = (first * unit).min(n_rows);
        let end = ((first + len) * unit).min(n_rows);
        start..end
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidArgument(format!(
                "'{s}' is not a shard: write I/N, e.g. 1/4 for the first of four parts"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if i == 0 {
            return Err(bad());
        }
        Shard::new(i - 1, n)
    }
}

/// Rows per shard unit over `n_rows` rows: the least common multiple of `batch_size` and
/// `chunk_rows` (the storage chunk length), so that every part is whole batches and whole
/// chunks. When one chunk holds every row, or the multiple is beyond 2^20 rows, only batches
/// count.
pub fn shard_unit(batch_size: usize, chunk_rows: Option<usize>, n_rows: usize) -> usize {
    let batch = batch_size.max(1);
    match chunk_rows {
        Some(c) if c > 0 && c < n_rows => {
            let g = gcd(batch, c);
            // The least common multiple, unless it is absurdly large; then whole batches.
            (batch / g)
                .checked_mul(c)
                .filter(|&l| l <= 1 << 20)
                .unwrap_or(batch)
        }
        _ => batch,
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_every_row_once_in_whole_units() {
        for n_rows in [0usize, 1, 15, 16, 17, 178, 1000] {
            for count in 1..=7 {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard::new(index, count).unwrap().rows(n_rows, 16);
                    assert_eq!(r.start, next, "{n_rows} rows, {index}/{count}");
                    assert!(r.start.is_multiple_of(16) || r.is_empty());
                    next = r.end;
                }
                assert_eq!(next, n_rows);
            }
        }
    }

    #[test]
    fn parse_and_units() {
        let s: Shard = "2/4".parse().unwrap();
        assert_eq!((s.index(), s.count(), s.to_string()), (1, 4, "2/4".into()));
        for bad in ["0/4", "5/4", "1/0", "x", "1-4", "/4", "2/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(shard_unit(16, None, 1000), 16);
        assert_eq!(shard_unit(16, Some(64), 1000), 64);
        assert_eq!(shard_unit(16, Some(100), 1000), 400);
        assert_eq!(shard_unit(64, Some(16), 1000), 64);
        // One chunk for everything: batches only.
        assert_eq!(shard_unit(16, Some(179), 178), 16);
    }
}
