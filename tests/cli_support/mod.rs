//! Running the `instructcell` binary in integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled held-out PBMC store.
pub fn heldout() -> PathBuf {
    root().join("examples/data/pbmc68k_heldout.zarr")
}

/// The binary as a command, run from the crate root.
pub fn cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_instructcell"));
    c.current_dir(root());
    c
}

/// Runs the binary with `args`.
pub fn run(args: &[&str]) -> Output {
    cmd().args(args).output().expect("the binary runs")
}

/// Runs with path arguments too.
pub fn run_os<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    cmd().args(args).output().expect("the binary runs")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts success, showing stderr otherwise.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(o)
    );
}

/// `true` (after a message) when ONNX Runtime cannot be found and the tests are not told to
/// require it: the callers then skip.
pub fn skip_without_ort() -> bool {
    let o = run(&["versions"]);
    if o.status.code() == Some(5) && std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() {
        eprintln!("skipping: ONNX Runtime not installed");
        return true;
    }
    ok(&o);
    false
}

/// Asserts that `o` failed with `code` and a one-line `error:` message containing `needle`.
pub fn fails(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in: {err}"));
    assert!(
        err.lines().filter(|l| l.starts_with("error:")).count() == 1,
        "one error line expected: {err}"
    );
    assert!(line.contains(needle), "'{needle}' not in: {line}");
}

/// Every entry of `dir` (names only), sorted: to check that nothing was left behind.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every file under `dir` with its bytes, to compare stores.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut es: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok())
            .collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push((
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    if dir.is_dir() {
        walk(dir, dir, &mut out);
    } else {
        out.push((PathBuf::new(), std::fs::read(dir).unwrap()));
    }
    out
}
