//! Finding the ONNX Runtime shared library on this machine.
//!
//! The crate never downloads anything: it loads a library that is already installed. The search
//! order is documented on [`locate_onnxruntime`].

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// File name stem of the ONNX Runtime library on this platform (`libonnxruntime.so` on Linux).
fn lib_stem() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Whether `name` is an ONNX Runtime core library file name (versioned or not), excluding the
/// provider plug-ins such as `libonnxruntime_providers_cuda.so`.
fn is_core_lib_name(name: &str) -> bool {
    let stem = lib_stem();
    name == stem || (name.starts_with(&stem) && name[stem.len()..].starts_with('.'))
}

/// The core library inside `dir`, if any. A versioned file (`libonnxruntime.so.1.32.0`) is
/// accepted, because the Python wheels ship only that.
fn lib_in_dir(dir: &Path) -> Option<PathBuf> {
    let exact = dir.join(lib_stem());
    if exact.is_file() {
        return Some(exact);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(is_core_lib_name))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    // Highest version last when sorted by name; take it for determinism.
    found.sort();
    found.pop()
}

/// `<prefix>/lib/python3.*/site-packages/onnxruntime/capi` directories under `prefix`.
fn python_capi_dirs(prefix: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = std::fs::read_dir(prefix.join(lib)) else {
            continue;
        };
        let mut pys: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
            .map(|e| e.path())
            .collect();
        pys.sort();
        for py in pys.into_iter().rev() {
            for site in ["site-packages", "dist-packages"] {
                out.push(py.join(site).join("onnxruntime").join("capi"));
            }
        }
    }
    out
}

/// One candidate location, with a description for the error message.
struct Candidate {
    what: &'static str,
    dir_or_file: PathBuf,
}

fn candidates() -> Vec<Candidate> {
    let mut c = Vec::new();
    let add_prefix = |what: &'static str, prefix: PathBuf, c: &mut Vec<Candidate>| {
        for d in python_capi_dirs(&prefix) {
            c.push(Candidate {
                what,
                dir_or_file: d,
            });
        }
    };
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        c.push(Candidate {
            what: "next to the executable",
            dir_or_file: exe_dir.clone(),
        });
        c.push(Candidate {
            what: "lib/ next to the executable",
            dir_or_file: exe_dir.join("lib"),
        });
    }
    if let Ok(cwd) = std::env::current_dir() {
        // Project-local Python environments, as created by this crate's set-up scripts.
        for venv in ["target/venv-data", ".venv", "venv"] {
            add_prefix("project-local Python environment", cwd.join(venv), &mut c);
        }
    }
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            add_prefix("active Python environment", PathBuf::from(p), &mut c);
        }
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        add_prefix(
            "user Python packages",
            PathBuf::from(&home).join(".local"),
            &mut c,
        );
    }
    for prefix in ["/usr/local", "/usr"] {
        add_prefix("system Python packages", PathBuf::from(prefix), &mut c);
    }
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        for d in std::env::split_paths(&paths) {
            c.push(Candidate {
                what: "LD_LIBRARY_PATH",
                dir_or_file: d,
            });
        }
    }
    for d in ["/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu"] {
        c.push(Candidate {
            what: "system library directory",
            dir_or_file: PathBuf::from(d),
        });
    }
    c
}

/// Finds the ONNX Runtime shared library, without loading it.
///
/// Search order (first hit wins):
/// 1. `ORT_DYLIB_PATH` — a library file, or a directory containing one;
/// 2. the executable's directory and its `lib/` subdirectory;
/// 3. the `onnxruntime` Python package (`onnxruntime/capi/`) in project-local environments of the
///    working directory (`target/venv-data`, `.venv`, `venv`), then in `$VIRTUAL_ENV`,
///    `$CONDA_PREFIX`, `~/.local`, `/usr/local` and `/usr`;
/// 4. `LD_LIBRARY_PATH`, then `/usr/local/lib`, `/usr/lib`, `/usr/lib/x86_64-linux-gnu`.
///
/// # Errors
/// [`Error::OnnxRuntimeNotFound`] listing every place searched, with the fix.
pub fn locate_onnxruntime() -> Result<PathBuf> {
    let mut searched = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        if p.is_dir() {
            if let Some(f) = lib_in_dir(&p) {
                return Ok(f);
            }
            searched.push(format!(
                "ORT_DYLIB_PATH={} (a directory without {}*)",
                p.display(),
                lib_stem()
            ));
        } else {
            searched.push(format!("ORT_DYLIB_PATH={} (does not exist)", p.display()));
        }
    } else {
        searched.push("ORT_DYLIB_PATH (not set)".to_string());
    }
    for cand in candidates() {
        if let Some(f) = lib_in_dir(&cand.dir_or_file) {
            return Ok(f);
        }
        searched.push(format!("{} ({})", cand.dir_or_file.display(), cand.what));
    }
    Err(Error::OnnxRuntimeNotFound { searched })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_names_exclude_provider_plugins() {
        assert!(is_core_lib_name("libonnxruntime.so"));
        assert!(is_core_lib_name("libonnxruntime.so.1.32.0"));
        assert!(!is_core_lib_name("libonnxruntime_providers_cuda.so"));
        assert!(!is_core_lib_name("libonnxruntime_providers_shared.so"));
        assert!(!is_core_lib_name("libonnxruntime.sox"));
    }

    #[test]
    fn finds_versioned_library_in_a_python_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let capi = tmp
            .path()
            .join("lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        let dirs = python_capi_dirs(tmp.path());
        let hit = dirs.iter().find_map(|d| lib_in_dir(d)).unwrap();
        assert_eq!(hit, capi.join("libonnxruntime.so.1.32.0"));
    }
}
