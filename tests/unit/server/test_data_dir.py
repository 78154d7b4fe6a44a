"""Files of the data dir are written owner-only, atomically and durably."""

from __future__ import annotations

import os
import stat

from roleport.server import data_dir


def test_write_private_syncs_the_content_before_the_rename_and_the_folder_after(
        tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src, dst) -> None:  # noqa: ANN001
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "server-key.json"
    target.write_text("old")
    data_dir.write_private(target, "x" * 200_000)
    assert events == ["fsync-file", "rename", "fsync-dir"]
    assert target.read_text() == "x" * 200_000
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (tmp_path / "server-key.json.tmp").exists()
