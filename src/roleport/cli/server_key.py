"""``roleport server-key``: the key that seals session tokens (and page tokens)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import click

from roleport.cli.options import data_options
from roleport.config import Settings


@click.group("server-key")
def server_key() -> None:
    """The server key: it seals session tokens, so every replica needs the same keys."""


@server_key.command("generate")
def generate() -> None:
    """Print a new random key for ROLEPORT_SERVER_KEY (base64 of 32 bytes)."""
    click.echo(base64.b64encode(os.urandom(32)).decode())


@server_key.command("show")
@data_options
def show(data_dir: Path, database_url: str | None) -> None:
    """Print the key ids in use (never the keys): current first."""
    from roleport.server.bootstrap import SERVER_KEY_FILE, ensure_keyring

    settings = Settings(data_dir=data_dir, server_key=os.environ.get("ROLEPORT_SERVER_KEY"))
    ring = ensure_keyring(settings)
    retire_at: dict[str, str] = {}
    path = Path(data_dir) / SERVER_KEY_FILE
    if not settings.server_key and path.exists():
        retire_at = {k["id"]: k["retireAt"] for k in json.loads(path.read_text())["keys"]
                     if "retireAt" in k}
    click.echo(json.dumps({"current": ring.current, "keys": [
        {"id": key_id, **({"retireAt": retire_at[key_id]} if key_id in retire_at else {})}
        for key_id in ring.ids]}, indent=2))


@server_key.command("rotate")
@data_options
@click.option("--retire-after", default=None, type=click.IntRange(0),
              help="Seconds the previous key keeps opening the tokens it sealed (default: "
                   "the longest session, 12 h, plus an hour).")
def rotate(data_dir: Path, database_url: str | None, retire_after: int | None) -> None:
    """Make a new current key in DATA_DIR/server-key.json; restart the server to use it.

    Each start re-seals the stored secrets with the current key; a key dropped here (past
    its retirement) first has what it still seals re-sealed, in --database-url.

    Replicas given ROLEPORT_SERVER_KEY rotate there instead, in two steps: "OLD,NEW" on
    every replica, then "NEW,OLD".
    """
    from roleport.server.bootstrap import rotate_server_key

    settings = Settings(data_dir=data_dir, database_url=database_url,
                        **Settings.keys_from_env(os.environ))
    kwargs = {} if retire_after is None else {"retire_after_seconds": retire_after}
    ring = rotate_server_key(settings, **kwargs)
    click.echo(json.dumps({"current": ring.current, "keys": list(ring.ids)}, indent=2))
