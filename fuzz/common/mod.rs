//! What the fuzz targets share: a scratch directory in memory, and reading everything the
//! crate reads from a store.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use instructcell::io::{AnnDataStore, MatrixSelection, ReadOptions};
use instructcell::{CsrRows, RowSource};

/// A per-process scratch directory (in /dev/shm where there is one: no disk writes).
pub fn scratch(name: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("instructcell-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The repository root (targets read the bundled stores and packages).
pub fn root() -> PathBuf {
    // Built in fuzz/ (the targets) or at the root (tests/fuzz_replay.rs).
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    match here.file_name() {
        Some(n) if n == "fuzz" => here.parent().unwrap().to_path_buf(),
        _ => here.to_path_buf(),
    }
}

/// Copies the directory tree `from` to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Every file under `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Reads obs, var, raw and every matrix of the store at `path`; errors are expected, panics
/// and crashes are the findings.
pub fn read_all(path: &Path) -> instructcell::Result<()> {
    let store = AnnDataStore::open(path)?;
    store.obs()?;
    store.var()?;
    store.obs_names()?;
    let mut selections = vec![MatrixSelection::X];
    selections.extend(store.layers()?.into_iter().map(MatrixSelection::Layer));
    if store.has_raw()? {
        store.raw_var()?;
        selections.push(MatrixSelection::RawX);
    }
    for sel in selections {
        let opts = ReadOptions::default()
            .with_matrix(sel)
            .with_check_values(false);
        let mut m = store.matrix(&opts)?;
        let mut rows = CsrRows::new(m.n_cols());
        let n = m.n_rows().min(4096);
        let mut row = 0;
        while row < n {
            let end = (row + 64).min(n);
            m.read_rows(row..end, &mut rows)?;
            row = end;
        }
    }
    Ok(())
}

/// Lets panics that the crate contains (zarrs' decoders under `catch_unwind`, turned into
/// typed errors) pass silently: libfuzzer-sys's hook would abort on them. A panic that
/// escapes the crate still aborts the run (libfuzzer-sys checks the target's result).
pub fn contain_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}
