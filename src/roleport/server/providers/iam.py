"""IAM (query protocol): the role registry's operations, one thin method each.

Wire details live here only: IAM returns policy documents URL-encoded (botocore and the
AWS CLI decode them), ``IsTruncated``/``Marker`` paging, ``Tags`` as ``Key``/``Value``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from roleport.domain.context import Caller
from roleport.domain.model import Tag
from roleport.iam.roles import AttachedPolicy, Listing, Role, RoleRegistry

Params = dict[str, Any]


def _document(text: str) -> str:
    return quote(text, safe="")


def _tags(items: list[dict[str, str]] | None) -> list[Tag] | None:
    return None if items is None else [Tag(t["Key"], t["Value"]) for t in items]


def _tag_list(tags: list[Tag]) -> list[dict[str, str]]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


def role_view(role: Role, *, detail: bool = True) -> Params:
    """The ``Role`` shape; ListRoles leaves out tags, boundary and last use, as IAM does."""
    out: Params = {
        "Path": role.path, "RoleName": role.name, "RoleId": role.role_id, "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": _document(role.trust_policy),
        "MaxSessionDuration": role.max_session_duration,
        "MaxSigninSessionDuration": role.max_signin_session_duration,
    }
    if role.description is not None:
        out["Description"] = role.description
    if detail:
        if role.permissions_boundary:
            out["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                          "PermissionsBoundaryArn": role.permissions_boundary}
        if role.tags:
            out["Tags"] = _tag_list(role.tags)
        out["RoleLastUsed"] = {}
    return out


def _paged(listing: Listing[Any], member: str, items: list[Any]) -> Params:
    out: Params = {member: items, "IsTruncated": listing.is_truncated}
    if listing.marker:
        out["Marker"] = listing.marker
    return out


def _attached(policy: AttachedPolicy) -> Params:
    return {"PolicyName": policy.name, "PolicyArn": policy.arn}


class IamProvider:
    def __init__(self, roles: RoleRegistry) -> None:
        self.roles = roles

    # -- roles -------------------------------------------------------------------------

    def create_role(self, caller: Caller, p: Params) -> Params:
        role = self.roles.create(
            caller.account_id, name=p["RoleName"], path=p.get("Path"),
            trust_policy=p["AssumeRolePolicyDocument"], description=p.get("Description"),
            max_session_duration=p.get("MaxSessionDuration"),
            permissions_boundary=p.get("PermissionsBoundary"), tags=_tags(p.get("Tags")),
            max_signin_session_duration=p.get("MaxSigninSessionDuration"))
        view = role_view(role)
        view.pop("RoleLastUsed")
        return {"Role": view}

    def get_role(self, caller: Caller, p: Params) -> Params:
        return {"Role": role_view(self.roles.get(caller.account_id, p["RoleName"]))}

    def list_roles(self, caller: Caller, p: Params) -> Params:
        listing = self.roles.list_roles(caller.account_id, path_prefix=p.get("PathPrefix"),
                                        marker=p.get("Marker"), max_items=p.get("MaxItems"))
        return _paged(listing, "Roles", [role_view(r, detail=False) for r in listing.items])

    def update_role(self, caller: Caller, p: Params) -> Params:
        self.roles.update(
            caller.account_id, p["RoleName"], description=p.get("Description"),
            max_session_duration=p.get("MaxSessionDuration"),
            max_signin_session_duration=p.get("MaxSigninSessionDuration"),
            reset_max_signin_session_duration=bool(p.get("ResetMaxSigninSessionDuration")))
        return {}

    def update_assume_role_policy(self, caller: Caller, p: Params) -> Params:
        self.roles.update_trust_policy(caller.account_id, p["RoleName"], p["PolicyDocument"])
        return {}

    def delete_role(self, caller: Caller, p: Params) -> Params:
        self.roles.delete(caller.account_id, p["RoleName"])
        return {}

    # -- tags --------------------------------------------------------------------------

    def tag_role(self, caller: Caller, p: Params) -> Params:
        self.roles.tag(caller.account_id, p["RoleName"], _tags(p["Tags"]) or [])
        return {}

    def untag_role(self, caller: Caller, p: Params) -> Params:
        self.roles.untag(caller.account_id, p["RoleName"], p["TagKeys"])
        return {}

    def list_role_tags(self, caller: Caller, p: Params) -> Params:
        listing = self.roles.list_tags(caller.account_id, p["RoleName"], marker=p.get("Marker"),
                                       max_items=p.get("MaxItems"))
        return _paged(listing, "Tags", _tag_list(listing.items))

    # -- inline policies ---------------------------------------------------------------

    def put_role_policy(self, caller: Caller, p: Params) -> Params:
        self.roles.put_policy(caller.account_id, p["RoleName"], p["PolicyName"],
                              p["PolicyDocument"])
        return {}

    def get_role_policy(self, caller: Caller, p: Params) -> Params:
        role, text = self.roles.get_policy(caller.account_id, p["RoleName"], p["PolicyName"])
        return {"RoleName": role.name, "PolicyName": p["PolicyName"],
                "PolicyDocument": _document(text)}

    def delete_role_policy(self, caller: Caller, p: Params) -> Params:
        self.roles.delete_policy(caller.account_id, p["RoleName"], p["PolicyName"])
        return {}

    def list_role_policies(self, caller: Caller, p: Params) -> Params:
        listing = self.roles.list_policies(caller.account_id, p["RoleName"],
                                           marker=p.get("Marker"), max_items=p.get("MaxItems"))
        return _paged(listing, "PolicyNames", list(listing.items))

    # -- attached policies -------------------------------------------------------------

    def attach_role_policy(self, caller: Caller, p: Params) -> Params:
        self.roles.attach(caller.account_id, p["RoleName"], p["PolicyArn"])
        return {}

    def detach_role_policy(self, caller: Caller, p: Params) -> Params:
        self.roles.detach(caller.account_id, p["RoleName"], p["PolicyArn"])
        return {}

    def list_attached_role_policies(self, caller: Caller, p: Params) -> Params:
        listing = self.roles.list_attached(caller.account_id, p["RoleName"],
                                           path_prefix=p.get("PathPrefix"),
                                           marker=p.get("Marker"), max_items=p.get("MaxItems"))
        return _paged(listing, "AttachedPolicies", [_attached(a) for a in listing.items])
