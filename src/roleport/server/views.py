"""Domain objects -> wire dicts (pure functions; the only place wire names meet them)."""

from __future__ import annotations

from typing import Any

from roleport import arns
from roleport.domain.model import (
    AttributeMapping,
    Crl,
    NotificationSetting,
    Profile,
    Subject,
    Tag,
    TrustAnchor,
)


def tag_list(tags: list[Tag]) -> list[dict[str, str]]:
    return [{"key": t.key, "value": t.value} for t in tags]


def _alias(out: dict[str, Any], resource: Any, previous_alias_name: str | None) -> None:
    if resource.alias_name:
        out["aliasName"] = resource.alias_name
        out["aliasArn"] = arns.alias_arn(resource.region, resource.account_id,
                                         resource.resource_type, resource.alias_name)
    if previous_alias_name:
        out["previousAliasName"] = previous_alias_name


def notification_setting(s: NotificationSetting) -> dict[str, Any]:
    return {"enabled": s.enabled, "event": s.event, "threshold": s.threshold,
            "channel": s.channel, "configuredBy": s.configured_by}


def trust_anchor(ta: TrustAnchor, previous_alias_name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trustAnchorId": ta.id,
        "trustAnchorArn": ta.arn,
        "name": ta.name,
        "source": {"sourceType": ta.source_type, "sourceData": dict(ta.source_data)},
        "enabled": ta.enabled,
        "crlDpRevocationEnabled": ta.crl_dp_revocation_enabled,
        "createdAt": ta.created_at,
        "updatedAt": ta.updated_at,
        "notificationSettings": [notification_setting(s) for s in ta.notification_settings],
    }
    _alias(out, ta, previous_alias_name)
    return out


def attribute_mapping(m: AttributeMapping) -> dict[str, Any]:
    return {"certificateField": m.certificate_field,
            "mappingRules": [{"specifier": s} for s in m.specifiers]}


def profile(p: Profile, previous_alias_name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "profileId": p.id,
        "profileArn": p.arn,
        "name": p.name,
        "requireInstanceProperties": p.require_instance_properties,
        "enabled": p.enabled,
        "createdBy": p.created_by,
        "sessionPolicy": p.session_policy,
        "roleArns": list(p.role_arns),
        "managedPolicyArns": list(p.managed_policy_arns),
        "createdAt": p.created_at,
        "updatedAt": p.updated_at,
        "durationSeconds": p.duration_seconds,
        "acceptRoleSessionName": p.accept_role_session_name,
        "attributeMappings": [attribute_mapping(m) for m in p.attribute_mappings],
    }
    tip = p.tip_configuration
    if tip is not None:
        out["tipConfiguration"] = {"status": tip.status, "subjectType": tip.subject_type,
                                   "subjectSource": tip.subject_source}
    _alias(out, p, previous_alias_name)
    return out


def crl(c: Crl, previous_alias_name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "crlId": c.id,
        "crlArn": c.arn,
        "name": c.name,
        "enabled": c.enabled,
        "crlData": c.crl_data,
        "trustAnchorArn": c.trust_anchor_arn,
        "createdAt": c.created_at,
        "updatedAt": c.updated_at,
    }
    _alias(out, c, previous_alias_name)
    return out


def subject_summary(s: Subject) -> dict[str, Any]:
    return {
        "subjectArn": s.arn,
        "subjectId": s.id,
        "enabled": s.enabled,
        "x509Subject": s.x509_subject,
        "lastSeenAt": s.last_seen_at,
        "createdAt": s.created_at,
        "updatedAt": s.updated_at,
    }


def subject_detail(s: Subject) -> dict[str, Any]:
    out = subject_summary(s)
    out["credentials"] = [{
        "seenAt": c.seen_at, "serialNumber": c.serial_number, "issuer": c.issuer,
        "enabled": c.enabled, "x509CertificateData": c.x509_certificate_data,
        "failed": c.failed} for c in s.credentials]
    out["instanceProperties"] = [{"seenAt": i.seen_at, "properties": dict(i.properties),
                                  "failed": i.failed} for i in s.instance_properties]
    return out
