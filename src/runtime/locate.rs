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

/// Everything the search looks at, captured once so the search itself is a pure function.
struct SearchEnv {
    ort_dylib_path: Option<PathBuf>,
    exe_dir: Option<PathBuf>,
    cwd: Option<PathBuf>,
    python_prefixes: Vec<(&'static str, PathBuf)>,
    library_dirs: Vec<(&'static str, PathBuf)>,
}

impl SearchEnv {
    fn from_process() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut python_prefixes = Vec::new();
        for name in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let Some(p) = var(name) {
                python_prefixes.push(("active Python environment", p));
            }
        }
        if let Some(home) = var("HOME") {
            python_prefixes.push(("user Python packages", home.join(".local")));
        }
        for prefix in ["/usr/local", "/usr"] {
            python_prefixes.push(("system Python packages", PathBuf::from(prefix)));
        }
        let mut library_dirs = Vec::new();
        if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
            for d in std::env::split_paths(&paths) {
                library_dirs.push(("LD_LIBRARY_PATH", d));
            }
        }
        for d in ["/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu"] {
            library_dirs.push(("system library directory", PathBuf::from(d)));
        }
        SearchEnv {
            ort_dylib_path: var("ORT_DYLIB_PATH"),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
            cwd: std::env::current_dir().ok(),
            python_prefixes,
            library_dirs,
        }
    }

    fn candidates(&self) -> Vec<Candidate> {
        let mut c = Vec::new();
        let add_prefix = |what: &'static str, prefix: &Path, c: &mut Vec<Candidate>| {
            for d in python_capi_dirs(prefix) {
                c.push(Candidate {
                    what,
                    dir_or_file: d,
                });
            }
        };
        if let Some(exe_dir) = &self.exe_dir {
            c.push(Candidate {
                what: "next to the executable",
                dir_or_file: exe_dir.clone(),
            });
            c.push(Candidate {
                what: "lib/ next to the executable",
                dir_or_file: exe_dir.join("lib"),
            });
        }
        if let Some(cwd) = &self.cwd {
            // Project-local Python environments, as created by this crate's set-up scripts.
            for venv in ["target/venv-data", ".venv", "venv"] {
                add_prefix("project-local Python environment", &cwd.join(venv), &mut c);
            }
        }
        for (what, prefix) in &self.python_prefixes {
            add_prefix(what, prefix, &mut c);
        }
        for (what, dir) in &self.library_dirs {
            c.push(Candidate {
                what,
                dir_or_file: dir.clone(),
            });
        }
        c
    }

    fn locate(&self) -> Result<PathBuf> {
        let mut searched = Vec::new();
        match &self.ort_dylib_path {
            Some(p) if p.is_file() => return Ok(p.clone()),
            Some(p) if p.is_dir() => {
                if let Some(f) = lib_in_dir(p) {
                    return Ok(f);
                }
                searched.push(format!(
                    "ORT_DYLIB_PATH={} (a directory without {}*)",
                    p.display(),
                    lib_stem()
                ));
            }
            Some(p) => searched.push(format!("ORT_DYLIB_PATH={} (does not exist)", p.display())),
            None => searched.push("ORT_DYLIB_PATH (not set)".to_string()),
        }
        for cand in self.candidates() {
            if let Some(f) = lib_in_dir(&cand.dir_or_file) {
                return Ok(f);
            }
            searched.push(format!("{} ({})", cand.dir_or_file.display(), cand.what));
        }
        Err(Error::OnnxRuntimeNotFound { searched })
    }
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
    SearchEnv::from_process().locate()
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

    fn empty_env(root: &Path) -> SearchEnv {
        SearchEnv {
            ort_dylib_path: None,
            exe_dir: Some(root.join("bin")),
            cwd: Some(root.join("project")),
            python_prefixes: vec![("active Python environment", root.join("venv"))],
            library_dirs: vec![("system library directory", root.join("lib"))],
        }
    }

    #[test]
    fn nothing_found_lists_every_place_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("venv/lib/python3.11")).unwrap();
        let mut env = empty_env(tmp.path());
        env.ort_dylib_path = Some(tmp.path().join("nope.so"));
        let err = env.locate().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("nope.so (does not exist)"), "{msg}");
        assert!(msg.contains("next to the executable"), "{msg}");
        assert!(msg.contains("active Python environment"), "{msg}");
        assert!(msg.contains("system library directory"), "{msg}");
        assert!(msg.contains("pip install onnxruntime==1.32.0"), "{msg}");
    }

    #[test]
    fn explicit_path_and_search_order() {
        let tmp = tempfile::tempdir().unwrap();
        let mut env = empty_env(tmp.path());
        // A library in the system directory is found...
        std::fs::create_dir_all(tmp.path().join("lib")).unwrap();
        std::fs::write(tmp.path().join("lib/libonnxruntime.so"), b"").unwrap();
        assert_eq!(
            env.locate().unwrap(),
            tmp.path().join("lib/libonnxruntime.so")
        );
        // ...but a Python environment comes first...
        let capi = tmp
            .path()
            .join("venv/lib/python3.12/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        assert_eq!(env.locate().unwrap(), capi.join("libonnxruntime.so.1.32.0"));
        // ...and ORT_DYLIB_PATH (a directory here) before everything.
        let own = tmp.path().join("mine");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("libonnxruntime.so.1.20.1"), b"").unwrap();
        env.ort_dylib_path = Some(own.clone());
        assert_eq!(env.locate().unwrap(), own.join("libonnxruntime.so.1.20.1"));
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
