//! The bundled `pbmc-small` model (feature `bundled-model`), for users of the crate from
//! crates.io, whose source has no `onnx/models/`.
//!
//! Its files come from two data crates (`instructcell-model-pbmc-small`: fp32 graphs and shared
//! files; `instructcell-model-pbmc-small-int8`: int8 graphs; each under crates.io's size limit)
//! compiled into the program. [`package_dir`] writes them out once as an ordinary package
//! directory in the user's cache and returns its path; every later call, from any process,
//! finds it there (the manifest and every file's size checked; the checksums are checked when
//! a model loads).
//!
//! ```no_run
//! # fn main() -> instructcell::Result<()> {
//! let dir = instructcell::bundled::package_dir()?;
//! let model = instructcell::Model::load(dir, &instructcell::ModelOptions::default())?;
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use crate::package::{sha256_hex, Int8Weights, ModelPackage, Precision};
use crate::{Error, Result};

/// The bundled package's name (the directory name's stem).
pub const NAME: &str = "pbmc-small";

/// Every file of the bundled package: its path inside the package directory and its bytes.
pub fn files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    instructcell_model_pbmc_small::FILES
        .iter()
        .chain(instructcell_model_pbmc_small_int8::FILES)
        .copied()
}

/// The directory the bundled package is written into: `$INSTRUCTCELL_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/instructcell`, else `$HOME/.cache/instructcell`, else the system's
/// temporary directory; inside it, `pbmc-small-` and the first 16 hex digits of the
/// manifest's SHA-256, so two versions of the package never share a directory.
pub fn default_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("INSTRUCTCELL_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("instructcell")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("instructcell")))
        .unwrap_or_else(|| std::env::temp_dir().join("instructcell"));
    base.join(format!("{NAME}-{}", &sha256_hex(manifest_bytes())[..16]))
}

/// Writes the bundled package into [`default_dir`] unless a complete, unmodified copy is
/// already there, and returns that directory.
///
/// # Errors
/// [`Error::Io`] when the cache directory cannot be created or written;
/// [`Error::Package`] when the written copy does not verify (a damaged build).
pub fn package_dir() -> Result<PathBuf> {
    let dir = default_dir();
    write_to(&dir)?;
    Ok(dir)
}

/// Writes the bundled package into `dir` (created with its parents) unless a complete copy is
/// already there: the same manifest and every file of its size. The files are written into a
/// temporary sibling directory, checked (size and SHA-256 of every fp32 and int8 file against
/// the manifest) and renamed in, so a reader never sees half a package; a copy missing a file
/// or holding one of another size is replaced. (A same-size change is caught by the checksums
/// [`Model::load`](crate::Model::load) verifies for the precision it loads.)
///
/// # Errors
/// As [`package_dir`].
pub fn write_to(dir: &Path) -> Result<()> {
    if is_complete(dir) {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    crate::io::write_dir_atomic(dir, |tmp| {
        write_files(tmp)?;
        verify(tmp)
    })
}

/// Whether `dir` holds the bundled manifest and every bundled file at its size: cheap enough
/// for every start of a program.
fn is_complete(dir: &Path) -> bool {
    std::fs::read(dir.join("manifest.json")).is_ok_and(|m| m == manifest_bytes())
        && files().all(|(rel, bytes)| {
            std::fs::metadata(dir.join(rel))
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        })
}

/// Checks that `dir` holds the bundled package: the same manifest, and every fp32 and int8
/// file of the right size and SHA-256.
fn verify(dir: &Path) -> Result<()> {
    let manifest = dir.join("manifest.json");
    let on_disk = std::fs::read(&manifest).map_err(|e| Error::io(&manifest, e))?;
    if on_disk != manifest_bytes() {
        return Err(Error::Package {
            path: manifest,
            problem: "not the bundled package's manifest".into(),
        });
    }
    let package = ModelPackage::open(dir)?;
    package.verify(Precision::Fp32)?;
    for weights in [Int8Weights::Signed, Int8Weights::Unsigned] {
        package.verify_in(Precision::Int8, Some(weights))?;
    }
    Ok(())
}

fn write_files(root: &Path) -> Result<()> {
    for (rel, bytes) in files() {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

fn manifest_bytes() -> &'static [u8] {
    files()
        .find(|(rel, _)| *rel == "manifest.json")
        .map_or(&[][..], |(_, bytes)| bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_package_that_verifies_and_replaces_a_damaged_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache").join("pbmc-small");
        write_to(&dir).unwrap();
        ModelPackage::open(&dir)
            .unwrap()
            .verify(Precision::Int8)
            .unwrap();
        assert_eq!(files().count(), count_files(&dir));
        // Damage one graph: the next call rewrites the copy.
        let graph = dir.join("fp32/decoder.onnx");
        std::fs::write(&graph, b"not a graph").unwrap();
        assert!(verify(&dir).is_err());
        write_to(&dir).unwrap();
        verify(&dir).unwrap();
        // No temporary directory is left beside it.
        assert_eq!(names_in(dir.parent().unwrap()), ["pbmc-small"]);
    }

    #[test]
    fn concurrent_writers_and_a_file_in_the_way_end_with_one_complete_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pbmc-small");
        std::fs::write(&dir, b"a file where the package goes").unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| write_to(&dir).unwrap());
            }
        });
        verify(&dir).unwrap();
        assert_eq!(names_in(tmp.path()), ["pbmc-small"]);
    }

    #[test]
    fn default_dir_is_named_after_the_manifest() {
        let name = default_dir()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("pbmc-small-"), "{name}");
        assert_eq!(name.len(), "pbmc-small-".len() + 16);
    }

    fn names_in(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn count_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    count_files(&e.path())
                } else {
                    1
                }
            })
            .sum()
    }
}
