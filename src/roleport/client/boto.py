"""boto3 and botocore integration: credentials that renew themselves through CreateSession.

Two ways in::

    from roleport.client import session

    s = session(certificate="client.pem", private_key="client.key",
                trust_anchor_arn=..., profile_arn=..., role_arn=...,
                endpoint="https://127.0.0.1:8443", ca_bundle=".roleport/tls/ca.pem")
    s.client("s3").list_buckets()

or, to keep a botocore session of your own, put the provider in front of its chain::

    provider = RolesAnywhereCredentialProvider(SessionClient(...))
    install_provider(botocore_session, provider)

The credentials are botocore ``RefreshableCredentials``: botocore asks for new ones
before they expire (15 minutes ahead, or a quarter of the session for short sessions),
from whichever thread uses them, under botocore's own lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials

from roleport.client.credentials import SessionCredentials
from roleport.client.sessions import (
    DEFAULT_DURATION,
    Endpoint,
    SessionClient,
    SessionRequest,
    resolve_endpoint,
)
from roleport.client.signers import Signer, open_signer

if TYPE_CHECKING:
    import boto3
    import botocore.session

__all__ = ["METHOD", "RolesAnywhereCredentialProvider", "install_provider", "session"]

METHOD = "custom-roleport-rolesanywhere"


def _botocore_credentials(creds: SessionCredentials) -> dict[str, Any]:
    return {"access_key": creds.access_key_id, "secret_key": creds.secret_access_key,
            "token": creds.session_token, "expiry_time": creds.expiration}


class RolesAnywhereCredentialProvider(CredentialProvider):  # type: ignore[misc]
    """A botocore credential provider backed by a :class:`SessionClient`."""

    METHOD = METHOD
    CANONICAL_NAME = "customRoleportRolesAnywhere"

    def __init__(self, client: SessionClient) -> None:
        super().__init__()
        self.client = client

    def fetch(self) -> dict[str, Any]:
        """One CreateSession, in botocore's refresh format."""
        return _botocore_credentials(self.client.create_session())

    def load(self) -> Any:
        creds = DeferredRefreshableCredentials(
            refresh_using=self.fetch, method=self.METHOD)
        duration = self.client.request.duration_seconds
        creds._advisory_refresh_timeout = min(15 * 60, duration // 4)
        creds._mandatory_refresh_timeout = min(10 * 60, duration // 8)
        return creds


def install_provider(botocore_session: botocore.session.Session,
                     provider: RolesAnywhereCredentialProvider) -> None:
    """Make ``provider`` the first source of credentials of ``botocore_session``."""
    resolver = botocore_session.get_component("credential_provider")
    resolver.providers.insert(0, provider)


def session(*, trust_anchor_arn: str, profile_arn: str, role_arn: str,
            certificate: str | None = None, private_key: str | None = None,
            intermediates: str | None = None, signer: Signer | None = None,
            region: str | None = None, endpoint: str | None = None,
            ca_bundle: str | None = None, verify: bool = True,
            duration_seconds: int = DEFAULT_DURATION, role_session_name: str | None = None,
            pkcs8_password: str | None = None, pkcs12_password: str | None = None,
            pkcs11_pin: str | None = None, pkcs11_lib: str | None = None,
            endpoint_config: Endpoint | None = None, **session_kwargs: Any) -> boto3.Session:
    """A ``boto3.Session`` whose credentials come from Roles Anywhere and renew themselves.

    Key material: ``signer``, or ``certificate`` (+ ``private_key``, ``intermediates``) as
    for the signing helper (PEM, PKCS#12, ``pkcs11:`` URIs). Endpoint and TLS:
    ``endpoint_config``, or ``endpoint``/``region``/``ca_bundle``/``verify`` resolved like
    the helper does (environment variables included). The session's region defaults to
    the Roles Anywhere region; other ``session_kwargs`` go to ``boto3.Session``.
    """
    import boto3
    import botocore.session

    if signer is None:
        signer = open_signer(certificate=certificate, private_key=private_key,
                             intermediates=intermediates, pkcs8_password=pkcs8_password,
                             pkcs12_password=pkcs12_password, pkcs11_pin=pkcs11_pin,
                             pkcs11_lib=pkcs11_lib)
    target = endpoint_config or resolve_endpoint(
        endpoint=endpoint, region=region, trust_anchor_arn=trust_anchor_arn,
        profile_arn=profile_arn, ca_bundle=ca_bundle, no_verify_ssl=not verify)
    request = SessionRequest(trust_anchor_arn=trust_anchor_arn, profile_arn=profile_arn,
                             role_arn=role_arn, duration_seconds=duration_seconds,
                             role_session_name=role_session_name)
    client = SessionClient(signer=signer, endpoint=target, request=request)
    core = botocore.session.get_session()
    install_provider(core, RolesAnywhereCredentialProvider(client))
    session_kwargs.setdefault("region_name", target.region)
    return boto3.Session(botocore_session=core, **session_kwargs)
