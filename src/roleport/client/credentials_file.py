"""``update``: write temporary credentials into a profile of the shared credentials file.

:func:`write_profile` edits the file as text, line by line, so everything it does not
own stays as it was: other profiles, comments, blank lines, other keys of the same
profile (``region``...), key order, and the file's line endings. In the target profile
it replaces ``aws_access_key_id``, ``aws_secret_access_key`` and ``aws_session_token``
(adding the missing ones after the profile's last setting); a missing profile is
appended.

Fixed against the official helper (clients.md §1.8): the write is atomic (a temporary
file in the same folder, fsync, then ``os.replace``), so a reader never sees half a
file; writers are serialized with ``flock`` on the folder; the last line of the file is
never dropped; a new ``~/.aws`` is created mode 0700 (the Go helper makes it 0600, without
the execute bit) and the file is always left mode 0600. A symbolic link is followed and
the file it points to is replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from roleport.client.credentials import SessionCredentials
from roleport.client.errors import OutputError

__all__ = ["KEYS", "credentials_file_path", "render_profile", "write_profile"]

KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
_SECTION = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*[=:]")


def credentials_file_path(explicit: str | os.PathLike[str] | None = None,
                          environ: dict[str, str] | None = None) -> Path:
    """``explicit``, else ``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/credentials``."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    if env.get("AWS_SHARED_CREDENTIALS_FILE"):
        return Path(env["AWS_SHARED_CREDENTIALS_FILE"]).expanduser()
    return Path("~/.aws/credentials").expanduser()


def render_profile(text: str, profile: str, creds: SessionCredentials) -> str:
    """``text`` with ``profile``'s three credential keys set to ``creds``."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    values = {"aws_access_key_id": creds.access_key_id,
              "aws_secret_access_key": creds.secret_access_key,
              "aws_session_token": creds.session_token}
    start = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match and match.group(1) == profile:
            start = index
            break
    if start is None:
        out = list(lines)
        while out and not out[-1].strip():
            out.pop()
        if out:
            out.append("")
        out.append(f"[{profile}]")
        out += [f"{key} = {values[key]}" for key in KEYS]
        return newline.join(out) + newline
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])),
               len(lines))
    section = lines[start + 1:end]
    written: set[str] = set()
    body: list[str] = []
    for line in section:
        match = _KEY.match(line)
        key = match.group(1).lower() if match else None
        if key in values:
            if key not in written:
                body.append(f"{key} = {values[key]}")
                written.add(key)
            continue  # a duplicate of a key we own: drop it
        body.append(line)
    missing = [f"{key} = {values[key]}" for key in KEYS if key not in written]
    if missing:
        last_setting = max((i for i, line in enumerate(body)
                            if line.strip() and not line.lstrip().startswith(("#", ";"))),
                           default=-1)
        body[last_setting + 1:last_setting + 1] = missing
    out = lines[:start + 1] + body + lines[end:]
    return newline.join(out) + newline


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialize writers with flock on the folder (no lock file left behind)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_profile(path: str | os.PathLike[str], profile: str,
                  creds: SessionCredentials) -> Path:
    """Set ``profile`` in the credentials file at ``path`` atomically; return the path
    written (a symlink's target). Raises OutputError."""
    target = Path(os.path.realpath(Path(path).expanduser()))
    folder = target.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            os.chmod(folder, 0o700)
    except OSError as exc:
        raise OutputError(f"cannot create {folder}: {exc.strerror}") from None
    try:
        with _locked(folder):
            try:
                text = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            new_text = render_profile(text, profile, creds)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    os.fchmod(handle.fileno(), 0o600)
                    handle.write(new_text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            with contextlib.suppress(OSError):
                dir_fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
