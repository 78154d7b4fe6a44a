"""Replicas on one PostgreSQL, sharing ROLEPORT_SERVER_KEY, verify each other's credentials
without a database read; a key rotation rolled out current-last keeps old credentials
working."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from roleport.testing import RoleportServer

pytestmark = pytest.mark.postgres

KEY_1 = base64.b64encode(os.urandom(32)).decode()
KEY_2 = base64.b64encode(os.urandom(32)).decode()


def _client(server: RoleportServer, service: str, creds: dict):
    return boto3.session.Session().client(
        service, region_name="us-east-1", endpoint_url=server.endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def replicas(postgres_url: str) -> Iterator[tuple[RoleportServer, RoleportServer]]:
    a = RoleportServer(database_url=postgres_url, http=True, env={"ROLEPORT_SERVER_KEY": KEY_1})
    b = RoleportServer(database_url=postgres_url, http=True, env={"ROLEPORT_SERVER_KEY": KEY_1})
    with a, b:
        yield a, b


def _mint(server: RoleportServer, account, name: str) -> dict:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": account.account_id}, "Action": "sts:AssumeRole"}]}
    arn = server.client("iam", account).create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return server.client("sts", account).assume_role(RoleArn=arn,
                                                     RoleSessionName="replica")["Credentials"]


def test_each_replica_verifies_what_the_other_minted(replicas):
    a, b = replicas
    account = a.new_account()
    from_a = _mint(a, account, "from-a")
    me = _client(b, "sts", from_a).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{account.account_id}:assumed-role/from-a/replica"
    # the role registry is shared through the database
    assert b.client("iam", account).get_role(RoleName="from-a")["Role"]["RoleName"] == "from-a"
    from_b = _mint(b, account, "from-b")
    assert _client(a, "sts", from_b).get_caller_identity()["Arn"].endswith(
        "assumed-role/from-b/replica")


def test_a_rotated_replica_still_verifies_credentials_of_the_old_key(replicas, postgres_url):
    a, _ = replicas
    account = a.new_account()
    old = _mint(a, account, "before-rotation")
    # the new key current (it seals), the old one listed after it (it still opens)
    with RoleportServer(database_url=postgres_url, http=True,
                        env={"ROLEPORT_SERVER_KEY": f"{KEY_2},{KEY_1}"}) as rotated:
        assert _client(rotated, "sts", old).get_caller_identity()["Arn"].endswith(
            "assumed-role/before-rotation/replica")
        new = _mint(rotated, account, "after-rotation")
        assert _client(rotated, "sts", new).get_caller_identity()["Arn"].endswith(
            "assumed-role/after-rotation/replica")
        # a replica that does not know the new key yet refuses it: roll a rotation out in
        # two steps, "old,new" on every replica first, then "new,old"
        with pytest.raises(ClientError) as exc:
            _client(a, "sts", new).get_caller_identity()
        assert exc.value.response["Error"]["Code"] == "InvalidClientTokenId"
