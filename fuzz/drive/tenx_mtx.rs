//! 10x Matrix Market directories: the input is `matrix.mtx` beside the barcodes and genes of
//! the bundled v2 fixture; the directory is opened and every row read.

use std::path::PathBuf;
use std::sync::OnceLock;

use instructcell::io::{TenxMatrix, TenxOptions};
use instructcell::{CsrRows, RowSource};

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = crate::common::scratch("tenx").join("tenx_v2");
        crate::common::copy_tree(
            &crate::common::root().join("tests/data/fixtures/tenx_v2"),
            &d,
        );
        d
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let d = dir();
    std::fs::write(d.join("matrix.mtx"), data).unwrap();
    if let Ok(mut m) = TenxMatrix::open(d, &TenxOptions::default()) {
        let mut rows = CsrRows::new(m.n_cols());
        let n = m.n_rows().min(4096);
        let _ = m.read_rows(0..n, &mut rows);
    }
}
