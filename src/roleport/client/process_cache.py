"""An opt-in on-disk cache for ``credential-process --cache``.

Every ``credential_process`` call of the official helper runs CreateSession; parallel
jobs then hit the CreateSession rate limit (Go issue #31). With ``--cache`` the helper
keeps the credentials in ``$XDG_CACHE_HOME/roleport/credential-process/`` (mode 0700,
files 0600) under a key made of everything that changes the answer (certificate
fingerprint, ARNs, duration, session name, endpoint, region), and hands them out again
while more than ``min_remaining`` seconds (5 minutes by default) are left. Concurrent
callers wait on an ``flock`` so only one of them calls CreateSession.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from roleport.client.credentials import SessionCredentials
from roleport.client.errors import OutputError

__all__ = ["cache_directory", "cached"]


def cache_directory(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else \
        Path("~/.cache").expanduser()
    return base / "roleport" / "credential-process"


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read(path: Path) -> SessionCredentials | None:
    try:
        data = json.loads(path.read_text())
        return SessionCredentials(access_key_id=data["AccessKeyId"],
                                  secret_access_key=data["SecretAccessKey"],
                                  session_token=data["SessionToken"],
                                  expiration=data["Expiration"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, creds: SessionCredentials) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(creds.credential_process_json())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def cached(key: Mapping[str, object], fetch: Callable[[], SessionCredentials], *,
           directory: Path | None = None, min_remaining: float = 300.0) -> SessionCredentials:
    """Credentials for ``key`` from the cache, or from ``fetch`` (then cached)."""
    folder = directory or cache_directory()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the cache folder {folder}: {exc.strerror}") from None
    digest = hashlib.sha256(json.dumps(dict(key), sort_keys=True).encode()).hexdigest()[:40]
    path = folder / f"{digest}.json"
    try:
        with _lock(folder / f"{digest}.lock"):
            creds = _read(path)
            if creds is not None and creds.seconds_left() > min_remaining:
                return creds
            creds = fetch()
            _write(path, creds)
            return creds
    except OSError as exc:
        raise OutputError(f"credential cache {folder}: {exc.strerror or exc}") from None
