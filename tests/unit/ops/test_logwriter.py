"""The background line writer: whole lines, bounded buffer, flush on close, rotation."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from roleport.ops.logwriter import PIPE_BUF, LineWriter, _chunks

LINES = st.lists(st.binary(max_size=6000).map(lambda b: b.replace(b"\n", b"") + b"\n"),
                 max_size=40)


@given(LINES, st.sampled_from([PIPE_BUF, 64, 1024 * 1024]))
def test_chunks_hold_whole_lines_within_the_limit(lines, limit) -> None:
    chunks = _chunks(lines, limit)
    assert b"".join(chunks) == b"".join(lines)
    for chunk in chunks:
        assert chunk.endswith(b"\n")
        # a piece is over the limit only when it is one line that is longer on its own
        assert len(chunk) <= limit or chunk.count(b"\n") == 1


def test_close_writes_every_pending_line_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    writer = LineWriter(str(path), name="t").start()
    for i in range(5000):
        writer.submit(b"line %d\n" % i)
    writer.close()
    assert path.read_bytes().splitlines() == [b"line %d" % i for i in range(5000)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_full_buffer_drops_and_counts(tmp_path: Path) -> None:
    counted = []
    writer = LineWriter(str(tmp_path / "out.log"), name="t", capacity=3,
                        on_drop=counted.append)  # not started: nothing is written yet
    results = [writer.submit(b"x\n") for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert writer.dropped == 2 and counted == [1, 1]
    assert not writer.accepting


def test_pipes_get_at_most_pipe_buf_bytes_per_write() -> None:
    read_end, write_end = os.pipe()
    writer = LineWriter(write_end, name="t")
    line = b"y" * 1000 + b"\n"
    for _ in range(20):
        writer.submit(line)
    writer.start()
    writer.close()
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    os.close(read_end)
    assert data == line * 20
    assert writer._chunk == PIPE_BUF


def test_committed_lines_report_a_failed_write_and_the_writer_says_so() -> None:
    async def main() -> tuple[bool, bool]:
        writer = LineWriter("/dev/full", name="t").start()
        try:
            return await writer.submit_committed(b"a\n"), writer.accepting
        finally:
            writer.close()

    written, accepting = asyncio.run(main())
    assert written is False and accepting is False


def test_reopen_follows_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"

    async def main() -> None:
        writer = LineWriter(str(path), name="t").start()
        assert await writer.submit_committed(b"before\n")
        path.rename(tmp_path / "audit.log.1")
        writer.reopen()
        assert await writer.submit_committed(b"after\n")
        writer.close()

    asyncio.run(main())
    assert (tmp_path / "audit.log.1").read_bytes() == b"before\n"
    assert path.read_bytes() == b"after\n"


def test_a_destination_that_cannot_be_opened_fails_then_heals(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"

    async def main() -> None:
        writer = LineWriter(str(path), name="t").start()
        path.rename(tmp_path / "old.log")
        path.mkdir()  # the file is now a directory
        writer.reopen()
        assert not await writer.submit_committed(b"lost\n")
        assert writer.failed and "cannot open" in writer.failed
        path.rmdir()  # the next write after a failure opens the path again
        assert await writer.submit_committed(b"back\n")
        assert writer.accepting
        writer.close()

    asyncio.run(main())
    assert path.read_bytes() == b"back\n"
