"""Trust anchors: the CAs whose certificates may exchange a signature for credentials."""

from __future__ import annotations

from dataclasses import dataclass

from roleport.crypto.certificates import check_trust_anchor_certificate, load_pem_bundle
from roleport.crypto.errors import CryptoError
from roleport.domain import aliases, notifications, tags
from roleport.domain.context import Caller, Scope
from roleport.domain.model import Tag, TrustAnchor
from roleport.domain.quotas import exceeded
from roleport.domain.resources import ResourceService, Updated
from roleport.errors import ValidationError
from roleport.ids import new_uuid
from roleport.storage.base import UnitOfWork

CERTIFICATE_BUNDLE = "CERTIFICATE_BUNDLE"
AWS_ACM_PCA = "AWS_ACM_PCA"
SELF_SIGNED_REPOSITORY = "SELF_SIGNED_REPOSITORY"
_DATA_MEMBER = {CERTIFICATE_BUNDLE: "x509CertificateData", AWS_ACM_PCA: "acmPcaArn"}


@dataclass(frozen=True)
class Source:
    source_type: str | None
    data: dict[str, str]


class TrustAnchorService(ResourceService[TrustAnchor]):
    repository = "trust_anchors"
    resource_type = "trust-anchor"
    label = "trust anchor"

    def check_source(self, source: Source) -> dict[str, str]:
        """Validate a source; return the source data to store."""
        if source.source_type is None:
            raise ValidationError("The trust anchor source must have a sourceType.")
        if source.source_type in (AWS_ACM_PCA, SELF_SIGNED_REPOSITORY):
            raise ValidationError(
                f"Trust anchor source type {source.source_type} is not supported by Roleport "
                f"yet; use {CERTIFICATE_BUNDLE} with the CA certificate in PEM.")
        expected = _DATA_MEMBER[source.source_type]
        if set(source.data) != {expected}:
            raise ValidationError(f"A {source.source_type} source needs sourceData with "
                                  f"{expected} and nothing else.")
        pem = source.data[expected]
        try:
            certs = load_pem_bundle(pem)
        except CryptoError as exc:
            raise ValidationError(f"Invalid x509CertificateData: {exc.message}",
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
        return {expected: pem}

    def create(self, caller: Caller, *, name: str, source: Source, enabled: bool | None,
               crl_dp_revocation_enabled: bool | None, tag_list: list[Tag] | None,
               notification_settings: list[notifications.SettingInput] | None,
               alias_name: str | None) -> TrustAnchor:
        data = self.check_source(source)
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
            tags=tags.initial(tag_list, limit=self.quotas.tags_per_resource))
        return self.create_within_quota(caller, anchor, "trust anchors per account and Region",
                                        self.quotas.trust_anchors)

    def update(self, caller: Caller, identifier: str, *, name: str | None,
               source: Source | None, crl_dp_revocation_enabled: bool | None,
               alias_name: str | None) -> Updated[TrustAnchor]:
        data = self.check_source(source) if source is not None else None

        def change(uow: UnitOfWork, anchor: TrustAnchor) -> Updated[TrustAnchor]:
            if name is not None:
                anchor.name = name
            if data is not None and source is not None:
                anchor.source_type = source.source_type or anchor.source_type
                anchor.source_data = data
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

    def _before_delete(self, uow: UnitOfWork, anchor: TrustAnchor) -> None:
        for crl in uow.crls.all(Scope(anchor.account_id, anchor.region),
                                trust_anchor_id=anchor.id):
            uow.crls.delete(crl)

