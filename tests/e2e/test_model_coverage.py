"""No input member is silently dropped: a request that sets every member, for every
operation of the installed Roles Anywhere model and every IAM/STS operation Roleport
serves, generated from the shapes.

For each member the outcome must be one of:

* refused: ``400`` whose message names the member as not supported by Roleport (declared
  once, in roleport.spec.unsupported); the request is then sent again without it;
* returned: the output shape has a member of that name, and the response carries the value
  sent there, and so does the resource when read again (GetX after CreateX/UpdateX);
* acted on: the output shape has no such member, and :data:`EFFECTS` says how the member is
  observed (tags through ListTagsForResource, a page size through the page's length...).

A member that a new botocore adds is in none of these until Roleport honours or refuses
it, so this test fails on the first run with that botocore.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from roleport.crypto import devpki
from roleport.server.providers.iam import IamProvider
from roleport.server.providers.sts import StsProvider
from roleport.spec.models import load_service
from roleport.spec.unsupported import UNSUPPORTED as UNSUPPORTED_BY_NAME
from roleport.testing import RoleportServer

from .clients.support import Setup, post_session
from .coverage_support import echoed, full_params, shape_has_member

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"
EXTERNAL_ID = "roleport-external"


def _served(service: str, provider: type | None) -> list[str]:
    names = load_service(service).model.operation_names
    return [n for n in names if provider is None or hasattr(provider, xform_name(n))]


OPERATIONS = ([("rolesanywhere", n) for n in _served("rolesanywhere", None)]
              + [("iam", n) for n in _served("iam", IamProvider)]
              + [("sts", n) for n in _served("sts", StsProvider)])


@dataclass
class World:
    """One account with two of everything, so that lists have a second page."""

    setup: Setup
    pki: Any
    clients: dict[str, Any] = field(default_factory=dict)
    subject_id: str = ""
    crl_id: str = ""
    crl_pem: bytes = b""
    sts_role_arn: str = ""

    @classmethod
    def build(cls, server: RoleportServer, pki: Any) -> World:
        setup = Setup(server, server.new_account(), [pki.root])
        world = cls(setup, pki, {s: server.client(s, setup.account)
                                 for s in ("rolesanywhere", "iam", "sts")})
        ra, iam = world.clients["rolesanywhere"], world.clients["iam"]
        setup.new_profile()
        ra.tag_resource(resourceArn=world.profile_arn, tags=[{"key": "team", "value": "a"}])
        second = ra.create_trust_anchor(name="second", source=world.source)["trustAnchor"]
        world.crl_pem = devpki.create_crl(pki.root, []).pem.encode()
        for anchor in (second["trustAnchorArn"], world.trust_anchor_arn):  # 2 per anchor at most
            world.crl_id = ra.import_crl(name="crl", crlData=world.crl_pem,
                                         trustAnchorArn=anchor)["crl"]["crlId"]
        for cn in ("first", "second"):
            response = post_session(server, devpki.issue_leaf(pki.root, cn), body=setup.arns)
            assert response.status_code == 201, response.text
            world.subject_id = response.json()["subjectArn"].rsplit("/", 1)[1]
        iam.tag_role(RoleName="workload", Tags=[{"Key": "team", "Value": "a"},
                                                 {"Key": "env", "Value": "b"}])
        iam.put_role_policy(RoleName="workload", PolicyName="inline", PolicyDocument=POLICY)
        iam.put_role_policy(RoleName="workload", PolicyName="second", PolicyDocument=POLICY)
        iam.attach_role_policy(RoleName="workload", PolicyArn=MANAGED)
        iam.attach_role_policy(RoleName="workload", PolicyArn=MANAGED + "2")
        setup.role("other", policy=POLICY_FOR_ROLES_ANYWHERE)
        world.sts_role_arn = iam.create_role(
            RoleName="assumable", AssumeRolePolicyDocument=_admin_trust(setup.account.account_id),
            MaxSessionDuration=7200)["Role"]["Arn"]
        return world

    @property
    def profile_arn(self) -> str:
        return self.setup.profile["profileArn"]

    @property
    def trust_anchor_arn(self) -> str:
        return self.setup.trust_anchor["trustAnchorArn"]

    @property
    def source(self) -> dict[str, Any]:
        return {"sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": self.pki.root.cert_pem}}

    def override(self, service: str) -> Callable[[str, str], Any]:
        """The values that must name something real, by member path."""
        s = self.setup
        if service == "rolesanywhere":
            values = {
                "trustAnchorId": s.trust_anchor["trustAnchorId"],
                "profileId": s.profile["profileId"], "crlId": self.crl_id,
                "subjectId": self.subject_id, "resourceArn": self.profile_arn,
                "trustAnchorArn": self.trust_anchor_arn, "source": self.source,
                "crlData": self.crl_pem, "sessionPolicy": POLICY, "roleArns": [s.role_arn],
                "managedPolicyArns": [MANAGED], "certificateField": "x509Issuer",
                "mappingRules.specifier": "CN", "specifiers": ["CN"],
                "tags.key": "owner", "tagKeys": ["team"],
            }
            return lambda _op, path: values.get(path)
        if service == "iam":
            def iam_value(op: str, path: str) -> Any:
                role = {"CreateRole": "created", "DeleteRole": "other"}.get(op, "workload")
                return {"RoleName": role,
                        "Path": "/team/", "PathPrefix": "/",
                        "AssumeRolePolicyDocument": POLICY_FOR_ROLES_ANYWHERE,
                        "PolicyDocument": (POLICY_FOR_ROLES_ANYWHERE
                                           if op == "UpdateAssumeRolePolicy" else POLICY),
                        "PermissionsBoundary": MANAGED,
                        "PolicyArn": MANAGED, "PolicyName": "inline",
                        "Tags.Key": "owner", "TagKeys": ["team"],
                        # True would contradict MaxSigninSessionDuration (test_iam has it)
                        "ResetMaxSigninSessionDuration": False}.get(path)
            return iam_value
        values = {"RoleArn": self.sts_role_arn, "Policy": POLICY, "PolicyArns.arn": MANAGED,
                  "ExternalId": EXTERNAL_ID, "Tags.Key": "owner", "TokenCode": "123456",
                  "SerialNumber": "arn:aws:iam::123456789012:mfa/device",
                  "ProvidedContexts.ProviderArn": "arn:aws:iam::aws:contextProvider/x"}
        return lambda _op, path: values.get(path)


POLICY_FOR_ROLES_ANYWHERE = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})


def _admin_trust(account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]})


# -- how the members that are not returned are observed -----------------------------------

#: (world, operation, params sent, output) -> None, asserting the member took effect
Check = Callable[[World, str, dict[str, Any], dict[str, Any]], None]
Params = dict[str, Any]


def _ra_tags(world: World, arn: str) -> list[dict[str, str]]:
    return world.clients["rolesanywhere"].list_tags_for_resource(resourceArn=arn)["tags"]


def _created_tags(world: World, op: str, params: Params, output: Params) -> None:
    [resource] = output.values()
    arn = next(v for k, v in resource.items() if k.endswith("Arn") and k != "trustAnchorArn")
    assert _ra_tags(world, arn) == params["tags"]


def _tags_changed(world: World, op: str, params: Params, output: Params) -> None:
    tags = _ra_tags(world, params["resourceArn"])
    assert all(t in tags for t in params.get("tags", []))
    assert not {t["key"] for t in tags} & set(params.get("tagKeys", []))


def _listed_tags(world: World, op: str, params: Params, output: Params) -> None:
    assert output["tags"] == _ra_tags(world, world.profile_arn) != []


def _mapping_removed(world: World, op: str, params: Params, output: Params) -> None:
    left = {r["specifier"] for m in output["profile"]["attributeMappings"]
            if m["certificateField"] == params["certificateField"] for r in m["mappingRules"]}
    assert not left & set(params["specifiers"])


def _settings_reset(world: World, op: str, params: Params, output: Params) -> None:
    for key in params["notificationSettingKeys"]:
        [setting] = [s for s in output["trustAnchor"]["notificationSettings"]
                     if s["event"] == key["event"] and s["channel"] == key["channel"]]
        assert setting["configuredBy"] == "rolesanywhere.amazonaws.com"


def _role_read(world: World, op: str, params: Params, output: Params) -> None:
    role = world.clients["iam"].get_role(RoleName=params["RoleName"])["Role"]
    for name in ("Description", "MaxSessionDuration", "MaxSigninSessionDuration"):
        if name in params:
            assert role.get(name) == params[name], f"{name} not stored"
    if "PolicyDocument" in params:
        assert role["AssumeRolePolicyDocument"] == json.loads(params["PolicyDocument"])
    if "PermissionsBoundary" in params:
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == params[
            "PermissionsBoundary"]


def _role_tags(world: World, op: str, params: Params, output: Params) -> None:
    tags = world.clients["iam"].list_role_tags(RoleName=params["RoleName"])["Tags"]
    assert all(t in tags for t in params.get("Tags", []))
    assert not {t["Key"] for t in tags} & set(params.get("TagKeys", []))


def _inline(world: World, op: str, params: Params, output: Params) -> None:
    names = world.clients["iam"].list_role_policies(RoleName=params["RoleName"])["PolicyNames"]
    assert (params["PolicyName"] in names) == (op == "PutRolePolicy")


def _attached(world: World, op: str, params: Params, output: Params) -> None:
    arns = [p["PolicyArn"] for p in world.clients["iam"].list_attached_role_policies(
        RoleName=params["RoleName"])["AttachedPolicies"]]
    assert (params["PolicyArn"] in arns) == (op == "AttachRolePolicy")


def _role_gone(world: World, op: str, params: Params, output: Params) -> None:
    with pytest.raises(ClientError) as exc:
        world.clients["iam"].get_role(RoleName=params["RoleName"])
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def _listed_under(world: World, op: str, params: Params, output: Params) -> None:
    assert all(r["Path"].startswith(params["PathPrefix"]) for r in output["Roles"])


def _the_request_itself(world: World, op: str, params: Params, output: Params) -> None:
    """The member names what the operation reads (an identifier, a filter that every
    item passes): a wrong value would have failed the request or changed the answer."""


def _assumed(world: World, op: str, params: Params, output: Params) -> None:
    user = output["AssumedRoleUser"]["Arn"]
    assert user.endswith(f"/{params['RoleSessionName']}")
    assert f"/{params['RoleArn'].rsplit('/', 1)[1]}/" in user
    expires = datetime.now(UTC) + timedelta(seconds=params["DurationSeconds"])
    assert abs((output["Credentials"]["Expiration"] - expires).total_seconds()) < 60
    assert output["PackedPolicySize"] > 0  # the session policies and tags were packed


_RA_EFFECTS: dict[tuple[str, str], Check] = {
    **{(op, "tags"): _created_tags for op in ("CreateProfile", "CreateTrustAnchor",
                                               "ImportCrl")},
    **{(op, m): _tags_changed for op in ("TagResource", "UntagResource")
       for m in ("resourceArn", "tags", "tagKeys")},
    ("ListTagsForResource", "resourceArn"): _listed_tags,
    ("DeleteAttributeMapping", "certificateField"): _mapping_removed,
    ("DeleteAttributeMapping", "specifiers"): _mapping_removed,
    ("ResetNotificationSettings", "notificationSettingKeys"): _settings_reset,
}
_IAM_EFFECTS: dict[tuple[str, str], Check] = {
    ("CreateRole", "PermissionsBoundary"): _role_read,
    **{("UpdateRole", m): _role_read for m in (  # False: the duration just set stays
        "RoleName", "Description", "MaxSessionDuration", "MaxSigninSessionDuration",
        "ResetMaxSigninSessionDuration")},
    **{("UpdateAssumeRolePolicy", m): _role_read for m in ("RoleName", "PolicyDocument")},
    **{(op, m): _role_tags for op in ("TagRole", "UntagRole")
       for m in ("RoleName", "Tags", "TagKeys")},
    **{(op, m): _inline for op in ("PutRolePolicy", "DeleteRolePolicy")
       for m in ("RoleName", "PolicyName", "PolicyDocument")},
    **{(op, m): _attached for op in ("AttachRolePolicy", "DetachRolePolicy")
       for m in ("RoleName", "PolicyArn")},
    ("DeleteRole", "RoleName"): _role_gone,
    **{(op, "RoleName"): _the_request_itself for op in (
        "ListRoleTags", "ListRolePolicies", "ListAttachedRolePolicies")},
    ("ListRoles", "PathPrefix"): _listed_under,
    ("ListAttachedRolePolicies", "PathPrefix"): _the_request_itself,
}
_STS_EFFECTS: dict[tuple[str, str], Check] = {
    **{("AssumeRole", m): _assumed for m in ("RoleArn", "RoleSessionName", "DurationSeconds",
                                             "Policy", "PolicyArns", "Tags")},
    ("AssumeRole", "ExternalId"): _the_request_itself,  # the trust policy requires it
}
EFFECTS = {"rolesanywhere": _RA_EFFECTS, "iam": _IAM_EFFECTS, "sts": _STS_EFFECTS}


# -- the test -------------------------------------------------------------------------------

_REFUSED = re.compile(r"The parameter (\S+) of \w+ is not supported by Roleport")


def _paginate(world: World, service: str, op: Any, params: Params) -> dict[str, Check]:
    """For a paginated operation: ask for a page of one, then send the token of page 2."""
    config = botocore.session.get_session().get_paginator_model(service)._paginator_config
    paging = config.get(op.name)
    if paging is None:
        return {}
    token, result = paging["input_token"], paging["result_key"]
    limit = paging.get("limit_key") or "pageSize"
    first = dict(params, **{limit: 1})
    first.pop(token, None)
    call = getattr(world.clients[service], xform_name(op.name))
    page1 = call(**first)
    params[limit] = 1
    params[token] = page1[paging["output_token"]]
    assert params[token], f"{op.name}: the world has a single item, no second page"

    def second_page(w: World, o: str, p: Params, output: Params) -> None:
        assert len(output[result]) == 1 and output[result] != page1[result]
    return {limit: second_page, token: second_page}


def _drop(params: Params, path: str) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        params.pop(head, None)
        return
    items = params.get(head)
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict):
            _drop(item, rest)


def _read_again(world: World, service: str, op: Any, output: Params) -> tuple[Any, Params]:
    """The resource of ``output`` read back with its Get operation (None if there is none)."""
    model = load_service(service).model
    if op.name.startswith(("Get", "List", "Delete")) or op.output_shape is None:
        return None, {}
    resources = [(n, m) for n, m in op.output_shape.members.items()
                 if m.type_name == "structure"]
    if len(resources) != 1:
        return None, {}
    name, shape = resources[0]
    for other in model.operation_names:
        get = model.operation_model(other)
        if other.startswith("Get") and get.output_shape is not None and any(
                m.name == shape.name for m in get.output_shape.members.values()):
            args = {n: output[name][n] for n in get.input_shape.required_members}
            read = getattr(world.clients[service], xform_name(other))(**args)
            read.pop("ResponseMetadata")
            return get.output_shape, read
    return None, {}


@pytest.mark.parametrize(("service", "operation"), OPERATIONS,
                         ids=[f"{s}.{o}" for s, o in OPERATIONS])
def test_every_input_member_is_honoured_or_refused_by_name(server: RoleportServer, pki,
                                                           service: str,
                                                           operation: str) -> None:
    world = World.build(server, pki)
    op = load_service(service).model.operation_model(operation)
    params = full_params(op, world.override(service))
    checks = {**{m: c for (o, m), c in EFFECTS[service].items() if o == operation},
              **_paginate(world, service, op, params)}
    refused = []
    while True:
        try:
            output = getattr(world.clients[service], xform_name(operation))(**params)
            break
        except ClientError as exc:
            error, meta = exc.response["Error"], exc.response["ResponseMetadata"]
            named = _REFUSED.match(error.get("Message", ""))
            assert meta["HTTPStatusCode"] == 400 and named, (
                f"{operation} with every member failed: {meta['HTTPStatusCode']} "
                f"{error.get('Code')}: {error.get('Message')}")
            refused.append(named.group(1))
            _drop(params, named.group(1))
    output.pop("ResponseMetadata")
    read_shape, read = _read_again(world, service, op, output)
    problems = []
    for name, sent in params.items():
        if name in checks:
            checks[name](world, operation, params, output)
        elif not shape_has_member(op.output_shape, name):
            problems.append(f"{name}: not in the output shape, and nothing says how it is "
                            f"honoured (EFFECTS) or refuses it (roleport.spec.unsupported)")
        elif not echoed(output, name, sent):
            problems.append(f"{name}: sent {sent!r}, not returned")
        elif shape_has_member(read_shape, name) and not echoed(read, name, sent):
            problems.append(f"{name}: returned, but not stored (read again: absent)")
    assert not problems, f"{operation}: " + "; ".join(problems)
    assert sorted(refused) == sorted(UNSUPPORTED_BY_NAME.get(service, {}).get(operation, {}))
