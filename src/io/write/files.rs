//! Plain file and directory copies (kernel copies, reflinks where the file system has them,
//! never hard links), flushed to disk, for the copies of stores.

use std::fs::{self, File, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Copies the contents of `src` into the new file `dst` with the platform's kernel copy (on
/// Linux `copy_file_range`, a reflink where the filesystem supports it), not yet flushed to
/// disk (see [`sync_file`]). Returns `src`'s permissions, for the caller to give `dst` once it
/// has finished writing it.
pub(crate) fn copy_file(src: &Path, dst: &Path) -> io::Result<Permissions> {
    let mut from = File::open(src)?;
    let mode = from.metadata()?.permissions();
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)?;
    io::copy(&mut from, &mut to)?;
    Ok(mode)
}

/// Flushes the file at `path` to disk.
pub(crate) fn sync_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    let f = File::open(path)?;
    #[cfg(not(unix))]
    let f = fs::OpenOptions::new().write(true).open(path)?;
    f.sync_all()
}

/// Copies the contents of directory `from` into the existing directory `to`, every file
/// flushed to disk and given its source's permissions. Symbolic links to files are copied as
/// the files they point to; links to directories and special files are refused.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let mut copied = Vec::new();
    copy_entries(from, to, &mut copied)?;
    // Flushed after all the copies, not each after its own: the kernel writes them back
    // meanwhile, and the flushes share journal commits.
    for (file, mode) in copied {
        sync_file(&file).map_err(|e| Error::io(&file, e))?;
        fs::set_permissions(&file, mode).map_err(|e| Error::io(&file, e))?;
    }
    Ok(())
}

/// Copies the entries of `from` into `to`, noting each copied file and its source's mode.
fn copy_entries(from: &Path, to: &Path, copied: &mut Vec<(PathBuf, Permissions)>) -> Result<()> {
    for entry in fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let meta = fs::metadata(&src).map_err(|e| Error::io(&src, e))?;
        let link = entry
            .file_type()
            .map_err(|e| Error::io(&src, e))?
            .is_symlink();
        if meta.is_dir() && !link {
            fs::create_dir(&dst).map_err(|e| Error::io(&dst, e))?;
            copy_entries(&src, &dst, copied)?;
        } else if meta.is_file() {
            let mode = copy_file(&src, &dst).map_err(|e| Error::io(&src, e))?;
            copied.push((dst, mode));
        } else {
            return Err(Error::InvalidArgument(format!(
                "{} is a link to a directory or a special file; only plain files and \
                 directories are copied",
                src.display()
            )));
        }
    }
    Ok(())
}

/// Flushes every file at or under `path` to disk.
pub(crate) fn sync_tree(path: &Path) -> Result<()> {
    if path.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            sync_tree(&entry.map_err(|e| Error::io(path, e))?.path())?;
        }
        Ok(())
    } else {
        sync_file(path).map_err(|e| Error::io(path, e))
    }
}
