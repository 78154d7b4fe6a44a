"""``roleport serve --upstream-endpoint URL ...``: the options of upstream mode, gathered
into one ``upstream`` argument (a dict of :class:`~roleport.config.Settings` fields)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

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


def upstream_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, upstream_endpoint: str | None, upstream_iam_endpoint: str | None,
                upstream_region: str, upstream_profile: str | None,
                upstream_role_cache_seconds: float, upstream_timeout: float,
                **kwargs: Any) -> Any:
        upstream = {
            "upstream_endpoint": upstream_endpoint or None,
            "upstream_iam_endpoint": upstream_iam_endpoint or None,
            "upstream_region": upstream_region,
            "upstream_profile": upstream_profile or None,
            "upstream_role_cache_seconds": upstream_role_cache_seconds,
            "upstream_timeout_seconds": upstream_timeout,
        }
        return fn(*args, upstream=upstream, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
