"""Replica races: three ``roleport serve`` processes on one PostgreSQL, driven at once
through a round-robin client (each call goes to the next replica).

Each check is built so that the race it names would show: concurrent read-modify-writes of
one row (tags, attribute mappings, profile fields) that a lost update would drop or mix,
an alias and a quota's last places claimed by many at the same instant, page tokens
handed from replica to replica while rows are inserted, and credentials minted by one
replica used on the others.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from roleport import ids
from roleport.testing import Account, DevPki, RoleportServer

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]
REPLICAS = 3
QUOTA_TRUST_ANCHORS = 8


@pytest.fixture(scope="module")
def fresh_database() -> Iterator[str]:
    """A database of its own, empty: the replicas migrate it and bootstrap it at once."""
    from tests.conftest import new_database

    with new_database("replicas") as url:
        yield url


@pytest.fixture(scope="module")
def replicas(fresh_database: str, tmp_path_factory) -> Iterator[list[RoleportServer]]:  # noqa: ANN001
    """Three servers on one new database, started at the same instant (migrations, the
    admin key), sharing what replicas must share: the server key (session tokens, page
    tokens) and the admin key pair."""
    env = {"ROLEPORT_SERVER_KEY": base64.b64encode(os.urandom(32)).decode(),
           "ROLEPORT_ADMIN_ACCESS_KEY_ID": ids.new_access_key_id("AKIA"),
           "ROLEPORT_ADMIN_SECRET_ACCESS_KEY": ids.new_secret_access_key()}
    servers = [RoleportServer(tmp_path_factory.mktemp(f"replica{i}"), database_url=fresh_database,
                              http=True, env=env,
                              extra_args=["--quota-trust-anchors", str(QUOTA_TRUST_ANCHORS)])
               for i in range(REPLICAS)]
    try:
        started = at_once(REPLICAS, lambda i: servers[i].start(timeout=120), timeout=150)
        assert started == servers, "".join(line for s in servers for line in s.output)
        yield servers
    finally:
        for server in servers:
            server.close()


@pytest.fixture(scope="module")
def dev_pki() -> Iterator[DevPki]:
    pki = DevPki()
    yield pki
    pki.close()


class RoundRobin:
    """A client whose every call goes to the next replica (clients are thread-safe)."""

    def __init__(self, clients: list[Any]) -> None:
        self.clients = clients
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        with self._lock:
            client = self.clients[next(self._turn) % len(self.clients)]
        return getattr(client, operation)


def _clients(replicas: list[RoleportServer], account: Account, service: str) -> list[Any]:
    config = Config(retries={"max_attempts": 1, "mode": "standard"},
                    max_pool_connections=32)
    return [r.client(service, account, config=config) for r in replicas]


@pytest.fixture()
def account(replicas: list[RoleportServer]) -> Account:
    return replicas[0].new_account()


@pytest.fixture()
def rr(replicas: list[RoleportServer], account: Account) -> RoundRobin:
    return RoundRobin(_clients(replicas, account, "rolesanywhere"))


def at_once(n: int, work: Callable[[int], Any], timeout: float = 60) -> list[Any]:
    """Run ``work(0..n-1)`` on n threads released together; each result, or the
    ClientError it raised. Anything else (a hang, a connection error) fails the test."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    unexpected: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except ClientError as exc:
            results[i] = exc
        except BaseException as exc:  # noqa: BLE001 - reported below
            unexpected.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert not unexpected, unexpected
    return results


def _error(exc: ClientError) -> tuple[str, int, str]:
    return (exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"],
            exc.response["Error"]["Message"])


def _source(pki: DevPki) -> dict[str, Any]:
    return {"sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": pki.trust_anchor_pem}}


def _role(account: Account) -> str:
    return f"arn:aws:iam::{account.account_id}:role/race"


def _tags(client: Any, arn: str) -> dict[str, str]:
    return {t["key"]: t["value"]
            for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}


def test_concurrent_tag_and_untag_on_one_resource_lose_no_update(rr, dev_pki):
    anchor = rr.create_trust_anchor(name="tagged", source=_source(dev_pki), tags=[
        {"key": f"old{i}", "value": "x"} for i in range(16)])["trustAnchor"]
    arn = anchor["trustAnchorArn"]

    def work(i: int) -> None:
        for j in range(4):  # each its own keys: all of them must survive the others
            rr.tag_resource(resourceArn=arn, tags=[{"key": f"t{i}-{j}", "value": f"v{i}{j}"}])
            if j < 2:
                rr.untag_resource(resourceArn=arn, tagKeys=[f"old{2 * i + j}"])

    results = at_once(8, work)
    assert not any(isinstance(r, ClientError) for r in results), results
    expected = {f"t{i}-{j}": f"v{i}{j}" for i in range(8) for j in range(4)}
    for client in rr.clients:  # every replica reads the same row
        assert _tags(client, arn) == expected
    got = rr.get_trust_anchor(trustAnchorId=anchor["trustAnchorId"])["trustAnchor"]
    assert got["name"] == "tagged" and got["enabled"] is True


def test_concurrent_writes_of_one_profile_keep_every_field_and_mix_no_state(rr, account):
    profile = rr.create_profile(name="start", roleArns=[_role(account)])["profile"]
    pid, arn = profile["profileId"], profile["profileArn"]
    fields = {"x509Subject": ["CN", "O", "OU"], "x509Issuer": ["CN", "O", "C"],
              "x509SAN": ["DNS", "URI", "Name/*"]}
    last_mapping: dict[str, list[str]] = {}

    def state(i: int) -> dict[str, Any]:
        policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": f"s{i}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
        return {"name": f"state-{i}", "durationSeconds": 900 + 60 * i,
                "sessionPolicy": policy, "acceptRoleSessionName": i % 2 == 0}

    def work(i: int) -> None:
        if i < 6:  # whole-profile updates: the end state is one of them, never a mix
            for _ in range(3):
                rr.update_profile(profileId=pid, **state(i))
        elif i < 9:  # one field's mapping each, rewritten a few times
            field = list(fields)[i - 6]
            for k in range(1, 4):
                rules = fields[field][:k]
                rr.put_attribute_mapping(profileId=pid, certificateField=field,
                                         mappingRules=[{"specifier": s} for s in rules])
            last_mapping[field] = rules
        else:  # tags of the same row
            for j in range(5):
                rr.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}-{j}", "value": "v"}])

    results = at_once(11, work)
    assert not any(isinstance(r, ClientError) for r in results), results
    for client in rr.clients:
        got = client.get_profile(profileId=pid)["profile"]
        final = {k: got[k] for k in ("name", "durationSeconds", "sessionPolicy",
                                     "acceptRoleSessionName")}
        assert final in [state(i) for i in range(6)], final
        mappings = {m["certificateField"]: [r["specifier"] for r in m["mappingRules"]]
                    for m in got["attributeMappings"]}
        for field, rules in last_mapping.items():
            assert mappings[field] == rules, (field, mappings)
        assert _tags(client, arn) == {f"k{i}-{j}": "v" for i in (9, 10) for j in range(5)}


@pytest.mark.parametrize("kind", ["update", "create"])
def test_an_alias_claimed_at_once_goes_to_exactly_one(rr, account, dev_pki, kind):
    contenders = 9
    for round_ in range(3):
        alias = f"contested-{kind}-{round_}"
        if kind == "update":
            ids_ = [rr.create_profile(name=f"p{round_}-{i}", roleArns=[_role(account)])
                    ["profile"]["profileId"] for i in range(contenders)]
            results = at_once(contenders, lambda i: rr.update_profile(  # noqa: B023
                profileId=ids_[i], aliasName=alias))
        else:
            results = at_once(contenders, lambda i: rr.create_profile(  # noqa: B023
                name=f"c{round_}-{i}", roleArns=[_role(account)], aliasName=alias))
        won = [r for r in results if not isinstance(r, ClientError)]
        lost = [_error(r) for r in results if isinstance(r, ClientError)]
        assert len(won) == 1, results
        assert {(code, status) for code, status, _ in lost} == {("ValidationException", 400)}
        assert all("already used" in message for *_, message in lost)
        holders = [p for p in _all_profiles(rr) if p.get("aliasName") == alias]
        assert [h["profileId"] for h in holders] == [won[0]["profile"]["profileId"]]


def _all_profiles(client: Any) -> list[dict[str, Any]]:
    items, token = [], None
    while True:
        page = client.list_profiles(**({"nextToken": token} if token else {}))
        items += page["profiles"]
        token = page.get("nextToken")
        if not token:
            return items


def test_creates_at_the_quota_edge_hold_the_quota_exactly(rr, dev_pki):
    for i in range(3):
        rr.create_trust_anchor(name=f"before-{i}", source=_source(dev_pki))
    results = at_once(12, lambda i: rr.create_trust_anchor(name=f"edge-{i}",
                                                           source=_source(dev_pki)))
    won = [r for r in results if not isinstance(r, ClientError)]
    assert len(won) == QUOTA_TRUST_ANCHORS - 3
    for exc in (r for r in results if isinstance(r, ClientError)):
        code, status, message = _error(exc)
        assert (code, status) == ("ValidationException", 400) and "Quota exceeded" in message
    for client in rr.clients:
        assert len(client.list_trust_anchors()["trustAnchors"]) == QUOTA_TRUST_ANCHORS

    anchor = won[0]["trustAnchor"]
    crl = dev_pki.crl()
    results = at_once(6, lambda i: rr.import_crl(name=f"crl-{i}", crlData=crl,
                                                 trustAnchorArn=anchor["trustAnchorArn"]))
    assert sum(not isinstance(r, ClientError) for r in results) == 2  # CRLs per anchor
    assert len(rr.list_crls()["crls"]) == 2


def test_a_role_name_created_at_once_is_created_once(replicas, account):
    iam = RoundRobin(_clients(replicas, account, "iam"))
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})
    results = at_once(8, lambda i: iam.create_role(RoleName="Contested",
                                                   AssumeRolePolicyDocument=trust,
                                                   Description=f"by {i}"))
    won = [r for r in results if not isinstance(r, ClientError)]
    assert len(won) == 1
    assert {_error(r)[:2] for r in results if isinstance(r, ClientError)} == {
        ("EntityAlreadyExists", 409)}
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["Contested"]

    # then read-modify-writes of that role's row: inline policies, managed ones, tags
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})

    def work(i: int) -> None:
        iam.put_role_policy(RoleName="Contested", PolicyName=f"inline-{i}",
                            PolicyDocument=policy)
        iam.attach_role_policy(RoleName="Contested",
                               PolicyArn=f"arn:aws:iam::aws:policy/Managed{i}")
        iam.tag_role(RoleName="Contested", Tags=[{"Key": f"k{i}", "Value": str(i)}])

    assert not any(isinstance(r, ClientError) for r in at_once(8, work))
    for client in iam.clients:
        assert sorted(client.list_role_policies(RoleName="Contested")["PolicyNames"]) == [
            f"inline-{i}" for i in range(8)]
        attached = client.list_attached_role_policies(RoleName="Contested")
        assert sorted(p["PolicyArn"] for p in attached["AttachedPolicies"]) == [
            f"arn:aws:iam::aws:policy/Managed{i}" for i in range(8)]
        assert {t["Key"]: t["Value"] for t in client.list_role_tags(RoleName="Contested")
                ["Tags"]} == {f"k{i}": str(i) for i in range(8)}


def test_pages_walked_across_replicas_while_inserting_miss_and_repeat_nothing(rr, account):
    existing = [rr.create_profile(name=f"old-{i:02d}", roleArns=[_role(account)])["profile"]
                ["profileId"] for i in range(24)]
    stop = threading.Event()
    inserted: list[str] = []

    failures: list[Exception] = []

    def insert(i: int) -> None:
        n = 0
        try:
            while not stop.is_set() and n < 60:  # 24 + 2 x 60 stays under the quota of 250
                n += 1
                inserted.append(rr.create_profile(name=f"new-{i}-{n}",
                                                  roleArns=[_role(account)])
                                ["profile"]["profileId"])
        except Exception as exc:  # noqa: BLE001 - reported by the test, not the thread
            failures.append(exc)

    def walk() -> list[str]:
        seen, token = [], None
        while True:  # each page from the next replica, with the token another one made
            page = rr.list_profiles(pageSize=3, **({"nextToken": token} if token else {}))
            seen += [p["profileId"] for p in page["profiles"]]
            token = page.get("nextToken")
            if not token:
                return seen

    inserters = [threading.Thread(target=insert, args=(i,)) for i in range(2)]
    for t in inserters:
        t.start()
    try:
        walks = [walk() for _ in range(3)]
    finally:
        stop.set()
        for t in inserters:
            t.join(30)
    assert not failures, failures
    assert inserted, "nothing was inserted during the walks"
    for seen in walks:
        assert len(seen) == len(set(seen)), "a row was listed twice"
        assert seen[:len(existing)] == existing  # creation order, nothing skipped
    final = set(walk())
    assert final == set(existing) | set(inserted)

    # a token stays valid when the row it points after is deleted (by another replica)
    seen, token = [], None
    while True:
        page = rr.list_profiles(pageSize=4, **({"nextToken": token} if token else {}))
        seen += [p["profileId"] for p in page["profiles"]]
        token = page.get("nextToken")
        if not token:
            break
        rr.delete_profile(profileId=seen[-1])
    assert len(seen) == len(set(seen)) and set(seen) == final

    # every token one replica hands out is valid on the others, and means the same page
    first = rr.clients[0].list_profiles(pageSize=5)
    pages = [c.list_profiles(pageSize=5, nextToken=first["nextToken"])["profiles"]
             for c in rr.clients]
    assert pages[0] == pages[1] == pages[2] and len(pages[0]) == 5


def test_writes_racing_a_delete_either_land_before_it_or_find_nothing(rr, account, dev_pki):
    for round_ in range(3):
        anchor = rr.create_trust_anchor(name=f"doomed-{round_}",
                                        source=_source(dev_pki))["trustAnchor"]
        profile = rr.create_profile(name=f"doomed-{round_}",
                                    roleArns=[_role(account)])["profile"]
        crl = dev_pki.crl()

        def work(i: int, anchor: dict = anchor, profile: dict = profile,
                 crl: bytes = crl) -> Any:
            if i == 0:
                return rr.delete_trust_anchor(trustAnchorId=anchor["trustAnchorId"])
            if i == 1:
                return rr.delete_profile(profileId=profile["profileId"])
            if i in (3, 6):  # (two: the CRLs-per-anchor quota)
                return rr.import_crl(name=f"late-{i}", crlData=crl,
                                     trustAnchorArn=anchor["trustAnchorArn"])
            if i % 2:
                return rr.tag_resource(resourceArn=profile["profileArn"],
                                       tags=[{"key": f"k{i}", "value": "v"}])
            return rr.update_profile(profileId=profile["profileId"], name=f"late-{i}")

        results = at_once(10, work)
        assert not isinstance(results[0], ClientError) and not isinstance(results[1],
                                                                          ClientError)
        for r in results[2:]:
            if isinstance(r, ClientError):
                assert _error(r)[:2] == ("ResourceNotFoundException", 404), _error(r)
        for client in rr.clients:  # nothing outlived its resource
            assert not [c for c in client.list_crls()["crls"]
                        if c["trustAnchorArn"] == anchor["trustAnchorArn"]]
            with pytest.raises(ClientError) as gone:
                client.list_tags_for_resource(resourceArn=profile["profileArn"])
            assert _error(gone.value)[:2] == ("ResourceNotFoundException", 404)


def test_credentials_minted_by_one_replica_verify_on_the_others(replicas, dev_pki):
    setup = replicas[0].setup_roles_anywhere(pki=dev_pki, name="minted")
    for minting in range(REPLICAS):
        creds = dataclasses.replace(setup, server=replicas[minting]).credentials()
        for other in range(REPLICAS):
            sts = replicas[other].client("sts", Account(
                setup.account.account_id, creds.access_key_id, creds.secret_access_key),
                aws_session_token=creds.session_token)
            arn = sts.get_caller_identity()["Arn"]
            assert arn.startswith(f"arn:aws:sts::{setup.account.account_id}:assumed-role/")

    # a certificate seen for the first time by every replica at once: one subject
    fresh = dev_pki.issue("first-sight")
    minted = at_once(6, lambda i: dataclasses.replace(
        setup, server=replicas[i % REPLICAS]).credentials(fresh))
    assert all(m.session_token for m in minted), minted
    ra = replicas[2].client("rolesanywhere", setup.account)
    subjects = [s for s in ra.list_subjects()["subjects"] if "first-sight" in s["x509Subject"]]
    assert len(subjects) == 1, subjects

    # STS AssumeRole on one replica, used on the others
    iam = replicas[1].client("iam", setup.account)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{setup.account.account_id}:root"},
        "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="Assumable", AssumeRolePolicyDocument=trust)["Role"]
    assumed = replicas[1].client("sts", setup.account).assume_role(
        RoleArn=role["Arn"], RoleSessionName="across")["Credentials"]
    for other in (0, 2):
        sts = replicas[other].client("sts", Account(
            setup.account.account_id, assumed["AccessKeyId"], assumed["SecretAccessKey"]),
            aws_session_token=assumed["SessionToken"])
        assert sts.get_caller_identity()["Arn"].endswith(":assumed-role/Assumable/across")
