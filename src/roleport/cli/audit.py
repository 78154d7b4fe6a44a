"""``roleport audit``: read the audit trail written by ``roleport serve --audit-log``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click


class _When(click.ParamType):
    name = "TIME"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        from roleport.ops.audit_search import parse_time

        try:
            return parse_time(value)
        except ValueError:
            self.fail(f"{value!r} is neither ISO 8601 (2026-12-07T16:00:00Z) nor a time ago "
                      f"(15m, 2h, 7d)", param, ctx)


@click.group()
def audit() -> None:
    """Read the audit trail (`roleport serve --audit-log PATH`)."""


@audit.command("search")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", type=_When(), help="Records at or after TIME (ISO 8601, or a time "
              "ago: 15m, 2h, 7d).")
@click.option("--until", type=_When(), help="Records at or before TIME.")
@click.option("--event-name", "event_names", multiple=True, metavar="NAME",
              help="Only this event (CreateSession, CreateTrustAnchor...); repeatable.")
@click.option("--principal", metavar="ARN|KEY|DN",
              help="Only this caller: an ARN (user, role session or its role), access key "
                   "id, principal id or certificate subject DN; *part* matches a part.")
@click.option("--serial", metavar="SERIAL",
              help="Only CreateSession attempts with this certificate serial (hex, colons "
                   "allowed, or decimal as subject records show it).")
@click.option("--error-code", "error_codes", multiple=True, metavar="CODE",
              help="Only records with this errorCode (AccessDeniedException...); repeatable.")
@click.option("--errors", "errors_only", is_flag=True, help="Only records with an errorCode.")
@click.option("--limit", type=click.IntRange(1), help="At most this many (the newest).")
@click.option("--output", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="A table for people, or JSON lines (the records).")
def search(paths: tuple[Path, ...], since, until, event_names: tuple[str, ...],  # noqa: ANN001
           principal: str | None, serial: str | None, error_codes: tuple[str, ...],
           errors_only: bool, limit: int | None, output: str) -> None:
    """Filter the records of audit log files (each with its rotated siblings: PATH.1,
    PATH.2.gz, PATH-20261207.gz...; gzip is read as such).

    \b
    Examples:
      roleport audit search audit.log --since 1h --event-name CreateSession --errors
      roleport audit search audit.log --serial 3f:a2:19 --output json
      roleport audit search audit.log --principal 'arn:aws:iam::123456789012:root'
    """
    from collections import deque

    from roleport.ops.audit_search import Filter, Reader, files_of, table

    files = [f for p in paths for f in files_of(p)]
    missing = [str(p) for p in paths if not files_of(p)]
    if missing:
        raise click.ClickException(f"no audit log at {', '.join(missing)}")
    wanted = Filter(since=since, until=until, event_names=set(event_names),
                    principal=principal, serial=serial, error_codes=set(error_codes),
                    errors_only=errors_only)
    reader = Reader(files)
    try:
        found = deque((r for r in reader if wanted.matches(r)), maxlen=limit)
    except OSError as exc:
        raise click.ClickException(f"cannot read the audit log: {exc}") from None
    if output == "json":
        for record in found:
            sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    else:
        click.echo(table(found, width=max(80, shutil.get_terminal_size().columns)
                         if sys.stdout.isatty() else 0))
    if reader.skipped:
        click.echo(f"({reader.skipped} lines that are not audit records were skipped)",
                   err=True)
