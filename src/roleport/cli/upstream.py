"""``roleport serve --upstream-endpoint URL ...``: the options of upstream mode, gathered
into one ``upstream`` argument (a dict of :class:`~roleport.config.Settings` fields)."""

from __future__ import annotations

from typing import Any

import click

from roleport.cli.options import option_group
from roleport.config import DEFAULT_REGION

_OPTIONS = [
    click.option("--upstream-endpoint", envvar="ROLEPORT_UPSTREAM_ENDPOINT", default=None,
                 metavar="URL",
                 help="Upstream mode: read roles from this IAM and get credentials from this "
                      "STS AssumeRole (real AWS: 'aws'; another emulator: its URL). Upstream "
                      "credentials come from the usual AWS environment variables or profile."),
    click.option("--upstream-iam-endpoint", envvar="ROLEPORT_UPSTREAM_IAM_ENDPOINT",
                 default=None, metavar="URL",
                 help="The upstream IAM, when it is not at --upstream-endpoint."),
    click.option("--upstream-region", envvar="ROLEPORT_UPSTREAM_REGION",
                 default=DEFAULT_REGION, show_default=True,
                 help="Region to sign upstream requests for."),
    click.option("--upstream-profile", envvar="ROLEPORT_UPSTREAM_PROFILE", default=None,
                 help="AWS profile holding the upstream credentials (default: the usual "
                      "AWS_* variables, AWS_PROFILE, instance roles...)."),
    click.option("--upstream-role-cache-seconds", envvar="ROLEPORT_UPSTREAM_ROLE_CACHE_SECONDS",
                 default=30.0, show_default=True, type=click.FloatRange(0, 3600),
                 help="How long a role read from the upstream IAM is reused."),
    click.option("--upstream-timeout", envvar="ROLEPORT_UPSTREAM_TIMEOUT", default=5.0,
                 show_default=True, type=click.FloatRange(0.1, 120),
                 help="Seconds to wait for the upstream to connect, and again to answer."),
]


def _upstream(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "upstream_endpoint": v["upstream_endpoint"] or None,
        "upstream_iam_endpoint": v["upstream_iam_endpoint"] or None,
        "upstream_region": v["upstream_region"],
        "upstream_profile": v["upstream_profile"] or None,
        "upstream_role_cache_seconds": v["upstream_role_cache_seconds"],
        "upstream_timeout_seconds": v["upstream_timeout"],
    }


#: the upstream options; the command receives ``upstream`` (Settings fields)
upstream_options = option_group("upstream", _OPTIONS, _upstream)
