"""The data dir is the owner's alone: the folder 0700, every file in it 0600.

Whatever the umask: files are created with explicit modes (:func:`write_private`, the
SQLite file in storage/sql/engine.py), and a data dir left looser by an older version
or by hand is tightened at start, with a log line that names what changed.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("roleport.data_dir")

DIR_MODE = 0o700
FILE_MODE = 0o600


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (0600), atomically and durably: the new
    content is on disk before it replaces the old, and the rename is on disk before this
    returns. These files (the server key, the admin key pair) seal and open what the
    database holds: a power loss must not leave an empty one behind a committed database."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        data = memoryview(text.encode())
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    """Make the names in ``folder`` (a file created or renamed there) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (0700) if missing, and tighten it and everything in it."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tightened = tighten(path)
    if tightened:
        log.warning("tightened permissions in the data dir %s (group or others could read "
                    "them): %s", path.resolve(), ", ".join(tightened))
    return path


def tighten(root: Path) -> list[str]:
    """Make ``root`` and the folders under it 0700 and its files 0600 where they are
    looser; the paths changed (relative to ``root``, with their old mode). Symbolic links
    are neither followed nor changed."""
    changed = []
    for path, is_dir in _walk(root):
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        wanted = DIR_MODE if is_dir else FILE_MODE
        if mode & ~wanted:
            os.chmod(path, wanted)
            changed.append(f"{os.path.relpath(path, root)} ({mode:04o})")
    return changed


def _walk(root: Path) -> list[tuple[str, bool]]:
    out = [(str(root), True)]
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                out.append((full, True))
        for name in files:
            full = os.path.join(folder, name)
            if stat.S_ISREG(os.lstat(full).st_mode):
                out.append((full, False))
    return out
