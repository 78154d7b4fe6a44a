"""Options shared by several commands (each also read from a ROLEPORT_* variable)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
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


def option_group(argument: str, options: Sequence[Callable[[F], F]],
                 build: Callable[[dict[str, Any]], Any]) -> Callable[[F], F]:
    """A decorator adding ``options`` to a command, which receives them as one argument,
    ``argument``: what ``build`` makes of their values (by parameter name)."""
    probe: Any = lambda: None  # noqa: E731 - only to read the options' parameter names
    for option in options:
        probe = option(probe)
    names = [param.name for param in probe.__click_params__]

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[argument] = build({name: kwargs.pop(name) for name in names})
            return fn(*args, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper
    return decorate
