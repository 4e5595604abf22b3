//! File integrity: size and SHA-256 against the manifest.

use super::manifest::FileEntry;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Hex SHA-256 of a file, streamed in 1 MiB blocks.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or read.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of bytes in memory.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that `entry` exists under `root` with the recorded size and checksum.
///
/// # Errors
/// [`Error::Package`] naming the file and what differs.
pub fn verify_entry(root: &Path, entry: &FileEntry) -> Result<()> {
    let path = root.join(&entry.file);
    let problem = |p: String| Error::Package {
        path: path.clone(),
        problem: p,
    };
    if entry.file.contains("..") || Path::new(&entry.file).is_absolute() {
        return Err(problem("file path escapes the package directory".into()));
    }
    let meta = std::fs::metadata(&path).map_err(|_| problem("missing".into()))?;
    if meta.len() != entry.bytes {
        return Err(problem(format!(
            "size {} bytes, manifest says {} (truncated or replaced file)",
            meta.len(),
            entry.bytes
        )));
    }
    let got = sha256_file(&path)?;
    if !got.eq_ignore_ascii_case(&entry.sha256) {
        return Err(problem(format!(
            "sha256 {got} does not match the manifest's {} (modified file)",
            entry.sha256
        )));
    }
    Ok(())
}
