"""Two accounts, two regions, random operations: no tenant ever sees or touches another's
resources, subjects, tags or credentials.

Hypothesis draws sequences of steps; each step is one actor (account x region) doing one
thing (create, get, list, tag, untag, update, delete, list tags, CreateSession, STS) to a
resource chosen among everything created so far, whoever owns it. A model says who owns
what; the property is that an actor succeeds exactly on its own resources, that lists show
exactly its own, and that a refused step changed nothing for the owner. IAM roles are
global to an account, as in AWS; Roles Anywhere resources and subjects are regional.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from roleport.testing import Account, DevPki, RoleportServer, RolesAnywhereSetup

REGIONS = ("us-east-1", "eu-west-1")
#: how AWS refuses another tenant's resource: not found (ids), denied (ARNs of others)
REFUSED = {"ResourceNotFoundException", "AccessDeniedException", "NoSuchEntity",
           "ValidationException", "AccessDenied"}


@dataclass
class Tenant:
    account: Account
    region: str


@dataclass
class Resource:
    kind: str  # "trust-anchor" | "profile" | "role"
    owner: tuple[str, str]  # (account id, region); region "*" for IAM roles
    id: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[RoleportServer, list[Tenant], list[RolesAnywhereSetup]]]:
    with RoleportServer() as server:
        accounts = [server.new_account(), server.new_account()]
        pkis = [DevPki(), DevPki()]  # each account its own CA: a certificate of one
        # account's CA is not trusted by the other's anchors
        # a working Roles Anywhere setup per account (us-east-1), for CreateSession steps
        setups = [server.setup_roles_anywhere(a, pki=pki, name=f"iso-{i}")
                  for i, (a, pki) in enumerate(zip(accounts, pkis, strict=True))]
        tenants = [Tenant(a, r) for a in accounts for r in REGIONS]
        yield server, tenants, setups
        for pki in pkis:
            pki.close()


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


class World:
    def __init__(self, server: RoleportServer, tenants: list[Tenant],
                 setups: list[RolesAnywhereSetup]) -> None:
        self.server, self.tenants, self.setups = server, tenants, setups
        self.resources: list[Resource] = []
        self.count = 0

    def client(self, service: str, tenant: Tenant):  # noqa: ANN201
        return self.server.client(service, tenant.account, region=tenant.region)

    @staticmethod
    def key(tenant: Tenant, kind: str) -> tuple[str, str]:
        return (tenant.account.account_id, "*" if kind == "role" else tenant.region)

    def owns(self, tenant: Tenant, resource: Resource) -> bool:
        return self.key(tenant, resource.kind) == resource.owner

    # -- steps -------------------------------------------------------------------------

    def create(self, tenant: Tenant, kind: str) -> None:
        self.count += 1
        name = f"iso-{self.count}-{secrets.token_hex(4)}"
        if kind == "role":
            role = self.client("iam", tenant).create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps({
                    "Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"Service": "rolesanywhere.amazonaws.com"}}]}))["Role"]
            self.resources.append(Resource(kind, self.key(tenant, kind), name, role["Arn"]))
            return
        ra = self.client("rolesanywhere", tenant)
        if kind == "trust-anchor":
            made = ra.create_trust_anchor(name=name, source={
                "sourceType": "CERTIFICATE_BUNDLE", "sourceData": {
                    "x509CertificateData": self.setups[0].pki.trust_anchor_pem}})["trustAnchor"]
            self.resources.append(Resource(kind, self.key(tenant, kind), made["trustAnchorId"],
                                           made["trustAnchorArn"]))
        else:
            made = ra.create_profile(name=name, roleArns=[])["profile"]
            self.resources.append(Resource(kind, self.key(tenant, kind), made["profileId"],
                                           made["profileArn"]))

    def attempt(self, tenant: Tenant, resource: Resource, action: str) -> None:
        """``action`` on ``resource`` by ``tenant``: works iff the tenant owns it."""
        own = self.owns(tenant, resource)
        try:
            self._do(tenant, resource, action)
        except ClientError as exc:
            assert not own, f"{action} on its own {resource.kind} refused: {exc}"
            assert _code(exc) in REFUSED, exc
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403, 404), exc
            return
        assert own, f"{tenant} could {action} {resource}"

    def _do(self, tenant: Tenant, resource: Resource, action: str) -> None:
        if resource.kind == "role":
            iam = self.client("iam", tenant)
            name = resource.id
            if action == "get":
                iam.get_role(RoleName=name)
            elif action == "tag":
                iam.tag_role(RoleName=name, Tags=[{"Key": "by", "Value": tenant.region}])
                resource.tags["by"] = tenant.region
            elif action == "list-tags":
                assert {t["Key"]: t["Value"] for t in
                        iam.list_role_tags(RoleName=name)["Tags"]} == resource.tags
            elif action == "update":
                iam.update_role(RoleName=name, Description="changed")
            elif action == "untag":
                iam.untag_role(RoleName=name, TagKeys=["by"])
                resource.tags.pop("by", None)
            return
        ra = self.client("rolesanywhere", tenant)
        by_id = {"trust-anchor": ("trustAnchorId", ra.get_trust_anchor,
                                  ra.update_trust_anchor),
                 "profile": ("profileId", ra.get_profile, ra.update_profile)}
        id_name, get, update = by_id[resource.kind]
        if action == "get":
            get(**{id_name: resource.id})
        elif action == "update":
            update(**{id_name: resource.id, "name": f"renamed-{self.count}"})
        elif action == "tag":
            ra.tag_resource(resourceArn=resource.arn,
                            tags=[{"key": "by", "value": tenant.region}])
            resource.tags["by"] = tenant.region
        elif action == "untag":
            ra.untag_resource(resourceArn=resource.arn, tagKeys=["by"])
            resource.tags.pop("by", None)
        elif action == "list-tags":
            tags = ra.list_tags_for_resource(resourceArn=resource.arn)["tags"]
            assert {t["key"]: t["value"] for t in tags} == resource.tags

    def check_lists(self, tenant: Tenant) -> None:
        ra, iam = self.client("rolesanywhere", tenant), self.client("iam", tenant)
        listed = {"trust-anchor": {t["trustAnchorArn"] for t in
                                   ra.list_trust_anchors(pageSize=100)["trustAnchors"]},
                  "profile": {p["profileArn"] for p in
                              ra.list_profiles(pageSize=100)["profiles"]},
                  "role": {r["Arn"] for r in iam.list_roles(MaxItems=1000)["Roles"]}}
        for kind, arns in listed.items():
            mine = {r.arn for r in self.resources if r.kind == kind and self.owns(tenant, r)}
            theirs = {r.arn for r in self.resources if r.kind == kind} - mine
            assert mine <= arns, f"{kind}s of {tenant} missing from its list"
            assert not arns & theirs, f"{tenant} lists another tenant's {kind}"
            owner = tenant.account.account_id
            assert all(f":{owner}:" in arn for arn in arns)
        subjects = ra.list_subjects().get("subjects", [])
        for subject in subjects:
            assert ":" + tenant.account.account_id + ":" in subject["subjectArn"]
            assert f":{tenant.region}:" in subject["subjectArn"]

    def cross_session(self, tenant: Tenant, other: int) -> None:
        """CreateSession with the tenant's own certificate against the other account's
        trust anchor/profile/role: refused; STS with minted credentials: its own account."""
        mine = self.setups[self.tenants.index(tenant) // len(REGIONS)]  # its own account
        theirs = self.setups[other]
        creds = mine.credentials()
        who = boto3.session.Session().client(
            "sts", region_name="us-east-1", endpoint_url=self.server.endpoint,
            aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            verify=str(self.server.ca_bundle)).get_caller_identity()
        assert who["Account"] == mine.account.account_id
        if theirs is mine:
            return
        for crossed in (replace(mine, profile_arn=theirs.profile_arn),
                        replace(mine, role_arn=theirs.role_arn),
                        replace(mine, trust_anchor_arn=theirs.trust_anchor_arn,
                                profile_arn=theirs.profile_arn, role_arn=theirs.role_arn)):
            with pytest.raises(Exception) as exc:  # noqa: PT011 - the client's error type
                crossed.credentials()
            assert "403" in str(exc.value) or "AccessDenied" in str(exc.value) \
                or "not" in str(exc.value).lower(), exc.value
        # the other account's subjects are its own only
        other_ra = self.server.client("rolesanywhere", theirs.account)
        for subject in other_ra.list_subjects().get("subjects", []):
            assert f":{theirs.account.account_id}:" in subject["subjectArn"]


_steps = st.lists(st.tuples(st.sampled_from(["create", "attempt", "attempt", "attempt",
                                             "lists", "session"]),
                            st.integers(0, 3), st.sampled_from(["trust-anchor", "profile",
                                                                "role"]),
                            st.integers(0, 1000),
                            st.sampled_from(["get", "update", "tag", "untag", "list-tags"])),
                  min_size=4, max_size=14)


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=_steps)
def test_no_tenant_sees_or_touches_another_tenants_resources(world, steps) -> None:  # noqa: ANN001
    server, _, setups = world
    # fresh accounts per example: quotas and lists start empty
    # (hypothesis seeds the random module per example: ids from secrets, never repeated)
    accounts = [server.new_account(f"{secrets.randbelow(10**12):012d}") for _ in range(2)]
    tenants = [Tenant(a, r) for a in accounts for r in REGIONS]
    state = World(server, tenants, setups)
    for kind in ("trust-anchor", "profile", "role"):  # one of each per tenant to aim at
        for tenant in tenants:
            state.create(tenant, kind)
    for step, who, kind, pick, action in steps:
        tenant = tenants[who]
        if step == "create":
            state.create(tenant, kind)
        elif step == "attempt":
            state.attempt(tenant, state.resources[pick % len(state.resources)], action)
        elif step == "lists":
            state.check_lists(tenant)
        else:
            state.cross_session(tenant, pick % len(setups))
    for tenant in tenants:
        state.check_lists(tenant)
