"""A session token must belong to the access key it comes with, on every protocol: a
long-term key with any token is refused as AWS refuses it (403, "The security token
included in the request is invalid."), and so are a minted key without its token or with
another key's. Through boto3 and botocore's signers against a real server."""

from __future__ import annotations

import httpx
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from .test_iam import error_of
from .test_sts import client_with, trust_for
from .test_wire import _tls

INVALID = "The security token included in the request is invalid."
#: (service, a harmless call, the code AWS answers for a token that is not the key's)
CALLS = [
    ("rolesanywhere", lambda c: c.list_trust_anchors(), "UnrecognizedClientException"),
    ("iam", lambda c: c.list_roles(), "InvalidClientTokenId"),
    ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
]


@pytest.fixture()
def minted(server, account):
    """Two sets of credentials minted by AssumeRole in the account."""
    iam = server.client("iam", account)
    arn = iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust_for(
        account.account_id))["Role"]["Arn"]
    sts = server.client("sts", account)
    return [sts.assume_role(RoleArn=arn, RoleSessionName=f"s{i}")["Credentials"]
            for i in range(2)]


def _admin_with_token(account, token: str) -> dict:
    return {"AccessKeyId": account.access_key_id,
            "SecretAccessKey": account.secret_access_key, "SessionToken": token}


@pytest.mark.parametrize(("service", "call", "code"), CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("token", ["garbage", "minted"])
def test_long_term_keys_with_a_session_token_are_refused(server, account, minted, service,
                                                         call, code, token):
    # a real token of the same account is no better than garbage: it is not this key's
    value = minted[0]["SessionToken"] if token == "minted" else "garbage"
    client = client_with(server, service, _admin_with_token(account, value))
    with pytest.raises(ClientError) as exc:
        call(client)
    assert error_of(exc) == (code, 403, INVALID)
    call(server.client(service, account))  # the same keys without a token still work


@pytest.mark.parametrize(("service", "code"), [("rolesanywhere", "UnrecognizedClientException"),
                                               ("sts", "InvalidClientTokenId")])
def test_a_presigned_url_with_long_term_keys_and_a_token_is_refused(server, account, service,
                                                                    code):
    url = (server.endpoint + "/trustanchors" if service == "rolesanywhere"
           else server.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15")
    for token, status in (("garbage", 403), (None, 200)):
        req = AWSRequest(method="GET", url=url)
        SigV4QueryAuth(Credentials(account.access_key_id, account.secret_access_key, token),
                       service, "us-east-1", expires=60).add_auth(req)
        assert ("X-Amz-Security-Token" in req.url) == (token is not None)
        resp = httpx.get(req.url, verify=_tls(server))
        assert resp.status_code == status, resp.text
        if status == 403:
            # rest-json names the code in a header, query in the XML body
            assert code in resp.headers.get("x-amzn-ErrorType", "") + resp.text
            assert INVALID in resp.text


def test_minted_keys_need_their_own_token(server, minted):
    first, second = minted
    swapped = {**first, "SessionToken": second["SessionToken"]}
    with pytest.raises(ClientError) as exc:
        client_with(server, "sts", swapped).get_caller_identity()
    assert error_of(exc) == ("InvalidClientTokenId", 403, INVALID)
    for creds in minted:  # each with its own token is fine
        assert client_with(server, "sts", creds).get_caller_identity()["Arn"].endswith(
            "/app/" + ("s0" if creds is first else "s1"))
