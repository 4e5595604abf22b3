//! Temporary names and renames: new data is written beside its destination and moved into
//! place in one rename, so a crash never leaves a half-written element under its real name.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::problem::{StoreCtx, StoreProblem};
use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A dot-prefixed sibling of `path` that no other writer (thread or process) will pick.
///
/// Dot names are skipped by zarr readers when listing members, so leftovers stay invisible.
pub(crate) fn temp_sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{tag}-{}-{n}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let res = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        // Flush to disk before the rename publishes it, so a crash cannot publish an empty file.
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Removes a file or a directory tree.
pub(crate) fn remove_any(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// Moves the finished `tmp` to `dest`. An existing `dest` is an error unless `overwrite`, in
/// which case it is first moved aside (one rename) and deleted only after `tmp` is in place.
pub(crate) fn publish(
    tmp: &Path,
    dest: &Path,
    overwrite: bool,
    ctx: &StoreCtx,
    element: &str,
) -> Result<()> {
    let exists = dest.symlink_metadata().is_ok();
    if exists && !overwrite {
        return Err(ctx.err(element, StoreProblem::AlreadyExists));
    }
    let old = exists.then(|| temp_sibling(dest, "old"));
    if let Some(old) = &old {
        std::fs::rename(dest, old).map_err(|e| Error::io(dest, e))?;
    }
    if let Err(e) = std::fs::rename(tmp, dest) {
        if let Some(old) = &old {
            // Put the original back: the caller asked for a replacement, not a loss.
            let _ = std::fs::rename(old, dest);
        }
        return Err(Error::io(dest, e));
    }
    if let Some(old) = &old {
        remove_any(old).map_err(|e| Error::io(old, e))?;
    }
    Ok(())
}

/// Deletes a temporary directory when dropped, unless it was published.
pub(crate) struct TempDir {
    path: PathBuf,
    armed: bool,
}

impl TempDir {
    pub(crate) fn create(path: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(TempDir { path, armed: true })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the cleanup (the directory has been renamed away).
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Deletes a temporary file when dropped, unless it was published.
#[cfg(feature = "h5ad")]
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

#[cfg(feature = "h5ad")]
impl TempFile {
    /// Takes charge of `path` (which need not exist yet).
    pub(crate) fn claim(path: PathBuf) -> Self {
        TempFile { path, armed: true }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the cleanup (the file has been renamed away).
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

#[cfg(feature = "h5ad")]
impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Flushes a directory's entries (a rename inside it) to disk, where the platform allows it.
/// Best effort: the rename itself has already happened, so a failure here is not reported.
pub(crate) fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
