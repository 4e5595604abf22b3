"""Temporary siblings of a package directory, their clean-up after a killed export, and the
one-step replacement of an existing package.

A temporary is named ``.{name}.{tag}-{host}-{pid}-{n}`` beside ``{name}``. Before an export
first writes into a directory it removes the temporaries there whose writer was a process of
this host that no longer runs; a ``.{name}.old-...`` left where ``{name}`` is missing holds the
original of a replacement cut short, and is moved back instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import itertools
import os
import re
import shutil
import socket
from pathlib import Path

TAGS = ("partial", "old")
_counter = itertools.count()
_swept: set[Path] = set()
RENAME_EXCHANGE = 2


def host() -> str:
    """This host's name, reduced to characters that are safe in a file name."""
    clean = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64]
    return clean or "host"


def temp_sibling(path: Path, tag: str) -> Path:
    """A dot-prefixed sibling of ``path`` no other writer picks; clears the directory's dead leftovers first."""
    sweep_once(path.parent)
    return path.with_name(f".{path.name}.{tag}-{host()}-{os.getpid()}-{next(_counter)}")


def parse(file_name: str) -> tuple[str, str, int] | None:
    """``(name, tag, pid)`` of a temporary written on this host; ``None`` for any other name."""
    m = re.fullmatch(rf"\.(.+)\.({'|'.join(TAGS)})-{re.escape(host())}-(\d+)-(\d+)", file_name)
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


def running(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (unknown counts as running)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_once(directory: Path) -> None:
    key = directory.resolve()
    if key not in _swept:
        _swept.add(key)
        sweep(directory)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep(directory: Path) -> None:
    """Removes (or restores, for a replaced original whose package is missing) the temporaries
    in ``directory`` of processes of this host that are gone. Best effort."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        left = parse(entry.name)
        if left is None:
            continue
        name, tag, pid = left
        if pid == os.getpid() or running(pid):
            continue
        target = directory / name
        try:
            if tag == "old" and not os.path.lexists(target):
                os.rename(entry, target)
            else:
                _remove(entry)
        except OSError:
            pass


def _exchange(a: Path, b: Path) -> bool:
    """Swaps ``a`` and ``b`` in one step (Linux ``renameat2``); ``False`` where that is not possible."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish(tmp: Path, out: Path) -> None:
    """Moves the finished directory ``tmp`` to ``out``, replacing an existing ``out`` in one step
    where the system allows it; otherwise the original is moved aside first (and put back by
    the next export if the process dies between the two renames)."""
    if not os.path.lexists(out):
        os.rename(tmp, out)
        return
    if _exchange(tmp, out):
        _remove(tmp)  # now the original
        return
    old = temp_sibling(out, "old")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    _remove(old)
