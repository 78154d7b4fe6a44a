"""The server keyring on disk and in ROLEPORT_SERVER_KEY: ids, 0600, rotation, retirement."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from roleport.config import Settings
from roleport.server.bootstrap import (
    SERVER_KEY_FILE,
    ensure_keyring,
    rotate_server_key,
)
from roleport.sts.keyring import key_id_of


def test_first_start_creates_an_owner_only_key_file_and_later_starts_reuse_it(tmp_path):
    settings = Settings(data_dir=tmp_path)
    ring = ensure_keyring(settings)
    path = tmp_path / SERVER_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["current"] == ring.current == key_id_of(ring.current_secret)
    assert ensure_keyring(settings) == ring


def test_rotation_adds_a_current_key_and_keeps_the_old_one_until_it_retires(tmp_path):
    settings = Settings(data_dir=tmp_path)
    old = ensure_keyring(settings)
    new = rotate_server_key(settings)
    assert new.current != old.current
    assert set(new.ids) == {new.current, old.current}
    entries = {k["id"]: k for k in json.loads((tmp_path / SERVER_KEY_FILE).read_text())["keys"]}
    assert "retireAt" in entries[old.current] and "retireAt" not in entries[new.current]
    assert ensure_keyring(settings) == new
    # a key past its retirement is dropped at the next load
    newest = rotate_server_key(settings, retire_after_seconds=0)
    assert old.current in newest.ids  # still within its first retirement window
    assert new.current not in ensure_keyring(settings).ids


def test_the_environment_key_wins_and_may_list_several_current_first(tmp_path):
    one, two = bytes(range(32)), bytes(range(32, 64))
    env = ",".join(base64.b64encode(k).decode() for k in (two, one))
    ring = ensure_keyring(Settings(data_dir=tmp_path, server_key=env))
    assert ring.current == key_id_of(two) and set(ring.ids) == {key_id_of(one), key_id_of(two)}
    assert not (tmp_path / SERVER_KEY_FILE).exists()
    with pytest.raises(SystemExit):
        rotate_server_key(Settings(data_dir=tmp_path, server_key=env))


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_environment_key_stops_the_start(tmp_path, value):
    with pytest.raises(SystemExit):
        ensure_keyring(Settings(data_dir=tmp_path, server_key=value))


def test_the_server_key_commands_show_ids_never_keys(tmp_path):
    from click.testing import CliRunner

    from roleport.cli.main import cli

    runner = CliRunner()
    first = json.loads(runner.invoke(cli, ["server-key", "show", "--data-dir",
                                           str(tmp_path)]).output)
    rotated = runner.invoke(cli, ["server-key", "rotate", "--data-dir", str(tmp_path)])
    assert rotated.exit_code == 0, rotated.output
    shown = runner.invoke(cli, ["server-key", "show", "--data-dir", str(tmp_path)]).output
    data = json.loads(shown)
    assert data["current"] != first["current"]
    assert [k["id"] for k in data["keys"]] == [data["current"], first["current"]]
    secrets = [k["secret"] for k in json.loads((tmp_path / SERVER_KEY_FILE).read_text())["keys"]]
    assert not any(secret in shown for secret in secrets)
    generated = runner.invoke(cli, ["server-key", "generate"]).output.strip()
    assert len(base64.b64decode(generated)) == 32


def test_dropping_a_retired_key_first_reseals_the_stored_secrets_it_still_seals(tmp_path):
    """Rotations with no start between: the first key leaves the file, but the admin
    secret it sealed is moved to a key that stays, so it keeps opening."""
    from roleport.server.bootstrap import add_access_key, open_store

    settings = Settings(data_dir=tmp_path)
    first = ensure_keyring(settings)
    store = open_store(settings, pool_size=1)
    add_access_key(store, "AKIAEXAMPLE000000001", "s3cret", "111111111111")
    store.dispose()
    for _ in range(2):  # each drops the key that was current at once
        rotate_server_key(settings, retire_after_seconds=0)
        store = open_store(settings, pool_size=1)
        with store() as uow:
            assert uow.access_keys.get("AKIAEXAMPLE000000001").secret_access_key == "s3cret"
        store.dispose()
    ids = [k["id"] for k in json.loads((tmp_path / SERVER_KEY_FILE).read_text())["keys"]]
    assert first.current not in ids and len(ids) == 1
