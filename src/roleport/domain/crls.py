"""Certificate revocation lists imported into a trust anchor."""

from __future__ import annotations

from roleport import arns
from roleport.crypto.certificates import load_pem_bundle
from roleport.crypto.crls import load_crl, verify_crl_signed_by
from roleport.crypto.errors import CryptoError
from roleport.domain import aliases, tags
from roleport.domain.context import Caller
from roleport.domain.model import Crl, Tag, TrustAnchor
from roleport.domain.quotas import exceeded
from roleport.domain.resources import ResourceService, Updated
from roleport.errors import NotFoundError, ValidationError
from roleport.ids import new_uuid
from roleport.storage.base import UnitOfWork


def check_crl_for(anchor: TrustAnchor, crl_data: bytes) -> None:
    """The CRL must parse and be signed by a CA certificate of the trust anchor."""
    try:
        crl = load_crl(crl_data)
    except CryptoError as exc:
        raise ValidationError(f"Invalid crlData: {exc.message}", detail=exc.detail) from None
    bundle = anchor.certificate_bundle
    cas = load_pem_bundle(bundle) if bundle else []
    try:
        verify_crl_signed_by(crl, cas)
    except CryptoError as exc:
        raise ValidationError(f"Invalid crlData for trust anchor {anchor.id}: {exc.message}",
                              detail=exc.detail) from None


class CrlService(ResourceService[Crl]):
    repository = "crls"
    resource_type = "crl"
    label = "CRL"

    def _anchor_by_arn(self, uow: UnitOfWork, caller: Caller, trust_anchor_arn: str,
                       ) -> TrustAnchor:
        ref = arns.parse_roles_anywhere(trust_anchor_arn)
        missing = NotFoundError(f"The trust anchor '{trust_anchor_arn}' was not found in this "
                                f"account and Region.")
        if ref is None or ref.resource_type != "trust-anchor" or ref.resource_id is None:
            # alias ARNs are refused here, as the model documents
            raise missing
        if ref.account != caller.account_id or ref.region != caller.region:
            raise missing
        anchor = uow.trust_anchors.get(caller.scope, ref.resource_id, for_update=True)
        if anchor is None:
            raise missing
        return anchor

    def import_crl(self, caller: Caller, *, name: str, crl_data: bytes, trust_anchor_arn: str,
                   enabled: bool | None, tag_list: list[Tag] | None,
                   alias_name: str | None) -> Crl:
        alias = aliases.normalise(alias_name)
        tag_values = tags.initial(tag_list, limit=self.quotas.tags_per_resource)
        with self.store(write=True) as uow:
            uow.lock_scope(caller.scope)
            anchor = self._anchor_by_arn(uow, caller, trust_anchor_arn)
            check_crl_for(anchor, crl_data)
            limit = self.quotas.crls_per_trust_anchor
            if uow.crls.count(caller.scope, trust_anchor_id=anchor.id) >= limit:
                raise exceeded("CRLs per trust anchor", limit)
            self.check_alias_free(uow, caller.scope, alias)
            now = self.clock.now()
            crl = Crl(id=new_uuid(), account_id=caller.account_id, region=caller.region,
                      trust_anchor_id=anchor.id, name=name,
                      enabled=True if enabled is None else enabled, crl_data=crl_data,
                      created_at=now, updated_at=now, alias_name=alias, tags=tag_values)
            self.insert(uow, crl)  # (the trust anchor's revocation set changed)
        return crl

    def update(self, caller: Caller, identifier: str, *, name: str | None,
               crl_data: bytes | None, alias_name: str | None) -> Updated[Crl]:
        def change(uow: UnitOfWork, crl: Crl) -> Updated[Crl]:
            if crl_data is not None:
                anchor = uow.trust_anchors.get(caller.scope, crl.trust_anchor_id)
                if anchor is None:  # pragma: no cover - CRLs go with their anchor
                    raise self.not_found(identifier)
                check_crl_for(anchor, crl_data)
                crl.crl_data = crl_data
            if name is not None:
                crl.name = name
            previous = self.apply_alias(uow, caller.scope, crl, alias_name)
            return Updated(crl, previous)

        return self.mutate(caller, identifier, change)
