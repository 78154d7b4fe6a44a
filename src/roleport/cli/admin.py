"""Operator commands: database migrations and account keys."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import click

from roleport import ids
from roleport.cli.options import account_option, data_options
from roleport.config import Settings


def _store(data_dir: Path, database_url: str | None):  # noqa: ANN202
    from roleport.server.bootstrap import open_store

    settings = Settings(data_dir=data_dir, database_url=database_url,
                        **Settings.keys_from_env(os.environ))
    return open_store(settings, pool_size=1)


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@data_options
def db_upgrade(data_dir: Path, database_url: str | None) -> None:
    """Apply every pending migration (the server also does this at start).

    Stored secrets are sealed with the server's key-encryption key: run it with the
    server's data dir and ROLEPORT_SERVER_KEY / ROLEPORT_SECRETS_KEY[_FILE].
    """
    from roleport.storage.sql import migrate

    store = _store(data_dir, database_url)
    click.echo(f"database at revision {migrate.current(store.engine)}")


@click.group()
def accounts() -> None:
    """Accounts and their access keys (one server can host many accounts)."""


@accounts.command("create-key")
@data_options
@account_option
@click.option("--access-key-id", default=None, help="Use this key id (default: generated).")
@click.option("--secret-access-key", default=None, envvar="ROLEPORT_NEW_SECRET_ACCESS_KEY",
              help="Use this secret (default: generated). Prefer the environment variable.")
def create_key(data_dir: Path, database_url: str | None, account_id: str,
               access_key_id: str | None, secret_access_key: str | None) -> None:
    """Create an admin key pair for ACCOUNT_ID and print it once, as JSON.

    A server running on the same database accepts the key within seconds. Its secret is
    stored sealed: give this command the server's keys (data dir, ROLEPORT_SERVER_KEY or
    ROLEPORT_SECRETS_KEY[_FILE]), or the server cannot open it.
    """
    from roleport.server.bootstrap import add_access_key

    if not re.fullmatch(r"\d{12}", account_id):
        raise click.BadParameter("must be 12 digits", param_hint="--account-id")
    key_id = access_key_id or ids.new_access_key_id("AKIA")
    secret = secret_access_key or ids.new_secret_access_key()
    add_access_key(_store(data_dir, database_url), key_id, secret, account_id)
    click.echo(json.dumps({"AccountId": account_id, "AccessKeyId": key_id,
                           "SecretAccessKey": secret}, indent=2))


@click.group()
def subjects() -> None:
    """Inspect subjects, with what the API cannot show: why an attempt was refused."""


@subjects.command("show")
@data_options
@account_option
@click.option("--region", envvar="ROLEPORT_REGION", default="us-east-1", show_default=True)
@click.argument("subject")
def subjects_show(data_dir: Path, database_url: str | None, account_id: str, region: str,
                  subject: str) -> None:
    """Print SUBJECT (a subject id, or an X.509 subject DN such as 'CN=build-7') as JSON,
    each certificate attempt with its failure reason."""
    from roleport.domain.context import Scope
    from roleport.domain.subjects import subject_key

    store = _store(data_dir, database_url)
    scope = Scope(account_id, region)
    with store() as uow:
        found = uow.subjects.get(scope, subject) or uow.subjects.get_by(
            scope, subject_key=subject_key(subject))
    if found is None:
        raise click.ClickException(f"no subject '{subject}' in account {account_id}, "
                                   f"region {region}")
    click.echo(json.dumps({
        "subjectArn": found.arn, "subjectId": found.id, "x509Subject": found.x509_subject,
        "lastSeenAt": found.last_seen_at.isoformat(),
        "attempts": [{"seenAt": c.seen_at.isoformat(), "serialNumber": c.serial_number,
                      "issuer": c.issuer, "failed": c.failed,
                      "failureReason": c.failure_reason} for c in found.credentials],
    }, indent=2))
