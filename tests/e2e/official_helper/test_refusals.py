"""What the official aws_signing_helper prints, and its exit status, when Roleport refuses
CreateSession; and that roleport-signing-helper reports the same AWS error on the same
inputs (with its own exit status, 4: the server refused)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roleport.testing import DevPki, RolesAnywhereSetup

from .support import credential_args, official_env, ours, ours_env, run


def with_value(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


@contextmanager
def expired_certificate(setup: RolesAnywhereSetup, pki: DevPki) -> Iterator[list[str]]:
    now = datetime.now(UTC)
    cert = pki.issue("official-expired", not_before=now - timedelta(days=2),
                     not_after=now - timedelta(days=1))
    yield credential_args(setup, cert)


@contextmanager
def untrusted_certificate(setup: RolesAnywhereSetup, pki: DevPki) -> Iterator[list[str]]:
    stranger = DevPki()
    try:
        yield credential_args(setup, stranger.issue("official-stranger"))
    finally:
        stranger.close()


@contextmanager
def disabled_profile(setup: RolesAnywhereSetup, pki: DevPki) -> Iterator[list[str]]:
    ra = setup.server.client("rolesanywhere", setup.account)
    profile_id = setup.profile_arn.rsplit("/", 1)[1]
    ra.disable_profile(profileId=profile_id)
    try:
        yield credential_args(setup)
    finally:
        ra.enable_profile(profileId=profile_id)


@contextmanager
def role_not_in_profile(setup: RolesAnywhereSetup, pki: DevPki) -> Iterator[list[str]]:
    yield with_value(credential_args(setup), "--role-arn",
                     f"arn:aws:iam::{setup.account.account_id}:role/not-in-profile")


@contextmanager
def role_session_name_not_accepted(setup: RolesAnywhereSetup,
                                   pki: DevPki) -> Iterator[list[str]]:
    strict = setup.server.setup_roles_anywhere(setup.account, pki=pki, name="official-strict")
    yield [*credential_args(strict), "--role-session-name", "chosen"]


CASES: dict[str, tuple[Callable, str]] = {
    "expired-certificate": (expired_certificate, "Untrusted signing certificate"),
    "untrusted-certificate": (untrusted_certificate, "Untrusted signing certificate"),
    "disabled-profile": (disabled_profile, "Invalid or empty profile provided."),
    "role-not-in-profile": (role_not_in_profile,
                            "Requested Role isn't one of those listed in the Profile."),
    "role-session-name-not-accepted": (role_session_name_not_accepted,
                                       "Not authorized to set roleSessionName"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refusal_exits_1_with_the_aws_error_and_ours_reports_the_same(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, pki: DevPki, case: str) -> None:
    arrange, message = CASES[case]
    with arrange(setup, pki) as args:
        official = run(aws_signing_helper, "credential-process", *args,
                       env=official_env(setup))
        mine = ours("credential-process", *args, env=ours_env(setup))
    assert official.returncode == 1 and official.stdout == b""
    assert f"AccessDeniedException: {message}".encode() in official.stderr
    assert mine.stdout == b""
    if case == "expired-certificate":  # ours checks the validity before asking
        assert mine.returncode == 3 and b"certificate has expired" in mine.stderr
        return
    assert mine.returncode == 4
    assert b"(HTTP 403 AccessDeniedException, request id " in mine.stderr
    assert message.encode() in mine.stderr
