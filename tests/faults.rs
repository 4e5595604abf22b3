//! Faults during writes: SIGKILL at random moments of every write path (obs columns into zarr
//! and `.h5ad`, in place and into new stores, generated stores; 50 trials each), a full disk
//! (a small tmpfs; needs root) and an unreadable chunk in the middle of a read.
//!
//! After a kill the input is byte-identical (new stores) or reads either as before or with
//! all the new columns (in place), and an output is either absent or complete: readable here,
//! and by Python anndata for a sample of trials when `INSTRUCTCELL_PYTHON` is set. The next
//! write into the same place clears every temporary the killed writer left.
#![cfg(all(unix, feature = "h5ad"))]

mod io_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use instructcell::io::{
    add_obs_columns, write_store_with_obs_columns, AddColumnsOptions, AnnDataStore, AnnDataWriter,
    Column, CopyOptions, DataFrame, StoreFormat, WriteOptions, ZarrVersion,
};
use instructcell::CsrRows;
use io_support::copy_tree;

const TRIALS: usize = 50;

/// HDF5 opens files without close-on-exec: a child started by one test while another holds a
/// file open would inherit it (and keep a tmpfs busy). The tests take turns.
static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURNS.lock().unwrap_or_else(|e| e.into_inner())
}
const CHILD: &str = "INSTRUCTCELL_FAULT_CHILD";

fn heldout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/pbmc68k_heldout.zarr")
}

fn h5ad_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures/csr_plain.h5ad")
}

fn columns(n: usize) -> Vec<(String, Column)> {
    vec![
        (
            "fault_label".into(),
            Column::Categorical {
                codes: (0..n).map(|i| (i % 2) as i32).collect(),
                categories: vec!["a".into(), "b".into()],
                ordered: false,
            },
        ),
        (
            "fault_score".into(),
            Column::Float((0..n).map(|i| i as f64).collect()),
        ),
    ]
}

fn n_obs(path: &Path) -> usize {
    AnnDataStore::open(path).unwrap().n_obs().unwrap()
}

/// The write `kind` from `input` (to `output`), as one child process does it.
fn write(kind: &str, input: &Path, output: &Path) {
    match kind {
        "zarr_in_place" | "h5ad_in_place" => {
            let n = n_obs(input);
            add_obs_columns(input, &columns(n), &AddColumnsOptions::default()).unwrap();
        }
        "zarr_copy" | "h5ad_copy" => {
            let n = n_obs(input);
            write_store_with_obs_columns(input, output, &columns(n), &CopyOptions::default())
                .unwrap();
        }
        "generated_zarr" | "generated_h5ad" => {
            let format = if kind.ends_with("h5ad") {
                StoreFormat::H5ad
            } else {
                StoreFormat::Zarr(ZarrVersion::V2)
            };
            let genes: Vec<String> = (0..2000).map(|j| format!("G{j}")).collect();
            let opts = WriteOptions::default().with_format(format);
            let mut w = AnnDataWriter::create(output, &genes, &opts).unwrap();
            let n = 3000;
            for block in 0..n / 100 {
                let mut rows = CsrRows::new(genes.len());
                for r in 0..100 {
                    let cols: Vec<u32> = (0..50)
                        .map(|k| ((r * 31 + k * 37 + block) % 2000) as u32)
                        .collect();
                    let mut cols = cols;
                    cols.sort_unstable();
                    cols.dedup();
                    let vals = vec![1.0f32; cols.len()];
                    rows.push_row(&cols, &vals).unwrap();
                }
                w.append(&rows).unwrap();
            }
            let names = Column::String((0..n).map(|i| format!("cell{i}")).collect());
            let obs = DataFrame::new(
                (0..n).map(|i| format!("cell{i}")).collect(),
                vec![("kind".into(), names)],
            );
            w.finish(&obs).unwrap();
        }
        other => panic!("unknown write {other}"),
    }
}

/// The next write into the directories a killed write used (here, in this process): it
/// clears the temporaries the dead writer left.
fn follow_up(kind: &str, input: &Path, dir: &Path) {
    if kind.ends_with("in_place") {
        let n = n_obs(input);
        let col = vec![("after_kill".to_string(), Column::Float(vec![0.5; n]))];
        add_obs_columns(input, &col, &AddColumnsOptions::default()).unwrap();
    } else {
        let again = dir
            .join("again")
            .with_extension(output_for(kind, dir).extension().unwrap());
        write(kind, input, &again);
    }
}

/// Temporaries (dot names with a writer's tag) anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') && [".new-", ".old-", ".tmp-"].iter().any(|t| name.contains(t))
            {
                out.push(p.clone());
            }
            if p.is_dir() {
                todo.push(p);
            }
        }
    }
    out
}

/// The child: performs the write named in the environment and exits.
#[test]
#[ignore = "run by the fault tests as a child process"]
fn fault_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let mut parts = spec.splitn(3, '\u{1f}');
    let (kind, input, output) = (
        parts.next().unwrap(),
        PathBuf::from(parts.next().unwrap()),
        PathBuf::from(parts.next().unwrap()),
    );
    write(kind, &input, &output);
}

fn child(kind: &str, input: &Path, output: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "fault_child", "--ignored", "--nocapture", "-q"])
        .env(
            CHILD,
            format!("{kind}\u{1f}{}\u{1f}{}", input.display(), output.display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

fn snapshot(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, p: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        if p.is_dir() {
            let mut es: Vec<_> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            es.sort();
            for e in es {
                walk(root, &e, out);
            }
        } else {
            out.push((
                p.strip_prefix(root).unwrap_or(p).to_path_buf(),
                std::fs::read(p).unwrap(),
            ));
        }
    }
    let mut out = Vec::new();
    walk(path, path, &mut out);
    out
}

fn fresh_input(kind: &str, dir: &Path) -> PathBuf {
    if kind.starts_with("h5ad") {
        let p = dir.join("input.h5ad");
        std::fs::copy(h5ad_fixture(), &p).unwrap();
        p
    } else {
        let p = dir.join("input.zarr");
        copy_tree(&heldout(), &p);
        p
    }
}

fn output_for(kind: &str, dir: &Path) -> PathBuf {
    dir.join(if kind.ends_with("h5ad") || kind == "h5ad_copy" {
        "output.h5ad"
    } else {
        "output.zarr"
    })
}

/// An output that exists must read completely, with the new columns.
fn check_complete(kind: &str, output: &Path) {
    let store =
        AnnDataStore::open(output).unwrap_or_else(|e| panic!("{kind}: half-written output: {e}"));
    let names = store.obs_column_names().unwrap();
    if kind.starts_with("generated") {
        assert_eq!(store.n_obs().unwrap(), 3000, "{kind}");
    } else {
        assert!(
            names.iter().any(|n| n == "fault_score"),
            "{kind}: {names:?}"
        );
    }
    store.obs().unwrap();
}

fn python_reads(output: &Path) {
    let Some(py) = std::env::var_os("INSTRUCTCELL_PYTHON") else {
        return;
    };
    let script = "import sys, anndata as ad\np = sys.argv[1]\n(ad.read_h5ad if p.endswith('.h5ad') else ad.read_zarr)(p)\n";
    let o = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(output)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "anndata cannot read {}: {}",
        output.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn kill_trials(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    // How long one write takes, to spread the kills over it.
    let input = fresh_input(kind, dir.path());
    let output = output_for(kind, dir.path());
    let t = Instant::now();
    assert!(
        child(kind, &input, &output).status().unwrap().success(),
        "{kind}: the write fails"
    );
    let full = t.elapsed();
    let mut outcomes = [0usize; 2];
    for trial in 0..TRIALS {
        let trial_dir = dir.path().join(format!("t{trial}"));
        std::fs::create_dir_all(&trial_dir).unwrap();
        let input = fresh_input(kind, &trial_dir);
        let output = output_for(kind, &trial_dir);
        let before = snapshot(&input);
        let before_columns = AnnDataStore::open(&input)
            .unwrap()
            .obs_column_names()
            .unwrap();
        let mut c = child(kind, &input, &output).spawn().unwrap();
        // Deterministic spread over [0, 1.1 × the full write time].
        let at = full.mul_f64(1.1 * ((trial * 37) % TRIALS) as f64 / TRIALS as f64);
        std::thread::sleep(at);
        let _ = c.kill(); // SIGKILL
        let status = c.wait().unwrap();
        outcomes[usize::from(status.success())] += 1;
        if kind.ends_with("in_place") {
            // Atomic: as before, or with every new column.
            let store =
                AnnDataStore::open(&input).unwrap_or_else(|e| panic!("{kind} #{trial}: {e}"));
            let cols = store.obs_column_names().unwrap();
            let mut with_new = before_columns.clone();
            with_new.extend(["fault_label".to_string(), "fault_score".to_string()]);
            assert!(
                cols == before_columns || cols == with_new,
                "{kind} #{trial}: columns {cols:?}"
            );
            store.obs().unwrap();
        } else {
            assert_eq!(
                snapshot(&input),
                before,
                "{kind} #{trial}: the input changed"
            );
            if output.exists() {
                check_complete(kind, &output);
                if trial % 10 == 0 {
                    python_reads(&output);
                }
            }
        }
        follow_up(kind, &input, &trial_dir);
        let left = leftovers(&trial_dir);
        assert!(
            left.is_empty(),
            "{kind} #{trial}: temporaries left: {left:?}"
        );
        std::fs::remove_dir_all(&trial_dir).unwrap();
    }
    eprintln!(
        "{kind}: write takes {:.0} ms; {TRIALS} kills: {} before the end, {} after it",
        full.as_secs_f64() * 1e3,
        outcomes[0],
        outcomes[1]
    );
}

#[test]
fn sigkill_during_zarr_writes_loses_nothing() {
    let _turn = turn();
    kill_trials("zarr_in_place");
    kill_trials("zarr_copy");
    kill_trials("generated_zarr");
}

#[test]
fn sigkill_during_h5ad_writes_loses_nothing() {
    let _turn = turn();
    kill_trials("h5ad_in_place");
    kill_trials("h5ad_copy");
    kill_trials("generated_h5ad");
}

/// A tmpfs of `kb` KiB mounted for the test (root only); `None` (skip) where mounting fails.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(kb: usize) -> Option<(tempfile::TempDir, SmallDisk)> {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("disk");
        std::fs::create_dir_all(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kb}k"), "tmpfs"])
            .arg(&at)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("SKIPPED: cannot mount a small tmpfs (needs root)");
            return None;
        }
        Some((dir, SmallDisk(at)))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_typed_error_that_leaves_nothing() {
    let _turn = turn();
    let Some((_keep, disk)) = SmallDisk::mount(256) else {
        return;
    };
    // A new store bigger than the disk: the copy fails part way.
    let n = n_obs(&heldout());
    let before = snapshot(&heldout());
    let out = disk.0.join("out.zarr");
    let e = write_store_with_obs_columns(heldout(), &out, &columns(n), &CopyOptions::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            instructcell::Error::Io { .. } | instructcell::Error::Store { .. }
        ),
        "{e:?}"
    );
    assert!(e.to_string().to_lowercase().contains("space"), "{e}");
    assert_eq!(snapshot(&heldout()), before);
    assert_eq!(
        std::fs::read_dir(&disk.0).unwrap().count(),
        0,
        "temporaries left"
    );
    // In place on an .h5ad that fits once but not twice (the edit goes through a copy).
    let h5 = disk.0.join("in.h5ad");
    std::fs::copy(h5ad_fixture(), &h5).unwrap();
    let filler = disk.0.join("filler");
    let free = 256 * 1024 - std::fs::metadata(&h5).unwrap().len() as usize - 16 * 1024;
    std::fs::write(&filler, vec![0u8; free]).unwrap();
    let before = std::fs::read(&h5).unwrap();
    let e = add_obs_columns(&h5, &columns(n_obs(&h5)), &AddColumnsOptions::default()).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("space"), "{e}");
    assert_eq!(std::fs::read(&h5).unwrap(), before, "the input changed");
    let mut left: Vec<String> = std::fs::read_dir(&disk.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["filler", "in.h5ad"], "temporaries left");
}

#[test]
fn an_unreadable_chunk_mid_read_fails_without_output() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zarr");
    copy_tree(&heldout(), &input);
    // The last chunk of X/data becomes a directory: reading it fails after the first ones.
    let chunks = input.join("X/data");
    let mut names: Vec<u64> = std::fs::read_dir(&chunks)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
        .collect();
    names.sort_unstable();
    let last = chunks.join(names.last().unwrap().to_string());
    std::fs::remove_file(&last).unwrap();
    std::fs::create_dir(&last).unwrap();
    let store = AnnDataStore::open(&input).unwrap();
    let mut m = store.matrix(&instructcell::ReadOptions::default()).unwrap();
    let mut rows = CsrRows::new(instructcell::RowSource::n_cols(&m));
    let n = instructcell::RowSource::n_rows(&m);
    let first = instructcell::RowSource::read_rows(&mut m, 0..1, &mut rows);
    let whole = instructcell::RowSource::read_rows(&mut m, 0..n, &mut rows);
    assert!(first.is_ok() || names.len() == 1, "{first:?}");
    let e = whole.unwrap_err();
    assert!(
        matches!(
            e,
            instructcell::Error::Store { .. } | instructcell::Error::Io { .. }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("X/data"), "{e}");
}
