"""Log lines written off the request path, by one background thread per log and process.

A request hands over a line already serialised to bytes (:meth:`LineWriter.submit`): a
lock, an append, sometimes a wake-up. The writer thread takes everything pending and
writes it with as few ``write`` calls as possible, each holding whole lines only:

* a regular file is opened ``O_APPEND`` (created ``0600``), so the lines of several
  worker processes writing the same file never interleave inside a line;
* a pipe (stdout/stderr under a supervisor) gets at most ``PIPE_BUF`` (4096) bytes per
  write, the size POSIX writes to a pipe atomically; a longer line goes alone.

Woken by a line, the writer lingers 50 ms for more (unless someone waits for
a line), so that under load it wakes and writes once per batch, not once per request.

The buffer is bounded (``capacity`` lines). When it is full, :meth:`submit` drops the
line and counts it (the access log); the audit trail in fail-closed mode never drops:
its callers ask :attr:`accepting` first and refuse the request while the buffer is full
or the destination failed, and :meth:`submit_committed` tells them when (and whether)
their line was written, so the response waits for its record.

A file destination is reopened by :meth:`reopen` (``SIGHUP``: rotation), and after a
failed write before the next one, so a destination that comes back heals by itself.
:meth:`close` writes everything pending before it returns (a clean shutdown loses no line).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LineWriter", "open_append"]

log = logging.getLogger("roleport.server")

PIPE_BUF = 4096
FILE_CHUNK = 1024 * 1024
DEFAULT_CAPACITY = 10_000
DEFAULT_LINGER_SECONDS = 0.05


def open_append(path: str) -> int:
    """``path`` opened for appending (created ``0600``); raises OSError."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):  # pragma: no cover - open refuses first
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


class LineWriter:
    """One log destination (a file path, or a file descriptor such as 1 or 2)."""

    def __init__(self, target: str | int, *, name: str, capacity: int = DEFAULT_CAPACITY,
                 on_drop: Callable[[int], None] | None = None,
                 linger_seconds: float = DEFAULT_LINGER_SECONDS) -> None:
        self.name = name
        #: how long the writer waits, once woken by a best-effort line, for more lines to
        #: write with it (fewer wake-ups and writes under load); a line someone waits for
        #: (:meth:`submit_committed`) is written at once
        self.linger_seconds = linger_seconds
        self.target = target
        self.capacity = capacity
        self.on_drop = on_drop
        #: lines dropped because the buffer was full (never in fail-closed use)
        self.dropped = 0
        #: the last write failed (cleared by the next successful one)
        self.failed: str | None = None
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[tuple[bytes, Any]] = []
        self._waiters = 0
        self._idle = True
        self._closing = False
        self._reopen = False
        self._fd: int | None = None
        self._open_error: str | None = None
        self._chunk = FILE_CHUNK
        self._thread: threading.Thread | None = None

    # -- the request side --------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether a line submitted now would be written: the destination works and the
        buffer has room (fail-closed callers refuse the request otherwise)."""
        return self.failed is None and len(self._pending) < self.capacity

    def submit(self, line: bytes) -> bool:
        """Queue ``line`` (whole lines, ending in a newline); False when dropped."""
        with self._cond:
            if len(self._pending) >= self.capacity:
                self.dropped += 1
                dropped = True
            else:
                self._pending.append((line, None))
                dropped = False
                if self._idle:
                    self._idle = False
                    self._cond.notify()
        if dropped and self.on_drop is not None:
            self.on_drop(1)
        return not dropped

    def submit_committed(self, line: bytes) -> asyncio.Future[bool]:
        """Queue ``line`` even past the capacity; the future (of the running loop) says
        whether it was written."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._cond:
            self._pending.append((line, (loop, future)))
            self._waiters += 1
            self._idle = False
            self._cond.notify()  # also ends a linger: someone waits for this line
        return future

    def reopen(self) -> None:
        """Reopen the file before the next write (log rotation; safe from a signal
        handler run by the event loop)."""
        with self._cond:
            self._reopen = True
            if self._idle:
                self._idle = False
                self._cond.notify()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> LineWriter:
        if isinstance(self.target, str):
            self._fd = open_append(self.target)
        else:
            self._fd = self.target
        self._chunk = self._chunk_for(self._fd)
        self._thread = threading.Thread(target=self._run, name=f"roleport-{self.name}-log",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Write everything pending, then stop the thread and close the file."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        if isinstance(self.target, str) and self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- the writer thread -------------------------------------------------------------

    @staticmethod
    def _chunk_for(fd: int) -> int:
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            return PIPE_BUF
        return FILE_CHUNK if stat.S_ISREG(mode) else PIPE_BUF

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing and not self._reopen:
                    self._idle = True
                    self._cond.wait()
                if self.linger_seconds and not (self._closing or self._reopen
                                                or self._waiters):
                    self._cond.wait(self.linger_seconds)  # submit() does not notify now
                batch, self._pending = self._pending, []
                self._waiters = 0
                reopen, self._reopen = self._reopen, False
                closing = self._closing
            if reopen or (self.failed is not None and batch):
                self._open_again()
            if batch:
                self._write(batch)
            elif closing:
                return

    def _open_again(self) -> None:
        if not isinstance(self.target, str):
            return
        try:
            fd = open_append(self.target)
        except OSError as exc:
            self._open_error = f"cannot open {self.target}: {exc.strerror or exc}"
            return
        self._open_error = None
        old, self._fd = self._fd, fd
        self._chunk = self._chunk_for(fd)
        if old is not None:
            os.close(old)

    def _write(self, batch: list[tuple[bytes, Any]]) -> None:
        ok = self._fd is not None and self._open_error is None
        if not ok:
            self._set_failed(self._open_error or "not open")
        else:
            try:
                for chunk in _chunks([line for line, _ in batch], self._chunk):
                    _write_all(self._fd, chunk)  # type: ignore[arg-type]
            except OSError as exc:
                ok = False
                self._set_failed(f"cannot write to {self.target}: {exc.strerror or exc}")
        if ok and self.failed is not None:
            log.warning("%s log: writing again to %s", self.name, self.target)
            self.failed = None
        for _, waiter in batch:
            if waiter is not None:
                loop, future = waiter
                try:
                    loop.call_soon_threadsafe(_settle, future, ok)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass

    def _set_failed(self, reason: str) -> None:
        if self.failed is None:
            log.error("%s log: %s", self.name, reason)
        self.failed = reason


def _settle(future: asyncio.Future[bool], ok: bool) -> None:
    if not future.done():
        future.set_result(ok)


def _chunks(lines: list[bytes], limit: int) -> list[bytes]:
    """Whole lines joined into pieces of at most ``limit`` bytes (a longer line alone)."""
    out: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        if current and size + len(line) > limit:
            out.append(b"".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        out.append(b"".join(current))
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:  # pragma: no cover - a regular file or pipe never does this
            raise OSError(errno.EIO, "write returned 0")
        view = view[written:]
