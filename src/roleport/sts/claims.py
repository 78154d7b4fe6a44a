"""What a session token carries: everything needed to recognise the session later,
on any replica, without a database read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from roleport import arns


#: the condition keys of trusted identity propagation: set by Roleport only, never by a
#: caller (see :func:`roleport.sts.trust` and :mod:`roleport.domain.trusted_identity`)
ORIGIN_IDENTITY_PREFIX = "aws:OriginIdentity/"


@dataclass(frozen=True)
class OriginIdentity:
    """A session's ``aws:OriginIdentity/*`` values (an absent member: no such key)."""

    subject: str
    subject_type: str | None = None
    issuer: str | None = None

    def condition_keys(self) -> dict[str, str]:
        values = {"Subject": self.subject, "SubjectType": self.subject_type,
                  "Issuer": self.issuer}
        return {ORIGIN_IDENTITY_PREFIX + name: value for name, value in values.items()
                if value is not None}


@dataclass(frozen=True)
class SessionClaims:
    access_key_id: str
    #: the account of the role (and so of the session)
    account_id: str
    role_arn: str
    role_id: str
    session_name: str
    issued_at: datetime
    expires_at: datetime
    source_identity: str | None = None
    session_tags: tuple[tuple[str, str], ...] = ()
    session_policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    origin_identity: OriginIdentity | None = None

    @property
    def role_name(self) -> str:
        return role_name_of(self.role_arn)

    @property
    def assumed_role_arn(self) -> str:
        return assumed_role_arn(self.account_id, self.role_name, self.session_name)

    @property
    def assumed_role_id(self) -> str:
        return f"{self.role_id}:{self.session_name}"


def role_name_of(role_arn: str) -> str:
    """``arn:aws:iam::1:role/path/NAME`` -> ``NAME``."""
    return role_arn.rsplit("/", 1)[-1]


def assumed_role_arn(account_id: str, role_name: str, session_name: str) -> str:
    """The session's ARN: no role path in it, as in AWS."""
    return f"arn:{arns.PARTITION}:sts::{account_id}:assumed-role/{role_name}/{session_name}"
