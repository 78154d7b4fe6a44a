"""Schemathesis against a live server, every operation Roleport serves (rolesanywhere,
CreateSession, iam, sts), from the server's own OpenAPI document; see fuzz_support.py for
the properties.

CI-sized here (``ROLEPORT_FUZZ_EXAMPLES``, 20 cases per operation and mode, derandomized
so that a run is repeatable); ``make fuzz`` runs the same with >= 1,000 random cases per
operation and mode (> 100,000 requests) and appends each operation's figures to
``ROLEPORT_FUZZ_REPORT``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import requests

from roleport.spec.openapi import served_operations
from roleport.server.providers.iam import IamProvider
from roleport.server.providers.rolesanywhere import RolesAnywhereProvider
from roleport.server.providers.sts import StsProvider
from roleport.testing import DevPki, RoleportServer

from .fuzz_support import MODES, Fuzzer, seed, state_problems

EXAMPLES = int(os.environ.get("ROLEPORT_FUZZ_EXAMPLES", "20"))
RANDOM = os.environ.get("ROLEPORT_FUZZ_RANDOM") == "1"
REPORT = os.environ.get("ROLEPORT_FUZZ_REPORT")

SERVED = served_operations({"rolesanywhere": RolesAnywhereProvider,
                            "rolesanywhere-sessions": None, "iam": IamProvider,
                            "sts": StsProvider})
OPERATIONS = [f"{service}.{name}" for service, names in SERVED.items() for name in names]


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[RoleportServer]:
    # its own server: what the fuzzer creates stays out of the other tests' way
    with RoleportServer(extra_args=["--auth-failure-rate", "0"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def fuzz_pki() -> Iterator[DevPki]:
    pki = DevPki()
    yield pki
    pki.close()


def test_the_document_lists_every_served_operation(fuzz_server: RoleportServer) -> None:
    fuzzer = Fuzzer(fuzz_server, fuzz_server.admin)
    ids = sorted(fuzzer.definition(op)["operationId"] for op in fuzzer.operations)
    assert ids == sorted(OPERATIONS)
    # constraints from the model are in it
    tag_key = fuzzer.document["components"]["schemas"]["iam.tagKeyType"]
    assert (tag_key["minLength"], tag_key["maxLength"]) == (1, 128)
    assert tag_key["pattern"].startswith("^(?:") and tag_key["pattern"].endswith(")$")
    create_role = fuzzer.document["paths"]["/#CreateRole"]["post"]
    form = create_role["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert form["schema"]["properties"]["Action"] == {"type": "string",
                                                      "enum": ["CreateRole"]}
    assert {"Action", "Version", "RoleName", "AssumeRolePolicyDocument"} <= set(
        form["schema"]["required"])
    assert fuzzer.document["paths"]["/profile/{profileId}"]["patch"]["parameters"][0][
        "required"] is True


def test_the_document_is_unauthenticated_and_cacheable(fuzz_server: RoleportServer) -> None:
    url = fuzz_server.endpoint + "/_roleport/openapi.json"
    verify = str(fuzz_server.ca_bundle)
    first = requests.get(url, verify=verify, timeout=30)
    assert first.status_code == 200 and first.json()["openapi"] == "3.0.3"
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert first.headers["Content-Type"] == "application/json"
    again = requests.get(url, verify=verify, timeout=30,
                         headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    head = requests.head(url, verify=verify, timeout=30)
    assert head.status_code == 200 and head.headers["ETag"] == first.headers["ETag"]


@pytest.mark.timeout(1800 if EXAMPLES > 20 else 300)
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_fuzzed_requests_get_aws_shaped_answers_and_leave_a_readable_state(
        fuzz_server: RoleportServer, fuzz_pki: DevPki, operation_id: str) -> None:
    account = fuzz_server.new_account()  # a fresh account: quotas and lists start empty
    certificate = None
    if "Session" in operation_id or "Subject" in operation_id:
        setup = fuzz_server.setup_roles_anywhere(account, pki=fuzz_pki)
        setup.credentials()  # a subject to aim at
        certificate = setup.client_certificate
    fuzzer = Fuzzer(fuzz_server, account, certificate=certificate)
    operation = next(op for op in fuzzer.operations
                     if fuzzer.definition(op)["operationId"] == operation_id)
    for mode in MODES:
        fuzzer.seeded = seed(fuzz_server, account, fuzz_pki)
        fuzzer.run(operation, mode, EXAMPLES, derandomize=not RANDOM)
    problems = state_problems(fuzz_server, account)
    tally = fuzzer.tally
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as out:
            out.write(json.dumps({"operation": operation_id, "requests": tally.requests,
                                  "unsendable": tally.unsendable, "seconds": tally.seconds,
                                  "status": tally.by_status, "codes": tally.by_code,
                                  "failures": [str(f) for f in tally.failures],
                                  "state": problems}) + "\n")
    assert tally.requests >= EXAMPLES, tally.summary()
    assert not tally.failures, tally.summary() + "\n" + "\n".join(
        str(f) for f in tally.failures[:8])
    assert not problems, problems
