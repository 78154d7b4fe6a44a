"""``update``'s edit of the shared credentials file: only our three keys change, the
write is atomic and private, and the official helper's bugs are not repeated."""

from __future__ import annotations

import os
import stat

import pytest

from roleport.client.credentials import SessionCredentials
from roleport.client.credentials_file import credentials_file_path, render_profile, write_profile
from roleport.client.errors import OutputError

CREDS = SessionCredentials("ASIANEW", "secretNEW", "tokenNEW", "2030-01-01T00:00:00Z")
NEW = ["aws_access_key_id = ASIANEW", "aws_secret_access_key = secretNEW",
       "aws_session_token = tokenNEW"]


def test_profile_keys_are_replaced_and_everything_else_kept() -> None:
    text = ("# my credentials\n[default]\naws_access_key_id = AKIAOLD\n"
            "aws_secret_access_key=old ; inline\nregion = eu-west-1\n\n"
            "[other]\n; keep me\naws_access_key_id = AKIAOTHER\n")
    out = render_profile(text, "default", CREDS)
    assert out == ("# my credentials\n[default]\naws_access_key_id = ASIANEW\n"
                   "aws_secret_access_key = secretNEW\nregion = eu-west-1\n"
                   "aws_session_token = tokenNEW\n\n"
                   "[other]\n; keep me\naws_access_key_id = AKIAOTHER\n")


def test_last_line_of_the_last_profile_is_kept() -> None:
    """The Go helper drops a trailing `region = ...` of the target profile (clients.md §1.8)."""
    text = "[a]\nx = 1\n\n[roleport]\naws_access_key_id = OLD\nregion = us-east-2"
    out = render_profile(text, "roleport", CREDS)
    assert out.splitlines()[-4:] == ["aws_access_key_id = ASIANEW", "region = us-east-2",
                                     "aws_secret_access_key = secretNEW",
                                     "aws_session_token = tokenNEW"]
    assert out.endswith("\n")


def test_missing_profile_is_appended_after_a_blank_line() -> None:
    out = render_profile("[default]\nregion = x\n\n\n", "ra", CREDS)
    assert out == "[default]\nregion = x\n\n[ra]\n" + "\n".join(NEW) + "\n"
    assert render_profile("", "ra", CREDS) == "[ra]\n" + "\n".join(NEW) + "\n"


def test_duplicate_keys_collapse_and_crlf_is_kept() -> None:
    text = "[p]\r\naws_session_token = a\r\naws_session_token = b\r\n"
    out = render_profile(text, "p", CREDS)
    assert out == "[p]\r\naws_session_token = tokenNEW\r\naws_access_key_id = ASIANEW\r\n" \
                  "aws_secret_access_key = secretNEW\r\n"


def test_similar_section_names_are_not_confused() -> None:
    text = "[profile p]\naws_access_key_id = A\n[p2]\naws_access_key_id = B\n"
    out = render_profile(text, "p", CREDS)
    assert "[profile p]\naws_access_key_id = A\n[p2]\naws_access_key_id = B\n" in out
    assert out.endswith("[p]\n" + "\n".join(NEW) + "\n")


def test_write_creates_a_private_folder_and_file(tmp_path) -> None:
    path = tmp_path / "home" / ".aws" / "credentials"
    written = write_profile(path, "default", CREDS)
    assert written == path
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text() == "[default]\n" + "\n".join(NEW) + "\n"


def test_write_replaces_atomically_and_tightens_the_mode(tmp_path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[keep]\na = 1\n")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    write_profile(path, "default", CREDS)
    assert os.stat(path).st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().startswith("[keep]\na = 1\n\n[default]\n")
    assert [p.name for p in tmp_path.iterdir()] == ["credentials"]  # no temporary file left


def test_write_follows_a_symlink(tmp_path) -> None:
    real = tmp_path / "real"
    real.write_text("")
    link = tmp_path / "link"
    link.symlink_to(real)
    assert write_profile(link, "p", CREDS) == real
    assert link.is_symlink() and "tokenNEW" in real.read_text()


def test_unwritable_place_is_an_output_error(tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        write_profile(blocker / "credentials", "p", CREDS)


def test_credentials_file_path_precedence(tmp_path) -> None:
    assert credentials_file_path("x/c", {"AWS_SHARED_CREDENTIALS_FILE": "/e"}).name == "c"
    assert str(credentials_file_path(None, {"AWS_SHARED_CREDENTIALS_FILE": "/e/c"})) == "/e/c"
    assert str(credentials_file_path(None, {})).endswith(".aws/credentials")
