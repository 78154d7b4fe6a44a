"""The Roles Anywhere control plane: one thin method per operation of the model.

Each method takes the caller and the validated wire parameters, calls the domain, and
returns the output shape's dict via ``views``. Nothing here validates what the model
already constrains, or knows about HTTP.
"""

from __future__ import annotations

from typing import Any

from roleport.domain.context import Caller
from roleport.domain.crls import CrlService
from roleport.domain.model import Tag, TipConfiguration
from roleport.domain.notifications import SettingInput, SettingKey
from roleport.domain.profiles import ProfileChanges, ProfileService
from roleport.domain.resources import require_uuid
from roleport.domain.subjects import SubjectService
from roleport.domain.tagging import TaggingService
from roleport.domain.trust_anchors import Source, TrustAnchorService
from roleport.domain.trusted_identity import configured
from roleport.server import views

Params = dict[str, Any]


def _tags(params: Params, member: str = "tags") -> list[Tag] | None:
    items = params.get(member)
    return None if items is None else [Tag(t["key"], t["value"]) for t in items]


def _source(value: dict[str, Any] | None) -> Source | None:
    if value is None:
        return None
    return Source(value.get("sourceType"), dict(value.get("sourceData") or {}))


def _tip(value: dict[str, Any] | None) -> TipConfiguration | None:
    if value is None:
        return None
    return configured(value["status"], value.get("subjectType"), value.get("subjectSource"))


def _settings(items: list[dict[str, Any]] | None) -> list[SettingInput] | None:
    if items is None:
        return None
    return [SettingInput(event=s["event"], enabled=s["enabled"], threshold=s.get("threshold"),
                         channel=s.get("channel")) for s in items]


class RolesAnywhereProvider:
    def __init__(self, trust_anchors: TrustAnchorService, profiles: ProfileService,
                 crls: CrlService, subjects: SubjectService, tagging: TaggingService) -> None:
        self.trust_anchors = trust_anchors
        self.profiles = profiles
        self.crls = crls
        self.subjects = subjects
        self.tagging = tagging

    # -- trust anchors -------------------------------------------------------------

    def create_trust_anchor(self, caller: Caller, p: Params) -> Params:
        ta = self.trust_anchors.create(
            caller, name=p["name"], source=_source(p["source"]), enabled=p.get("enabled"),
            crl_dp_revocation_enabled=p.get("crlDpRevocationEnabled"), tag_list=_tags(p),
            notification_settings=_settings(p.get("notificationSettings")),
            alias_name=p.get("aliasName"))
        return {"trustAnchor": views.trust_anchor(ta)}

    def get_trust_anchor(self, caller: Caller, p: Params) -> Params:
        return {"trustAnchor": views.trust_anchor(
            self.trust_anchors.get(caller, p["trustAnchorId"]))}

    def update_trust_anchor(self, caller: Caller, p: Params) -> Params:
        done = self.trust_anchors.update(
            caller, p["trustAnchorId"], name=p.get("name"), source=_source(p.get("source")),
            crl_dp_revocation_enabled=p.get("crlDpRevocationEnabled"),
            alias_name=p.get("aliasName"))
        return {"trustAnchor": views.trust_anchor(done.resource, done.previous_alias_name)}

    def delete_trust_anchor(self, caller: Caller, p: Params) -> Params:
        return {"trustAnchor": views.trust_anchor(
            self.trust_anchors.delete(caller, p["trustAnchorId"]))}

    def enable_trust_anchor(self, caller: Caller, p: Params) -> Params:
        return {"trustAnchor": views.trust_anchor(
            self.trust_anchors.set_enabled(caller, p["trustAnchorId"], True))}

    def disable_trust_anchor(self, caller: Caller, p: Params) -> Params:
        return {"trustAnchor": views.trust_anchor(
            self.trust_anchors.set_enabled(caller, p["trustAnchorId"], False))}

    def list_trust_anchors(self, caller: Caller, p: Params) -> Params:
        page = self.trust_anchors.list(caller, p.get("nextToken"), p.get("pageSize"))
        return {"trustAnchors": [views.trust_anchor(t) for t in page.items],
                "nextToken": page.next_token}

    def put_notification_settings(self, caller: Caller, p: Params) -> Params:
        require_uuid(p["trustAnchorId"], "trustAnchorId")
        ta = self.trust_anchors.put_notification_settings(
            caller, p["trustAnchorId"], _settings(p["notificationSettings"]) or [])
        return {"trustAnchor": views.trust_anchor(ta)}

    def reset_notification_settings(self, caller: Caller, p: Params) -> Params:
        require_uuid(p["trustAnchorId"], "trustAnchorId")
        keys = [SettingKey(k["event"], k.get("channel")) for k in p["notificationSettingKeys"]]
        ta = self.trust_anchors.reset_notification_settings(caller, p["trustAnchorId"], keys)
        return {"trustAnchor": views.trust_anchor(ta)}

    # -- profiles ------------------------------------------------------------------

    def create_profile(self, caller: Caller, p: Params) -> Params:
        profile = self.profiles.create(
            caller, name=p["name"], role_arns=p["roleArns"],
            managed_policy_arns=p.get("managedPolicyArns"),
            session_policy=p.get("sessionPolicy"), duration_seconds=p.get("durationSeconds"),
            enabled=p.get("enabled"),
            require_instance_properties=p.get("requireInstanceProperties"),
            accept_role_session_name=p.get("acceptRoleSessionName"), tag_list=_tags(p),
            alias_name=p.get("aliasName"), tip_configuration=_tip(p.get("tipConfiguration")))
        return {"profile": views.profile(profile)}

    def get_profile(self, caller: Caller, p: Params) -> Params:
        return {"profile": views.profile(self.profiles.get(caller, p["profileId"]))}

    def update_profile(self, caller: Caller, p: Params) -> Params:
        done = self.profiles.update(caller, p["profileId"], ProfileChanges(
            name=p.get("name"), session_policy=p.get("sessionPolicy"),
            role_arns=p.get("roleArns"), managed_policy_arns=p.get("managedPolicyArns"),
            duration_seconds=p.get("durationSeconds"),
            accept_role_session_name=p.get("acceptRoleSessionName"),
            alias_name=p.get("aliasName"), tip_configuration=_tip(p.get("tipConfiguration"))))
        return {"profile": views.profile(done.resource, done.previous_alias_name)}

    def delete_profile(self, caller: Caller, p: Params) -> Params:
        return {"profile": views.profile(self.profiles.delete(caller, p["profileId"]))}

    def enable_profile(self, caller: Caller, p: Params) -> Params:
        return {"profile": views.profile(
            self.profiles.set_enabled(caller, p["profileId"], True))}

    def disable_profile(self, caller: Caller, p: Params) -> Params:
        return {"profile": views.profile(
            self.profiles.set_enabled(caller, p["profileId"], False))}

    def list_profiles(self, caller: Caller, p: Params) -> Params:
        page = self.profiles.list(caller, p.get("nextToken"), p.get("pageSize"))
        return {"profiles": [views.profile(x) for x in page.items], "nextToken": page.next_token}

    def put_attribute_mapping(self, caller: Caller, p: Params) -> Params:
        profile = self.profiles.put_attribute_mapping(
            caller, p["profileId"], p["certificateField"],
            [rule["specifier"] for rule in p["mappingRules"]])
        return {"profile": views.profile(profile)}

    def delete_attribute_mapping(self, caller: Caller, p: Params) -> Params:
        profile = self.profiles.delete_attribute_mapping(
            caller, p["profileId"], p["certificateField"], p.get("specifiers"))
        return {"profile": views.profile(profile)}

    # -- CRLs ----------------------------------------------------------------------

    def import_crl(self, caller: Caller, p: Params) -> Params:
        crl = self.crls.import_crl(
            caller, name=p["name"], crl_data=p["crlData"], trust_anchor_arn=p["trustAnchorArn"],
            enabled=p.get("enabled"), tag_list=_tags(p), alias_name=p.get("aliasName"))
        return {"crl": views.crl(crl)}

    def get_crl(self, caller: Caller, p: Params) -> Params:
        return {"crl": views.crl(self.crls.get(caller, p["crlId"]))}

    def update_crl(self, caller: Caller, p: Params) -> Params:
        done = self.crls.update(caller, p["crlId"], name=p.get("name"),
                                crl_data=p.get("crlData"), alias_name=p.get("aliasName"))
        return {"crl": views.crl(done.resource, done.previous_alias_name)}

    def delete_crl(self, caller: Caller, p: Params) -> Params:
        return {"crl": views.crl(self.crls.delete(caller, p["crlId"]))}

    def enable_crl(self, caller: Caller, p: Params) -> Params:
        return {"crl": views.crl(self.crls.set_enabled(caller, p["crlId"], True))}

    def disable_crl(self, caller: Caller, p: Params) -> Params:
        return {"crl": views.crl(self.crls.set_enabled(caller, p["crlId"], False))}

    def list_crls(self, caller: Caller, p: Params) -> Params:
        page = self.crls.list(caller, p.get("nextToken"), p.get("pageSize"))
        return {"crls": [views.crl(c) for c in page.items], "nextToken": page.next_token}

    # -- subjects ------------------------------------------------------------------

    def get_subject(self, caller: Caller, p: Params) -> Params:
        return {"subject": views.subject_detail(self.subjects.get(caller, p["subjectId"]))}

    def list_subjects(self, caller: Caller, p: Params) -> Params:
        page = self.subjects.list(caller, p.get("nextToken"), p.get("pageSize"))
        return {"subjects": [views.subject_summary(s) for s in page.items],
                "nextToken": page.next_token}

    # -- tags ----------------------------------------------------------------------

    def tag_resource(self, caller: Caller, p: Params) -> Params:
        self.tagging.tag(caller, p["resourceArn"], _tags(p) or [])
        return {}

    def untag_resource(self, caller: Caller, p: Params) -> Params:
        self.tagging.untag(caller, p["resourceArn"], p["tagKeys"])
        return {}

    def list_tags_for_resource(self, caller: Caller, p: Params) -> Params:
        return {"tags": views.tag_list(self.tagging.list_tags(caller, p["resourceArn"]))}
