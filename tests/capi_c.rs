//! Builds the C example against the library with the system C compiler and runs it on the
//! bundled model and data. The example checks every status and exits non-zero on any failure.
#![cfg(feature = "capi")]

use std::path::PathBuf;
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

#[test]
fn c_example_builds_and_runs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // target/<profile>/deps/<this test> → target/<profile>, where cargo puts the cdylib.
    let exe = std::env::current_exe().unwrap();
    let lib_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let lib = lib_dir.join("libinstructcell.so");
    let hint =
        "build it first: cargo build --features capi --lib (cargo test does not build cdylibs)";
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
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let bin = out.path().join("annotate");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg(root.join("examples/c/annotate.c"))
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-L{}", lib_dir.display()))
        .args(["-linstructcell", "-lm", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&bin)
        .status()
        .expect("a C compiler");
    assert!(status.success(), "{cc} failed");
    let run = Command::new(&bin)
        .arg(root.join("tests/data/tiny-random"))
        .arg(root.join("examples/data/pbmc68k_heldout.zarr"))
        .env("LD_LIBRARY_PATH", &lib_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "C example failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all C API checks passed"), "{stdout}");
    assert!(stdout.contains("annotated 178 cells"), "{stdout}");
}
