//! Temporary names and renames: new data is written beside its destination and moved into
//! place in one rename, so a crash never leaves a half-written element under its real name.

use std::path::{Path, PathBuf};

use super::problem::{StoreCtx, StoreProblem};
use crate::error::{Error, Result};

pub(crate) use super::leftovers::{remove_any, temp_sibling};

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

/// Creates the directory `dest` (replacing what is there) from what `fill` writes into a
/// temporary sibling, published in one step by [`publish`]; on any error nothing of it stays.
/// (The bundled model's cache copy is its one user.)
#[cfg(feature = "bundled-model")]
pub(crate) fn write_dir_atomic(dest: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let mut tmp = TempDir::create(temp_sibling(dest, "tmp"))?;
    fill(tmp.path())?;
    publish(tmp.path(), dest, true, &StoreCtx::new(dest), "")?;
    tmp.disarm();
    sync_parent(dest);
    Ok(())
}

/// Moves the finished `tmp` to `dest`. An existing `dest` is an error unless `overwrite`, in
/// which case the two are swapped in one step where the system can (Linux `renameat2` with
/// `RENAME_EXCHANGE`; a file simply renamed over a file) and the original deleted after. Where
/// it cannot, the original is first moved aside and deleted only after `tmp` is in place; a
/// kill between the two renames leaves it aside, and the next writer puts it back
/// (`leftovers::sweep`).
pub(crate) fn publish(
    tmp: &Path,
    dest: &Path,
    overwrite: bool,
    ctx: &StoreCtx,
    element: &str,
) -> Result<()> {
    let Ok(meta) = dest.symlink_metadata() else {
        return std::fs::rename(tmp, dest).map_err(|e| Error::io(dest, e));
    };
    if !overwrite {
        return Err(ctx.err(element, StoreProblem::AlreadyExists));
    }
    if exchange(tmp, dest).map_err(|e| Error::io(dest, e))? {
        // `tmp` now holds the original.
        return remove_any(tmp).map_err(|e| Error::io(tmp, e));
    }
    if !meta.is_dir() && !tmp.is_dir() {
        return std::fs::rename(tmp, dest).map_err(|e| Error::io(dest, e));
    }
    let old = temp_sibling(dest, "old");
    std::fs::rename(dest, &old).map_err(|e| Error::io(dest, e))?;
    if let Err(e) = std::fs::rename(tmp, dest) {
        // Put the original back: the caller asked for a replacement, not a loss.
        let _ = std::fs::rename(&old, dest);
        return Err(Error::io(dest, e));
    }
    remove_any(&old).map_err(|e| Error::io(&old, e))
}

/// Swaps `a` and `b` in one step; `Ok(false)` where the system or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both pointers are NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP | libc::EXDEV) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
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
