//! The AnnData layer over HDF5: valid HDF5 files with malformed AnnData structure. Each input
//! is a list of edits (delete a member, set an attribute, replace a dataset with one of
//! another type or length, add a member) applied to a copy of a valid `.h5ad` fixture (the
//! first byte picks csr, csc or dense X), which is then read in full. The HDF5 bytes
//! themselves are not fuzzed: the HDF5 C library's own robustness is out of scope.

use std::path::PathBuf;
use std::sync::OnceLock;

use hdf5::types::VarLenUnicode;

const FIXTURES: [&str; 3] = ["csr_plain.h5ad", "csc.h5ad", "dense.h5ad"];

const PATHS: [&str; 24] = [
    "",
    "obs",
    "var",
    "X",
    "layers",
    "layers/counts",
    "raw",
    "raw/X",
    "raw/var",
    "obsm",
    "uns",
    "obs/_index",
    "var/_index",
    "obs/cell_type",
    "obs/cell_type/codes",
    "obs/cell_type/categories",
    "X/data",
    "X/indices",
    "X/indptr",
    "var/gene_ids",
    "obs/extra",
    "raw/X/data",
    "raw/X/indptr",
    "mod",
];

const KEYS: [&str; 9] = [
    "encoding-type",
    "encoding-version",
    "shape",
    "_index",
    "column-order",
    "h5sparse_format",
    "h5sparse_shape",
    "ordered",
    "axis",
];

const VALUES: [&str; 16] = [
    "anndata",
    "dataframe",
    "csr_matrix",
    "csc_matrix",
    "array",
    "categorical",
    "string-array",
    "nullable-integer",
    "nullable-boolean",
    "dict",
    "0.1.0",
    "0.2.0",
    "_index",
    "csr",
    "MuData",
    "",
];

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        Some(items[self.byte()? as usize % items.len()])
    }
}

fn copies() -> &'static Vec<(PathBuf, Vec<u8>)> {
    static C: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    C.get_or_init(|| {
        let dir = crate::common::scratch("h5ad");
        FIXTURES
            .iter()
            .map(|name| {
                let bytes =
                    std::fs::read(crate::common::root().join("tests/data/fixtures").join(name))
                        .unwrap();
                (dir.join(name), bytes)
            })
            .collect()
    })
}

/// Applies the edits of `c` to the open file; every HDF5 error is ignored (the edit is skipped).
fn edit(file: &hdf5::File, c: &mut Cursor) -> Option<()> {
    for _ in 0..16 {
        let op = c.byte()?;
        let path = c.pick(&PATHS)?;
        let loc = if path.is_empty() {
            file.group("/").ok()
        } else {
            file.group(path).ok()
        };
        match op % 6 {
            0 if !path.is_empty() => {
                let _ = file.unlink(path);
            }
            1 => {
                let (key, value) = (c.pick(&KEYS)?, c.pick(&VALUES)?);
                let target: Option<hdf5::Location> = match &loc {
                    Some(g) => Some((**g).clone()),
                    None => file.dataset(path).ok().map(|d| (**d).clone()),
                };
                if let Some(t) = target {
                    let _ = t.delete_attr(key);
                    let v: VarLenUnicode = value.parse().ok()?;
                    let _ = t
                        .new_attr::<VarLenUnicode>()
                        .create(key)
                        .and_then(|a| a.write_scalar(&v));
                }
            }
            2 => {
                let (key, a, b) = (c.pick(&KEYS)?, c.byte()? as i64 - 8, c.byte()? as i64);
                if let Some(g) = &loc {
                    let _ = g.delete_attr(key);
                    let _ = g
                        .new_attr::<i64>()
                        .shape(2)
                        .create(key)
                        .and_then(|x| x.write(&[a, b]));
                }
            }
            3 | 4 if !path.is_empty() => {
                let _ = file.unlink(path);
                let n = c.byte()? as usize % 40;
                let kind = c.byte()? % 5;
                let vals: Vec<u8> = (0..n).map(|_| c.byte().unwrap_or(0)).collect();
                let _ = match kind {
                    0 => file
                        .new_dataset_builder()
                        .with_data(&vals.iter().map(|&v| v as i64 - 3).collect::<Vec<_>>())
                        .create(path)
                        .map(|_| ()),
                    1 => file
                        .new_dataset_builder()
                        .with_data(
                            &vals
                                .iter()
                                .map(|&v| v as f32 / 7.0 - 1.0)
                                .collect::<Vec<_>>(),
                        )
                        .create(path)
                        .map(|_| ()),
                    2 => file
                        .new_dataset_builder()
                        .with_data(&vals.iter().map(|&v| v as u32).collect::<Vec<_>>())
                        .create(path)
                        .map(|_| ()),
                    3 => {
                        let s: Vec<VarLenUnicode> = vals
                            .iter()
                            .map(|v| format!("g{}", v % 9).parse().unwrap())
                            .collect();
                        file.new_dataset_builder()
                            .with_data(&s)
                            .create(path)
                            .map(|_| ())
                    }
                    _ => file.create_group(path).map(|_| ()),
                };
            }
            _ => {
                let _ = file.create_group(path);
            }
        }
    }
    Some(())
}

/// One input.
pub fn run(data: &[u8]) {
    let mut c = Cursor(data);
    let Some(which) = c.byte() else { return };
    let (path, bytes) = &copies()[which as usize % FIXTURES.len()];
    std::fs::write(path, bytes).unwrap();
    match hdf5::File::open_rw(path) {
        Ok(file) => {
            let _ = edit(&file, &mut c);
            let _ = file.flush();
        }
        Err(_) => return,
    }
    let _ = crate::common::read_all(path);
}
