"""Trust anchors: the CAs whose certificates may exchange a signature for credentials.

Sources:

* ``CERTIFICATE_BUNDLE``: the PEM in ``x509CertificateData`` is the anchor.
* ``AWS_ACM_PCA``: ``acmPcaArn`` names an ACM Private CA; its certificate is read from
  the ACM PCA endpoint (a :class:`PrivateCaReader`, ``server/acm_pca.py``) at create and
  at every update, and kept as a snapshot (``TrustAnchor.ca_snapshot``), as AWS does:
  "the service honours certificates according to the validity period it read at the
  most recent create/update of the trust anchor". The CA must be in the anchor's region
  and ``ACTIVE``; every failure is a 400 (403 when the endpoint denies Roleport's
  credentials) before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from roleport.crypto.certificates import check_trust_anchor_certificate, load_pem_bundle
from roleport.crypto.errors import CryptoError
from roleport.crypto.spiffe import parse_spiffe_id
from roleport.domain import aliases, notifications, tags
from roleport.domain.context import Caller, Scope
from roleport.domain.model import Tag, TrustAnchor
from roleport.domain.quotas import exceeded
from roleport.domain.resources import ResourceService, Updated
from roleport.domain.revocation import OCSP_MODES, OCSP_TAG, ocsp_mode
from roleport.domain.spiffe import SPIFFE_TAG
from roleport.errors import AccessDeniedError, ValidationError
from roleport.ids import new_uuid
from roleport.storage.base import UnitOfWork, UnitOfWorkFactory

CERTIFICATE_BUNDLE = "CERTIFICATE_BUNDLE"
AWS_ACM_PCA = "AWS_ACM_PCA"
SELF_SIGNED_REPOSITORY = "SELF_SIGNED_REPOSITORY"
_DATA_MEMBER = {CERTIFICATE_BUNDLE: "x509CertificateData", AWS_ACM_PCA: "acmPcaArn"}
_PCA_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):acm-pca:(?P<region>[a-z0-9-]+):"
                      r"(?P<account>\d{12}):certificate-authority/[A-Za-z0-9-]{1,128}")
ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class Source:
    source_type: str | None
    data: dict[str, str]


@dataclass(frozen=True)
class PrivateCa:
    """What the ACM PCA endpoint says about a CA: its status and its certificate (PEM)."""

    status: str
    certificate_pem: str | None


class PrivateCaError(Exception):
    """The ACM PCA endpoint could not tell (``unknown``, ``denied``, ``unreachable``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class PrivateCaReader(Protocol):
    def __call__(self, acm_pca_arn: str, /) -> PrivateCa:
        """The CA's status, and its certificate when it is ACTIVE; raises PrivateCaError."""


class TrustAnchorService(ResourceService[TrustAnchor]):
    repository = "trust_anchors"
    resource_type = "trust-anchor"
    label = "trust anchor"

    def __init__(self, store: UnitOfWorkFactory, *args: object,
                 private_ca: PrivateCaReader | None = None, **kwargs: object) -> None:
        super().__init__(store, *args, **kwargs)  # type: ignore[arg-type]
        self.private_ca = private_ca

    def check_source(self, source: Source, region: str) -> tuple[dict[str, str], str | None]:
        """Validate a source; return the source data to store, and the CA snapshot of an
        ACM PCA source (None for a bundle)."""
        if source.source_type is None:
            raise ValidationError("The trust anchor source must have a sourceType.")
        if source.source_type == SELF_SIGNED_REPOSITORY:
            raise ValidationError(
                f"Trust anchor source type {source.source_type} is not supported by Roleport "
                f"yet; use {CERTIFICATE_BUNDLE} with the CA certificate in PEM.")
        expected = _DATA_MEMBER[source.source_type]
        if set(source.data) != {expected}:
            raise ValidationError(f"A {source.source_type} source needs sourceData with "
                                  f"{expected} and nothing else.")
        if source.source_type == AWS_ACM_PCA:
            arn = source.data[expected]
            snapshot = self._private_ca_snapshot(arn, region)
            self._check_certificates(snapshot, "The ACM Private CA certificate")
            return {expected: arn}, snapshot
        pem = source.data[expected]
        self._check_certificates(pem, "x509CertificateData")
        return {expected: pem}, None

    def _private_ca_snapshot(self, arn: str, region: str) -> str:
        match = _PCA_ARN.fullmatch(arn)
        if match is None:
            raise ValidationError(f"Invalid acmPcaArn '{arn}': expected "
                                  "arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID.")
        if match["region"] != region:
            raise ValidationError(f"The ACM Private CA '{arn}' is in {match['region']}; a "
                                  f"trust anchor and its Private CA must be in the same "
                                  f"Region ({region}).")
        if self.private_ca is None:
            raise ValidationError("AWS_ACM_PCA trust anchors are not configured on this "
                                  "server.")
        try:
            ca = self.private_ca(arn)
        except PrivateCaError as exc:
            if exc.kind == "denied":
                raise AccessDeniedError(f"The ACM Private CA endpoint refused to read "
                                        f"'{arn}': {exc.message}") from None
            if exc.kind == "unknown":
                raise ValidationError(f"The ACM Private CA '{arn}' was not found.") from None
            raise ValidationError(f"The ACM Private CA '{arn}' could not be read: "
                                  f"{exc.message}") from None
        if ca.status != ACTIVE or not ca.certificate_pem:
            raise ValidationError(f"The ACM Private CA '{arn}' is not {ACTIVE} (its status "
                                  f"is {ca.status}).")
        return ca.certificate_pem

    def _check_certificates(self, pem: str, what: str) -> None:
        try:
            certs = load_pem_bundle(pem)
        except CryptoError as exc:
            raise ValidationError(f"Invalid {what}: {exc.message}",
                                  detail=exc.detail) from None
        limit = self.quotas.certificates_per_trust_anchor
        if len(certs) > limit:
            raise exceeded("certificates per trust anchor", limit,
                           f"The bundle holds {len(certs)} certificates.")
        for index, cert in enumerate(certs, start=1):
            try:
                check_trust_anchor_certificate(cert)
            except CryptoError as exc:
                which = f"Certificate {index} ({cert.subject_dn})" if len(certs) > 1 \
                    else f"The certificate ({cert.subject_dn})"
                raise ValidationError(f"{which} cannot be a trust anchor: {exc.message}",
                                      detail=exc.detail) from None

    def create(self, caller: Caller, *, name: str, source: Source, enabled: bool | None,
               crl_dp_revocation_enabled: bool | None, tag_list: list[Tag] | None,
               notification_settings: list[notifications.SettingInput] | None,
               alias_name: str | None) -> TrustAnchor:
        self.check_tags(tag_list or [])
        data, snapshot = self.check_source(source, caller.region)
        alias = aliases.normalise(alias_name)
        settings = notifications.apply(notifications.defaults(), notification_settings or [],
                                       caller.account_id)
        now = self.clock.now()
        anchor = TrustAnchor(
            id=new_uuid(), account_id=caller.account_id, region=caller.region, name=name,
            source_type=source.source_type or CERTIFICATE_BUNDLE, source_data=data,
            enabled=True if enabled is None else enabled,
            crl_dp_revocation_enabled=bool(crl_dp_revocation_enabled),
            notification_settings=settings, created_at=now, updated_at=now, alias_name=alias,
            tags=tags.initial(tag_list, limit=self.quotas.tags_per_resource),
            ca_snapshot=snapshot)
        return self.create_within_quota(caller, anchor, "trust anchors per account and Region",
                                        self.quotas.trust_anchors)

    def update(self, caller: Caller, identifier: str, *, name: str | None,
               source: Source | None, crl_dp_revocation_enabled: bool | None,
               alias_name: str | None) -> Updated[TrustAnchor]:
        if source is None:
            # an ACM PCA anchor re-reads its CA on every update (AWS: "UpdateTrustAnchor
            # must be called" when the CA's validity changes); read before the write
            current = self.get(caller, identifier)
            if current.source_type == AWS_ACM_PCA:
                source = Source(AWS_ACM_PCA, dict(current.source_data))
        checked = self.check_source(source, caller.region) if source is not None else None

        def change(uow: UnitOfWork, anchor: TrustAnchor) -> Updated[TrustAnchor]:
            if name is not None:
                anchor.name = name
            if checked is not None and source is not None:
                anchor.source_type = source.source_type or anchor.source_type
                anchor.source_data, anchor.ca_snapshot = checked
            if crl_dp_revocation_enabled is not None:
                anchor.crl_dp_revocation_enabled = crl_dp_revocation_enabled
            previous = self.apply_alias(uow, caller.scope, anchor, alias_name)
            return Updated(anchor, previous)

        return self.mutate(caller, identifier, change)

    def put_notification_settings(self, caller: Caller, trust_anchor_id: str,
                                  settings: list[notifications.SettingInput]) -> TrustAnchor:
        def change(_uow: UnitOfWork, anchor: TrustAnchor) -> None:
            anchor.notification_settings = notifications.apply(
                anchor.notification_settings, settings, caller.account_id)
        return self.mutate(caller, trust_anchor_id, change)

    def reset_notification_settings(self, caller: Caller, trust_anchor_id: str,
                                    keys: list[notifications.SettingKey]) -> TrustAnchor:
        def change(_uow: UnitOfWork, anchor: TrustAnchor) -> None:
            anchor.notification_settings = notifications.reset(anchor.notification_settings,
                                                               keys)
        return self.mutate(caller, trust_anchor_id, change)

    def check_tags(self, new_tags: list[Tag]) -> None:
        """The Roleport settings carried by tags (docs/trust-sources.md) must be valid."""
        for tag in new_tags:
            if tag.key == OCSP_TAG and ocsp_mode([tag]) not in (None, *OCSP_MODES):
                raise ValidationError(
                    f"Tag {OCSP_TAG} must be one of {', '.join(OCSP_MODES)} or disabled, not "
                    f"'{tag.value}'.")
            if tag.key == SPIFFE_TAG:
                try:
                    spiffe_id = parse_spiffe_id(f"spiffe://{tag.value.strip()}")
                except CryptoError as exc:
                    raise ValidationError(f"Tag {SPIFFE_TAG} must be a SPIFFE trust domain "
                                          f"(example.org): {exc.message}") from None
                if spiffe_id.path:
                    raise ValidationError(f"Tag {SPIFFE_TAG} must be a SPIFFE trust domain "
                                          f"(example.org), without a path.")

    def _before_delete(self, uow: UnitOfWork, anchor: TrustAnchor) -> None:
        for crl in uow.crls.all(Scope(anchor.account_id, anchor.region),
                                trust_anchor_id=anchor.id):
            uow.crls.delete(crl)

