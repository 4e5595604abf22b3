//! Names for temporary siblings, and the clean-up of those a killed writer left behind.
//!
//! A temporary is named `.{name}.{tag}-{host}-{pid}-{n}` beside `{name}`. Before a process
//! first writes into a directory it removes the temporaries of that directory whose writer was
//! a process of this host that no longer runs (a writer on another host of a shared file
//! system, or one still running, is never touched). A `.{name}.old-…` left where `{name}` is
//! missing holds the original of a replacement that was cut short: it is moved back instead.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The tags a temporary can carry: a file being written, a new element, a replaced original.
const TAGS: [&str; 3] = ["tmp", "new", "old"];

/// This host's name, reduced to characters that are safe in a file name.
fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let raw = read_host_name().unwrap_or_default();
        let clean: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if clean.is_empty() {
            "host".into()
        } else {
            clean
        }
    })
}

#[cfg(unix)]
fn read_host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for `buf.len()` bytes; gethostname writes at most that many.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(not(unix))]
fn read_host_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// Whether process `pid` of this host still runs (or might: unknown counts as running).
#[cfg(unix)]
fn running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn running(_pid: u32) -> bool {
    true
}

/// A dot-prefixed sibling of `path` that no other writer (thread or process) will pick.
///
/// Dot names are skipped by zarr readers when listing members, so leftovers stay invisible;
/// the first call for a directory also clears that directory's dead leftovers.
pub(crate) fn temp_sibling(path: &Path, tag: &str) -> PathBuf {
    if let Some(dir) = path.parent() {
        sweep_once(dir);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(
        ".{name}.{tag}-{}-{}-{n}",
        host(),
        std::process::id()
    ))
}

/// A leftover's parts: the element it belongs to, its tag and its writer's process id.
#[derive(Debug, PartialEq)]
struct Leftover<'a> {
    name: &'a str,
    tag: &'a str,
    pid: u32,
}

/// Reads a file name written by [`temp_sibling`] on this host; `None` for any other name.
fn parse(file_name: &str) -> Option<Leftover<'_>> {
    let rest = file_name.strip_prefix('.')?;
    let mut parts = rest.rsplitn(3, '-');
    let n = parts.next()?;
    let pid = parts.next()?;
    let head = parts.next()?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pid: u32 = pid.parse().ok()?;
    let head = head.strip_suffix(host())?.strip_suffix('-')?;
    let (name, tag) = head.rsplit_once('.')?;
    (!name.is_empty() && TAGS.contains(&tag)).then_some(Leftover { name, tag, pid })
}

/// Clears `dir`'s dead leftovers, once per directory per process.
fn sweep_once(dir: &Path) {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let key = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.to_path_buf()
    };
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|p| p.into_inner());
        if !swept.get_or_insert_with(HashSet::new).insert(key.clone()) {
            return;
        }
    }
    sweep(&key);
}

/// Removes (or, for a replaced original whose element is missing, restores) every temporary
/// in `dir` left by a process of this host that is gone. Best effort: what cannot be removed
/// stays, and nothing here fails a write.
pub(crate) fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some(left) = parse(file_name) else {
            continue;
        };
        if left.pid == me || running(left.pid) {
            continue;
        }
        let path = entry.path();
        let element = dir.join(left.name);
        if left.tag == "old" && element.symlink_metadata().is_err() {
            let _ = std::fs::rename(&path, &element);
        } else {
            let _ = remove_any(&path);
        }
    }
}

/// Removes a file or a directory tree.
pub(crate) fn remove_any(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        let p = temp_sibling(Path::new("/nowhere/obs/.zattrs"), "tmp");
        let name = p.file_name().unwrap().to_str().unwrap();
        let left = parse(name).unwrap();
        assert_eq!(left.name, ".zattrs");
        assert_eq!(left.tag, "tmp");
        assert_eq!(left.pid, std::process::id());
        assert_eq!(parse(".x.h5ad.partial-1-2"), None);
        assert_eq!(
            parse(".x.h5ad.new-1-2"),
            None,
            "no host: another version's name"
        );
        assert_eq!(parse(&format!(".x.new-{}-1-", host())), None);
        assert_eq!(parse(&format!("..new-{}-1-2", host())), None);
        assert_eq!(
            parse(&format!(".a.b.new-{}-17-3", host())),
            Some(Leftover {
                name: "a.b",
                tag: "new",
                pid: 17
            })
        );
    }

    #[test]
    fn sweep_removes_dead_leftovers_and_restores_originals() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A pid no process has: above the kernel's pid_max (4194304 at most on Linux).
        let dead = 4_194_400u32;
        let h = host();
        std::fs::create_dir(d.join(format!(".col.new-{h}-{dead}-0"))).unwrap();
        std::fs::write(d.join(format!("..zattrs.tmp-{h}-{dead}-1")), b"{").unwrap();
        std::fs::write(d.join(format!(".gone.old-{h}-{dead}-2")), b"original").unwrap();
        std::fs::write(d.join("kept"), b"new").unwrap();
        std::fs::write(d.join(format!(".kept.old-{h}-{dead}-3")), b"original").unwrap();
        let live = format!(".live.new-{h}-{}-4", std::process::id());
        std::fs::write(d.join(&live), b"").unwrap();
        let other_host = format!(".col.new-elsewhere{h}x-{dead}-5");
        std::fs::write(d.join(&other_host), b"").unwrap();
        std::fs::write(d.join(".hidden"), b"").unwrap();
        sweep(d);
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want = vec![
            ".hidden".to_string(),
            live,
            other_host,
            "gone".into(),
            "kept".into(),
        ];
        want.sort();
        assert_eq!(left, want);
        assert_eq!(std::fs::read(d.join("gone")).unwrap(), b"original");
        assert_eq!(std::fs::read(d.join("kept")).unwrap(), b"new");
    }
}
