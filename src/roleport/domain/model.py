"""The Roles Anywhere resources, as plain data.

No HTTP, SQL or wire names here: ``trust_anchor_id`` not ``trustAnchorId``. ``seq`` is
the storage's creation-order key, used for stable, keyset-paginated listing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from roleport import arns


@dataclass(slots=True)
class Tag:
    key: str
    value: str


@dataclass(slots=True)
class NotificationSetting:
    event: str
    channel: str
    enabled: bool
    threshold: int | None
    configured_by: str


@dataclass(slots=True)
class AttributeMapping:
    certificate_field: str
    specifiers: list[str]


@dataclass(slots=True)
class TipConfiguration:
    """A profile's trusted identity propagation (see domain/trusted_identity)."""

    status: str
    subject_type: str | None = None
    subject_source: str | None = None


@dataclass(slots=True)
class TrustAnchor:
    id: str
    account_id: str
    region: str
    name: str
    source_type: str
    source_data: dict[str, str]
    enabled: bool
    crl_dp_revocation_enabled: bool
    notification_settings: list[NotificationSetting]
    created_at: datetime
    updated_at: datetime
    alias_name: str | None = None
    tags: list[Tag] = field(default_factory=list)
    seq: int | None = None
    #: an AWS_ACM_PCA source's CA certificate (PEM), as read at the last create/update
    ca_snapshot: str | None = None

    resource_type = "trust-anchor"

    @property
    def arn(self) -> str:
        return arns.resource_arn(self.region, self.account_id, self.resource_type, self.id)

    @property
    def certificate_bundle(self) -> str | None:
        """The CA certificates (PEM) CreateSession trusts."""
        return self.source_data.get("x509CertificateData") or self.ca_snapshot


@dataclass(slots=True)
class Profile:
    id: str
    account_id: str
    region: str
    name: str
    enabled: bool
    require_instance_properties: bool
    session_policy: str | None
    role_arns: list[str]
    managed_policy_arns: list[str]
    duration_seconds: int
    accept_role_session_name: bool
    attribute_mappings: list[AttributeMapping]
    created_by: str
    created_at: datetime
    updated_at: datetime
    alias_name: str | None = None
    tags: list[Tag] = field(default_factory=list)
    seq: int | None = None
    tip_configuration: TipConfiguration | None = None

    resource_type = "profile"

    @property
    def arn(self) -> str:
        return arns.resource_arn(self.region, self.account_id, self.resource_type, self.id)


@dataclass(slots=True)
class Crl:
    id: str
    account_id: str
    region: str
    trust_anchor_id: str
    name: str
    enabled: bool
    crl_data: bytes
    created_at: datetime
    updated_at: datetime
    alias_name: str | None = None
    tags: list[Tag] = field(default_factory=list)
    seq: int | None = None

    resource_type = "crl"

    @property
    def arn(self) -> str:
        return arns.resource_arn(self.region, self.account_id, self.resource_type, self.id)

    @property
    def trust_anchor_arn(self) -> str:
        return arns.resource_arn(self.region, self.account_id, "trust-anchor",
                                 self.trust_anchor_id)


@dataclass(slots=True)
class CredentialRecord:
    """One certificate a subject used, as GetSubject shows it."""

    seen_at: datetime
    serial_number: str
    issuer: str
    enabled: bool
    x509_certificate_data: str
    failed: bool
    #: Roleport extra, for operators: which check refused the last attempt
    failure_reason: str | None = None


@dataclass(slots=True)
class InstancePropertyRecord:
    seen_at: datetime
    properties: dict[str, str]
    failed: bool


@dataclass(slots=True)
class Subject:
    id: str
    account_id: str
    region: str
    x509_subject: str
    enabled: bool
    last_seen_at: datetime
    created_at: datetime
    updated_at: datetime
    credentials: list[CredentialRecord] = field(default_factory=list)
    instance_properties: list[InstancePropertyRecord] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    seq: int | None = None

    resource_type = "subject"

    @property
    def arn(self) -> str:
        return arns.resource_arn(self.region, self.account_id, self.resource_type, self.id)


@dataclass(slots=True)
class AccessKey:
    """A long-term access key pair of an account (the admin keys)."""

    access_key_id: str
    secret_access_key: str
    account_id: str
    principal_arn: str
    created_at: datetime
    enabled: bool = True


Resource = TrustAnchor | Profile | Crl | Subject
