"""Credential issuers: who turns an approved session into temporary credentials.

The contract CreateSession (and STS AssumeRole) code against::

    issuer.assume_role(AssumeRoleRequest(...)) -> IssuedCredentials
    raises AssumeRoleDenied (an AccessDeniedError): "Unable to assume role for <roleArn>..."
           ServiceUnavailableError: an upstream that did not answer (upstream mode)

Two implementations:

* :class:`BuiltinIssuer`: the role from Roleport's own IAM registry, the checks of
  :mod:`roleport.sts.trust`, and stateless credentials (:mod:`roleport.sts.credentials`);
* :class:`~roleport.sts.upstream.UpstreamIssuer`: the role from an upstream IAM, the same
  checks, and credentials from the upstream STS ``AssumeRole``.

:func:`build_issuer` picks one from the settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from roleport.clock import Clock
from roleport.domain.freshness import ChangeCounter
from roleport.iam.markers import Markers
from roleport.iam.roles import Role, RoleRegistry
from roleport.sts import trust
from roleport.sts.claims import OriginIdentity
from roleport.sts.credentials import SessionCredentials
from roleport.sts.errors import AssumeRoleDenied
from roleport.sts.keyring import Keyring

log = logging.getLogger("roleport.sts")

ROLES_ANYWHERE = trust.ROLES_ANYWHERE


@dataclass(frozen=True)
class AssumeRoleRequest:
    account_id: str
    role_arn: str
    role_session_name: str
    duration_seconds: int
    source_identity: str | None
    #: from the certificate's attribute mapping (CreateSession) or the Tags parameter
    session_tags: list[tuple[str, str]]
    #: inline JSON
    session_policy: str | None
    #: managed policy ARNs
    policy_arns: list[str]
    principal_service: str = ROLES_ANYWHERE
    #: aws:SourceArn, aws:SourceAccount, aws:PrincipalTag/..., aws:RequestTag/... etc.
    context: dict[str, str | list[str]] = field(default_factory=dict)
    #: an AWS principal (STS AssumeRole by an account's admin key) instead of the service
    principal_arn: str | None = None
    external_id: str | None = None
    #: trusted identity propagation (CreateSession of a profile with TIP enabled): the
    #: only source of the aws:OriginIdentity/* keys
    origin_identity: OriginIdentity | None = None

    def ask(self) -> trust.Ask:
        return trust.Ask(
            account_id=self.account_id, role_arn=self.role_arn,
            session_name=self.role_session_name, duration_seconds=self.duration_seconds,
            source_identity=self.source_identity, session_tags=list(self.session_tags),
            session_policy=self.session_policy, policy_arns=list(self.policy_arns),
            principal_service=self.principal_service, principal_arn=self.principal_arn,
            external_id=self.external_id, context=self.context,
            origin_identity=self.origin_identity)


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    assumed_role_arn: str
    assumed_role_id: str
    packed_policy_size: int
    source_identity: str | None


class CredentialIssuer(Protocol):
    def assume_role(self, request: AssumeRoleRequest) -> IssuedCredentials: ...


def role_facts(role: Role) -> trust.RoleFacts:
    return trust.RoleFacts(arn=role.arn, role_id=role.role_id, name=role.name,
                           account_id=role.account_id, trust_policy=role.trust_policy,
                           max_session_duration=role.max_session_duration)


def check_assume_role(role: trust.RoleFacts | None, request: AssumeRoleRequest,
                      now: datetime) -> int:
    """Every check of an AssumeRole on ``role`` (None: no such role), without issuing;
    returns the PackedPolicySize. What the built-in issuer and ``roleport explain`` run."""
    ask = request.ask()
    if role is None:
        trust.check_inputs(ask)
        log.info("refusing %s: no such role", request.role_arn)
        raise AssumeRoleDenied(request.role_arn, None)
    return trust.check_all(role, ask, now, same_account=request.principal_arn is None)


class BuiltinIssuer:
    """Roles from Roleport's registry; credentials minted here, verifiable anywhere."""

    def __init__(self, roles: RoleRegistry, credentials: SessionCredentials,
                 clock: Clock) -> None:
        self.roles = roles
        self.credentials = credentials
        self.clock = clock

    def assume_role(self, request: AssumeRoleRequest) -> IssuedCredentials:
        now = self.clock.now()
        role = self.roles.find_by_arn(request.role_arn)
        packed = check_assume_role(role_facts(role) if role else None, request, now)
        assert role is not None  # check_assume_role refuses an unknown role
        minted = self.credentials.mint(
            account_id=role.account_id, role_arn=role.arn, role_id=role.role_id,
            session_name=request.role_session_name, duration_seconds=request.duration_seconds,
            source_identity=request.source_identity, session_tags=tuple(request.session_tags),
            session_policy=request.session_policy, policy_arns=tuple(request.policy_arns),
            origin_identity=request.origin_identity, now=now)
        claims = minted.claims
        log.info("issued %s for %s (session %s, expires %s)", minted.access_key_id,
                 claims.assumed_role_arn, claims.session_name, claims.expires_at.isoformat())
        return IssuedCredentials(
            access_key_id=minted.access_key_id, secret_access_key=minted.secret_access_key,
            session_token=minted.session_token, expiration=claims.expires_at,
            assumed_role_arn=claims.assumed_role_arn, assumed_role_id=claims.assumed_role_id,
            packed_policy_size=packed, source_identity=request.source_identity)


def role_registry(store: Any, clock: Clock, keyring: Keyring,
                  changes: ChangeCounter | None = None) -> RoleRegistry:
    """The IAM role registry, its list markers keyed by the current server key."""
    marker_key = keyring.derived(keyring.current, "iam-marker")
    assert marker_key is not None
    return RoleRegistry(store, clock, Markers(marker_key), changes=changes)


def build_issuer(settings: Any, store: Any, keyring: Keyring, clock: Clock, *,
                 roles: RoleRegistry | None = None) -> CredentialIssuer:
    """The upstream issuer when ``settings.upstream_endpoint`` is set, else the built-in."""
    if getattr(settings, "upstream_endpoint", None):
        from roleport.sts.upstream import UpstreamIssuer

        return UpstreamIssuer.from_settings(settings, clock)
    roles = roles or role_registry(store, clock, keyring)
    return BuiltinIssuer(roles, SessionCredentials(keyring, clock), clock)
