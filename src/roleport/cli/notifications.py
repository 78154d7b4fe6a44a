"""Expiry notification options (shared by ``serve`` and ``notifications run``) and the
``roleport notifications`` commands."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from roleport.cli.options import data_options, option_group
from roleport.ops.config import DEFAULT_INTERVAL_SECONDS, NotificationConfig

_OPTIONS = [
    click.option("--notify-webhook", envvar="ROLEPORT_NOTIFY_WEBHOOK", metavar="URL",
                 help="Expiry notifications: POST each event (JSON) to this URL, signed "
                      "with --notify-webhook-secret (header X-Roleport-Signature)."),
    click.option("--notify-webhook-secret", envvar="ROLEPORT_NOTIFY_WEBHOOK_SECRET",
                 metavar="SECRET", help="The HMAC-SHA256 key of the webhook signature "
                 "(prefer the environment variable or --notify-webhook-secret-file)."),
    click.option("--notify-webhook-secret-file",
                 envvar="ROLEPORT_NOTIFY_WEBHOOK_SECRET_FILE",
                 type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="A file holding the webhook secret (surrounding whitespace "
                      "removed)."),
    click.option("--notify-webhook-retries", envvar="ROLEPORT_NOTIFY_WEBHOOK_RETRIES",
                 default=5, show_default=True, type=click.IntRange(0, 20),
                 help="Retries after a failed POST (no answer, or not 2xx)."),
    click.option("--notify-webhook-backoff", envvar="ROLEPORT_NOTIFY_WEBHOOK_BACKOFF",
                 default=1.0, show_default=True, type=click.FloatRange(0, 3600),
                 help="Seconds before the first retry; doubled before each next one."),
    click.option("--notify-webhook-timeout", envvar="ROLEPORT_NOTIFY_WEBHOOK_TIMEOUT",
                 default=10.0, show_default=True, type=click.FloatRange(0.1, 300),
                 help="Seconds to wait for the webhook's answer."),
    click.option("--notify-dead-letter", envvar="ROLEPORT_NOTIFY_DEAD_LETTER",
                 type=click.Path(dir_okay=False, path_type=Path),
                 help="JSON-lines file of the events the webhook refused after its "
                      "last retry [default: DATA_DIR/notifications-dead-letter.jsonl]."),
    click.option("--notify-file", envvar="ROLEPORT_NOTIFY_FILE",
                 type=click.Path(dir_okay=False, path_type=Path),
                 help="Append each expiry event to this JSON-lines file."),
    click.option("--notify-stdout", envvar="ROLEPORT_NOTIFY_STDOUT", is_flag=True,
                 help="Print each expiry event on stdout (one JSON line)."),
    click.option("--notify-interval", envvar="ROLEPORT_NOTIFY_INTERVAL",
                 default=DEFAULT_INTERVAL_SECONDS, show_default=True,
                 type=click.FloatRange(1, 30 * 86400),
                 help="Seconds between evaluations of the notification settings (one "
                      "server of all workers and replicas runs them; a certificate is "
                      "notified at most once a day per threshold)."),
]



def _config(v: dict[str, Any]) -> NotificationConfig:
    secret = v["notify_webhook_secret"]
    if v["notify_webhook_secret_file"] is not None:
        if secret:
            raise click.UsageError("give --notify-webhook-secret or "
                                   "--notify-webhook-secret-file, not both")
        secret = v["notify_webhook_secret_file"].read_text().strip()
    if v["notify_webhook"]:
        if not v["notify_webhook"].lower().startswith(("http://", "https://")):
            raise click.BadParameter("must be an http:// or https:// URL",
                                     param_hint="--notify-webhook")
        if not secret:
            raise click.UsageError("--notify-webhook needs --notify-webhook-secret (or "
                                   "ROLEPORT_NOTIFY_WEBHOOK_SECRET, or "
                                   "--notify-webhook-secret-file)")
    return NotificationConfig(
        webhook_url=v["notify_webhook"], webhook_secret=secret or None,
        webhook_retries=v["notify_webhook_retries"],
        webhook_backoff_seconds=v["notify_webhook_backoff"],
        webhook_timeout_seconds=v["notify_webhook_timeout"],
        dead_letter=v["notify_dead_letter"], file=v["notify_file"],
        stdout=v["notify_stdout"], interval_seconds=v["notify_interval"])


#: the ``--notify-*`` options; the command receives ``notifications``
notification_options = option_group("notifications", _OPTIONS, _config)


class _FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("an ISO-8601 time, e.g. 2027-01-31T09:00:00Z",
                                 param_hint="--at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.group()
def notifications() -> None:
    """Certificate expiry notifications (EventBridge-shaped events)."""


@notifications.command("run")
@data_options
@notification_options
@click.option("--at", "at", default=None, metavar="TIME",
              help="Evaluate as if it were TIME (ISO-8601, UTC by default) instead of now.")
@click.option("--dry-run", is_flag=True,
              help="Print the events due, without recording or sending them.")
def run(data_dir: Path, database_url: str | None, notifications: NotificationConfig,
        at: str | None, dry_run: bool) -> None:
    """Evaluate every enabled notification setting now and send the events due.

    The same evaluation `roleport serve` runs every --notify-interval: the CA certificates
    of each trust anchor and the end-entity certificates seen by CreateSession in the last
    day, against each threshold. An event already sent today (by this command or by any
    server on the database) is not sent again. Without a --notify-* sink the events go to
    stdout. Give it the server's --data-dir / --database-url.
    """
    from roleport.cli.admin import _store
    from roleport.clock import SystemClock
    from roleport.ops.notifier import Notifier
    from roleport.ops.sinks import StdoutSink
    from roleport.storage.sql.operations import SqlOperations

    clock = _FixedClock(_parse_time(at)) if at else SystemClock()
    store = _store(data_dir, database_url)
    sinks = notifications.sinks(data_dir) if notifications.has_sinks else [StdoutSink()]
    notifier = Notifier(SqlOperations(store), sinks, clock)
    try:
        if dry_run:
            for _, event in notifier.due():
                click.echo(json.dumps(event))
            return
        report = notifier.run_once()
    finally:
        store.dispose()
    click.echo(f"{report.due} due, {report.claimed} new today, {report.delivered} delivered, "
               f"{report.failed} failed", err=True)
    if report.failed:
        raise SystemExit(1)


__all__ = ["notification_options", "notifications"]
