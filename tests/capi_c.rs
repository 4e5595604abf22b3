//! Builds the C example (`examples/c/annotate.c`: options, load, store and CSR inputs, every
//! task) and the C error test (`tests/c/errors.c`: every error status that can be provoked,
//! every accessor on NULL and out of range, every `*_free` on NULL, out-pointers NULL after a
//! failure) against the library with the system C compiler and runs them on the bundled model
//! and data, plainly and built with AddressSanitizer + UndefinedBehaviorSanitizer (leak
//! checking on). Each exits non-zero on any failure; a sanitizer report fails the test.
#![cfg(feature = "capi")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Latest modification time of any file below `dir`.
fn newest(dir: &std::path::Path) -> std::time::SystemTime {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                newest(&p)
            } else {
                e.metadata().and_then(|m| m.modified()).unwrap()
            }
        })
        .max()
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// The directory holding the freshly built cdylib, or `None` (skip) without ONNX Runtime.
///
/// Derived from this test's own path, so that it follows `CARGO_TARGET_DIR`, `--target` and
/// the profile: `<target dir>[/<triple>]/<profile>/deps/<this test>` → `…/<profile>`, where
/// cargo puts the cdylib.
fn library_dir(root: &Path) -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    let lib_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target dir>/<profile>/deps")
        .to_path_buf();
    let lib = lib_dir.join("libinstructcell.so");
    let hint = "build it first, with the same target directory and profile: \
                cargo build --features capi --lib (cargo test does not build cdylibs)";
    let lib_time = std::fs::metadata(&lib)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing; {hint}", lib.display()));
    let newest_source = newest(&root.join("src"));
    assert!(
        lib_time >= newest_source,
        "{} is older than src/; {hint}",
        lib.display()
    );
    if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none()
        && instructcell::runtime::locate_onnxruntime().is_err()
    {
        eprintln!("skipping: ONNX Runtime not installed");
        return None;
    }
    Some(lib_dir)
}

/// Compiles `source` against the library into `out` with `flags`.
fn compile(root: &Path, lib_dir: &Path, source: &str, out: &Path, flags: &[&str]) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg(root.join(source))
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-L{}", lib_dir.display()))
        .args(["-linstructcell", "-lm", "-Wall", "-Wextra", "-Werror"])
        .args(flags)
        .arg("-o")
        .arg(out)
        .status()
        .expect("a C compiler");
    assert!(status.success(), "{cc} failed on {source}");
}

/// Runs `bin` with `args`; asserts success and no sanitizer report; returns stdout.
fn run_c(bin: &Path, lib_dir: &Path, args: &[PathBuf]) -> String {
    let run = Command::new(bin)
        .args(args)
        .env("LD_LIBRARY_PATH", lib_dir)
        // Leaks, and undefined behaviour, are failures; the report goes to stderr.
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{} failed:\n{stdout}\n{stderr}",
        bin.display()
    );
    assert!(
        !stderr.contains("Sanitizer") && !stderr.contains("runtime error:"),
        "sanitizer report from {}:\n{stderr}",
        bin.display()
    );
    stdout
}

/// Plain, and with AddressSanitizer + UndefinedBehaviorSanitizer.
const BUILDS: [(&str, &[&str]); 2] = [
    ("plain", &[]),
    (
        "asan",
        &[
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer",
            "-g",
        ],
    ),
];

#[test]
fn c_example_builds_and_runs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(lib_dir) = library_dir(&root) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    for (name, flags) in BUILDS {
        let bin = out.path().join(format!("annotate_{name}"));
        compile(&root, &lib_dir, "examples/c/annotate.c", &bin, flags);
        let stdout = run_c(
            &bin,
            &lib_dir,
            &[
                root.join("tests/data/tiny-random"),
                root.join("examples/data/pbmc68k_heldout.zarr"),
            ],
        );
        assert!(
            stdout.contains("all C API checks passed"),
            "{name}: {stdout}"
        );
        assert!(stdout.contains("annotated 178 cells"), "{name}: {stdout}");
    }
}

#[test]
fn c_error_statuses_and_null_frees() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(lib_dir) = library_dir(&root) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    for (name, flags) in BUILDS {
        let bin = out.path().join(format!("errors_{name}"));
        compile(&root, &lib_dir, "tests/c/errors.c", &bin, flags);
        let stdout = run_c(
            &bin,
            &lib_dir,
            &[
                root.join("tests/data/tiny-random"),
                root.join("examples/data/pbmc68k_heldout.zarr"),
                root.join("examples/data/pbmc68k_genes.txt"),
                root.join("tests/data/fixtures/tenx_v3"),
            ],
        );
        assert!(
            stdout.contains("all C API error checks passed"),
            "{name}: {stdout}"
        );
    }
}
