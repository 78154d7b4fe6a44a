"""The ``roleport`` command line. Each command is short and calls into server/ or client/."""

from __future__ import annotations

import click

from roleport import __version__
from roleport.cli.admin import accounts, db, subjects
from roleport.cli.audit import audit
from roleport.cli.explain import explain_command
from roleport.cli.notifications import notifications
from roleport.cli.pki import pki
from roleport.cli.quickstart import quickstart
from roleport.cli.serve import serve
from roleport.cli.server_key import server_key


@click.group(context_settings={"help_option_names": ["-h", "--help"],
                               "max_content_width": 100})
@click.version_option(__version__, prog_name="roleport")
def cli() -> None:
    """Roleport: a self-hosted, wire-compatible AWS IAM Roles Anywhere.

    Start a server with `roleport serve`, then use the AWS CLI, boto3 or any SDK against
    the endpoint it prints.
    """


cli.add_command(serve)
cli.add_command(db)
cli.add_command(accounts)
cli.add_command(subjects)
cli.add_command(explain_command)
cli.add_command(server_key)
cli.add_command(pki)
cli.add_command(notifications)
cli.add_command(quickstart)
cli.add_command(audit)


def main() -> None:
    cli(prog_name="roleport")


if __name__ == "__main__":  # pragma: no cover
    main()
