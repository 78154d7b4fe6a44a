"""Temporary credentials from CreateSession, and the shapes other tools read them in.

:class:`SessionCredentials` is what one CreateSession returns. Its ``expiration`` string
is kept verbatim from the server (the official helper passes it through unchanged), and
parsed once into ``expires_at`` for scheduling.

Formats:

* :meth:`SessionCredentials.credential_process_json`: the AWS ``credential_process``
  output (``Version`` 1, compact, in the helper's key order, no trailing newline);
* :meth:`SessionCredentials.imds_json`: EC2 instance metadata's security-credentials
  document (``Code``/``Type``/``LastUpdated`` included);
* :meth:`SessionCredentials.ecs_json`: the container-credentials document
  (``AWS_CONTAINER_CREDENTIALS_FULL_URI``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["SessionCredentials", "format_time", "parse_time"]

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                  r"(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp as AWS services write them (``Z`` or an offset).

    Raises ValueError for anything else.
    """
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    normalized = text.strip().replace(" ", "T")
    if normalized[-1] in "zZ":
        normalized = normalized[:-1] + "+00:00"
    moment = datetime.fromisoformat(normalized)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (what every SDK parses)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SessionCredentials:
    """One set of temporary credentials (secrets are left out of ``repr``)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    #: verbatim from the server
    expiration: str
    #: when they were obtained (UTC)
    obtained_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    role_arn: str | None = None
    assumed_role_arn: str | None = None
    subject_arn: str | None = None
    source_identity: str | None = None

    def __post_init__(self) -> None:
        for name in ("access_key_id", "secret_access_key", "session_token", "expiration"):
            if not getattr(self, name):
                raise ValueError(f"credentials without {name}")
        parse_time(self.expiration)  # refuse what cannot be scheduled

    @property
    def expires_at(self) -> datetime:
        """``expiration`` as an aware UTC datetime."""
        return parse_time(self.expiration)

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()

    def expired(self, now: datetime | None = None) -> bool:
        return self.seconds_left(now) <= 0

    @classmethod
    def from_create_session(cls, body: dict[str, Any]) -> SessionCredentials:
        """Read a CreateSession response body; ValueError if it holds no credentials."""
        sets = body.get("credentialSet") or []
        if not sets or not isinstance(sets[0], dict):
            raise ValueError("unable to obtain temporary security credentials from "
                             "CreateSession: the response holds no credentialSet")
        entry = sets[0]
        creds = entry.get("credentials") or {}
        try:
            return cls(access_key_id=str(creds["accessKeyId"]),
                       secret_access_key=str(creds["secretAccessKey"]),
                       session_token=str(creds["sessionToken"]),
                       expiration=_expiration_text(creds["expiration"]),
                       role_arn=entry.get("roleArn"),
                       assumed_role_arn=(entry.get("assumedRoleUser") or {}).get("arn"),
                       subject_arn=body.get("subjectArn"),
                       source_identity=entry.get("sourceIdentity"))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"CreateSession response lacks credentials field {exc}") from None

    # -- formats ---------------------------------------------------------------------------

    def credential_process(self) -> dict[str, Any]:
        return {"Version": 1, "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key, "SessionToken": self.session_token,
                "Expiration": self.expiration}

    def credential_process_json(self) -> str:
        """Compact JSON, key order as the official helper prints it."""
        return json.dumps(self.credential_process(), separators=(",", ":"))

    def imds(self) -> dict[str, Any]:
        return {"Code": "Success", "LastUpdated": format_time(self.obtained_at),
                "Type": "AWS-HMAC", "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key, "Token": self.session_token,
                "Expiration": format_time(self.expires_at)}

    def imds_json(self) -> str:
        return json.dumps(self.imds(), indent=2)

    def ecs(self) -> dict[str, Any]:
        body = {"AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key,
                "Token": self.session_token, "Expiration": format_time(self.expires_at)}
        if self.role_arn:
            body["RoleArn"] = self.role_arn
        return body

    def ecs_json(self) -> str:
        return json.dumps(self.ecs())


def _expiration_text(value: Any) -> str:
    if isinstance(value, (int, float)):  # epoch seconds, should a server send them
        return format_time(datetime.fromtimestamp(value, UTC))
    return str(value)
