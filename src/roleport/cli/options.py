"""Options shared by several commands (each also read from a ROLEPORT_* variable)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from roleport.config import DEFAULT_ACCOUNT_ID

F = Callable[..., Any]


def data_options(fn: F) -> F:
    fn = click.option("--database-url", envvar="ROLEPORT_DATABASE_URL", default=None,
                      help="sqlite:///PATH (default: DATA_DIR/roleport.db) or "
                           "postgresql://USER@HOST/DB.")(fn)
    fn = click.option("--data-dir", envvar="ROLEPORT_DATA_DIR", default=".roleport",
                      show_default=True, type=click.Path(file_okay=False, path_type=Path),
                      help="Where keys, TLS files and the SQLite database live.")(fn)
    return fn


def account_option(fn: F) -> F:
    return click.option("--account-id", envvar="ROLEPORT_ACCOUNT_ID",
                        default=DEFAULT_ACCOUNT_ID, show_default=True,
                        help="The 12-digit account id.")(fn)
