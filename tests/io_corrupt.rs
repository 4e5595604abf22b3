//! Corrupted copies of the bundled zarr v2 and v3 stores, read in full (obs, var, X, raw and
//! every layer): every corruption gives a value or a typed error, never a panic, and metadata
//! claiming absurd shapes is refused before memory is allocated for it.
//!
//! The corruptions are drawn from a fixed seed (`INSTRUCTCELL_CORRUPTIONS` sets how many per
//! store; default 300): a random byte of a random file set to a random value, or one value of
//! a JSON metadata document replaced by another of a different kind or size.

mod io_support;

/// `read_all` (everything the crate reads from a store) and `files`, shared with the fuzz
/// targets.
#[path = "../fuzz/common/mod.rs"]
mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use common::{files, read_all};
use instructcell::Error;
use io_support::copy_tree;
use serde_json::Value;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A JSON value of another kind or size than `v`.
fn other_value(v: &Value, rng: &mut Rng) -> Value {
    let choices = [
        Value::Null,
        Value::from(-1),
        Value::from(0),
        Value::from(1u64 << 40),
        Value::from(u64::MAX),
        Value::from(1.5),
        Value::from("x"),
        Value::from("<f8"),
        Value::from("|O"),
        Value::Array(vec![]),
        Value::Array(vec![Value::from(1u64 << 50), Value::from(3)]),
        Value::Object(Default::default()),
    ];
    loop {
        let c = choices[rng.below(choices.len())].clone();
        if &c != v {
            return c;
        }
    }
}

/// Replaces one leaf of `doc` (chosen by `rng`) with another value.
fn mutate_json(doc: &mut Value, rng: &mut Rng) {
    match doc {
        Value::Object(m) if !m.is_empty() && rng.below(4) != 0 => {
            let k = m.keys().nth(rng.below(m.len())).unwrap().clone();
            mutate_json(m.get_mut(&k).unwrap(), rng);
        }
        Value::Array(a) if !a.is_empty() && rng.below(4) != 0 => {
            let i = rng.below(a.len());
            mutate_json(&mut a[i], rng);
        }
        other => *other = other_value(other, rng),
    }
}

/// Applies corruption `i` to the working copy; returns what it did.
fn corrupt(work: &Path, all: &[PathBuf], rng: &mut Rng) -> String {
    let file = &all[rng.below(all.len())];
    let bytes = std::fs::read(file).unwrap();
    let rel = file.strip_prefix(work).unwrap().display().to_string();
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    match json {
        Some(mut doc) if rng.below(3) != 0 => {
            mutate_json(&mut doc, rng);
            std::fs::write(file, serde_json::to_vec(&doc).unwrap()).unwrap();
            format!("{rel}: {}", serde_json::to_string(&doc).unwrap())
        }
        _ if bytes.is_empty() => {
            std::fs::write(file, [rng.next() as u8]).unwrap();
            format!("{rel}: one byte added")
        }
        _ => {
            let mut b = bytes;
            let at = rng.below(b.len());
            let value = rng.next() as u8;
            b[at] = value;
            std::fs::write(file, &b).unwrap();
            format!("{rel}: byte {at} set to {value}")
        }
    }
}

fn corruptions() -> usize {
    std::env::var("INSTRUCTCELL_CORRUPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn no_panics(store: &str, seed: u64) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(store);
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join(store);
    copy_tree(&src, &work);
    read_all(&work).expect("the intact store reads");
    let all = files(&work);
    let originals: Vec<Vec<u8>> = all.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut rng = Rng(seed);
    let (mut panics, mut errors) = (Vec::new(), 0);
    // The panics are the finding; the default hook's messages would only bury the summary.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for i in 0..corruptions() {
        let what = corrupt(&work, &all, &mut rng);
        match catch_unwind(AssertUnwindSafe(|| read_all(&work))) {
            Ok(Ok(())) => {}
            Ok(Err(_)) => errors += 1,
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panics.push(format!("#{i} {what} -> {msg}"));
            }
        }
        for (f, b) in all.iter().zip(&originals) {
            if std::fs::read(f).map(|x| &x != b).unwrap_or(true) {
                std::fs::write(f, b).unwrap();
            }
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "{store}: {} corruptions, {errors} typed errors, {} panics",
        corruptions(),
        panics.len()
    );
    assert!(panics.is_empty(), "{store}: panics:\n{}", panics.join("\n"));
}

#[test]
fn corrupted_zarr_v2_never_panics() {
    no_panics("pbmc68k_heldout.zarr", 0x5eed_0001);
}

#[test]
fn corrupted_zarr_v3_never_panics() {
    no_panics("pbmc68k_heldout.v3.zarr", 0x5eed_0002);
}

/// A private copy of bundled store `store` with `edit` applied to it.
fn edited(store: &str, edit: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(store);
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join(store);
    copy_tree(&src, &work);
    edit(&work);
    (dir, work)
}

fn set_byte(file: &Path, at: usize, value: u8) {
    let mut b = std::fs::read(file).unwrap();
    b[at] = value;
    std::fs::write(file, b).unwrap();
}

fn set_json(file: &Path, pointer: &str, value: Value) {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    *doc.pointer_mut(pointer).unwrap() = value;
    std::fs::write(file, serde_json::to_vec(&doc).unwrap()).unwrap();
}

/// The typed error of reading everything, with its message.
fn read_error(path: &Path) -> String {
    let e = read_all(path).expect_err("the corrupted store read without error");
    assert!(matches!(e, Error::Store { .. }), "{e:?}");
    e.to_string()
}

/// The corruptions that made zarrs 0.23 panic (found by the sweep above), one per kind.
#[test]
fn zarrs_panics_become_typed_errors_naming_element_and_chunk() {
    // A string length in a vlen chunk pointing past the chunk (zarrs' vlen_v2 decoder).
    let (_d, p) = edited("pbmc68k_heldout.zarr", |w| {
        set_byte(&w.join("obs/index/0"), 655, 81)
    });
    let msg = read_error(&p);
    assert!(
        msg.contains("obs/index") && msg.contains("corrupt data") && msg.contains("chunks"),
        "{msg}"
    );
    let (_d, p) = edited("pbmc68k_heldout.v3.zarr", |w| {
        set_byte(&w.join("obs/phase/categories/c/0"), 20, 227)
    });
    let msg = read_error(&p);
    assert!(
        msg.contains("obs/phase/categories") && msg.contains("corrupt data"),
        "{msg}"
    );
    // A chunk shape whose element count overflows.
    let (_d, p) = edited("pbmc68k_heldout.zarr", |w| {
        set_json(
            &w.join("X/indices/.zarray"),
            "/chunks/0",
            Value::from(u64::MAX),
        )
    });
    assert!(read_error(&p).contains("chunk shape"));
    let (_d, p) = edited("pbmc68k_heldout.v3.zarr", |w| {
        set_json(
            &w.join("obs/percent_mito/zarr.json"),
            "/chunk_grid/configuration/chunk_shape/0",
            Value::from(u64::MAX),
        )
    });
    assert!(read_error(&p).contains("chunk shape"));
}

/// Shapes far beyond the data are refused before anything of their size is allocated.
#[test]
fn absurd_shapes_are_refused_without_allocating() {
    for (store, meta, pointer) in [
        ("pbmc68k_heldout.zarr", "obs/index/.zarray", "/shape/0"),
        (
            "pbmc68k_heldout.zarr",
            "obs/percent_mito/.zarray",
            "/shape/0",
        ),
        (
            "pbmc68k_heldout.v3.zarr",
            "obs/n_counts/zarr.json",
            "/shape/0",
        ),
    ] {
        let (_d, p) = edited(store, |w| {
            set_json(&w.join(meta), pointer, Value::from(1u64 << 50))
        });
        let msg = read_error(&p);
        assert!(
            msg.contains("bytes") || msg.contains("length"),
            "{store} {meta}: {msg}"
        );
    }
}
