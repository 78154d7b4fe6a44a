"""A concurrent control-plane write load that remembers what the server acknowledged, and
the checks that every acknowledged write is present and whole (tests/e2e/test_crash_*).

Every thread drives its own boto3 client and writes through the real wire: trust anchors
and profiles created with tags (and, for some, an alias from a small pool, so claims
collide), TagResource / UntagResource of keys no other write uses, ImportCrl into the
anchors it created. A write is *acknowledged* when the client got its 2xx; a write whose
connection broke (the server was killed under it) is *in doubt*: it may or may not be
there, but if it is, it must be whole.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

ALIASES = [f"crash-alias-{i}" for i in range(6)]
CRLS_PER_ANCHOR = 2


@dataclass
class Created:
    arn: str
    name: str
    tags: dict[str, str]
    alias: str | None


@dataclass
class Ledger:
    """What the server acknowledged (2xx) and what was attempted. Thread-safe."""

    anchors: dict[str, Created] = field(default_factory=dict)
    profiles: dict[str, Created] = field(default_factory=dict)
    #: resource ARN -> key -> value of acknowledged TagResource calls
    tagged: dict[str, dict[str, str]] = field(default_factory=dict)
    #: resource ARN -> keys removed by acknowledged UntagResource calls
    untagged: dict[str, set[str]] = field(default_factory=dict)
    #: tag keys an UntagResource was sent for (acknowledged or not)
    untag_sent: set[str] = field(default_factory=set)
    #: CRL ARN -> (trust anchor ARN, bytes)
    crls: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: name of every create attempted -> (its tags, its alias): in-doubt ones too
    attempted: dict[str, tuple[dict[str, str], str | None]] = field(default_factory=dict)
    acknowledged: int = 0
    in_doubt: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, record: Callable[[], None]) -> None:
        with self.lock:
            record()
            self.acknowledged += 1


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


class Writer:
    """One load thread: a seeded random sequence of writes until ``stop`` is set."""

    def __init__(self, index: int, seed: int, client: Any, ledger: Ledger, ca_pem: str,
                 crl: bytes, role_arn: str, stop: threading.Event) -> None:
        self.index = index
        self.rng = random.Random(seed * 1000 + index)
        self.client = client
        self.ledger = ledger
        self.source = {"sourceType": "CERTIFICATE_BUNDLE",
                       "sourceData": {"x509CertificateData": ca_pem}}
        self.crl = crl
        self.role_arn = role_arn
        self.stop = stop
        self.count = 0
        self.mine: list[str] = []  # ARNs this thread created (acknowledged)
        self.my_anchors: dict[str, int] = {}  # anchor ARN -> CRLs imported into it
        self.live_keys: dict[str, list[str]] = {}  # ARN -> tag keys tagged, not untagged

    def run(self) -> None:
        while not self.stop.is_set():
            self.count += 1
            try:
                self.step()
            except ClientError as exc:
                status = exc.response["ResponseMetadata"].get("HTTPStatusCode", 0)
                if status >= 500:
                    # a 5xx is no acknowledgement: the write may or may not have happened
                    with self.ledger.lock:
                        self.ledger.in_doubt += 1
                else:
                    with self.ledger.lock:
                        self.ledger.refused += 1
            except (BotoCoreError, OSError, KeyError):
                # KeyError: a 2xx without its body (the worker was killed between writing
                # the response's headers and its body; botocore reads an empty body as {}):
                # no acknowledgement either
                with self.ledger.lock:
                    self.ledger.in_doubt += 1
                time.sleep(0.05)  # the server is down or being replaced

    def _name(self, kind: str) -> str:
        return f"{kind}-{self.index}-{self.count}"

    def step(self) -> None:
        ops = [self.create_anchor, self.create_profile]
        if self.mine:
            ops += [self.tag, self.tag, self.untag]
        if any(n < CRLS_PER_ANCHOR for n in self.my_anchors.values()):
            ops.append(self.import_crl)
        self.rng.choice(ops)()

    def _new(self, kind: str) -> tuple[str, dict[str, str], str | None]:
        name = self._name(kind)
        tags = {f"t{i}": f"{name}-v{i}" for i in range(self.rng.randint(1, 4))}
        alias = self.rng.choice(ALIASES) if self.rng.random() < 0.3 else None
        with self.ledger.lock:
            self.ledger.attempted[name] = (tags, alias)
        return name, tags, alias

    def create_anchor(self) -> None:
        name, tags, alias = self._new("ta")
        extra = {"aliasName": alias} if alias else {}
        out = self.client.create_trust_anchor(name=name, source=self.source, tags=_tags(tags),
                                              **extra)["trustAnchor"]
        arn = out["trustAnchorArn"]
        self.ledger.ack(lambda: self.ledger.anchors.__setitem__(
            arn, Created(arn, name, tags, alias)))
        self.mine.append(arn)
        self.my_anchors[arn] = 0

    def create_profile(self) -> None:
        name, tags, alias = self._new("pr")
        extra = {"aliasName": alias} if alias else {}
        out = self.client.create_profile(name=name, roleArns=[self.role_arn], tags=_tags(tags),
                                         **extra)["profile"]
        arn = out["profileArn"]
        self.ledger.ack(lambda: self.ledger.profiles.__setitem__(
            arn, Created(arn, name, tags, alias)))
        self.mine.append(arn)

    def tag(self) -> None:
        arn = self.rng.choice(self.mine)
        keys = self.live_keys.setdefault(arn, [])
        if len(keys) >= 30:  # under the 50 tags of a resource, with the create's
            return self.untag()
        key = f"k-{self.index}-{self.count}"
        value = f"v-{self.rng.getrandbits(32):08x}"
        self.client.tag_resource(resourceArn=arn, tags=[{"key": key, "value": value}])
        self.ledger.ack(lambda: self.ledger.tagged.setdefault(arn, {}).__setitem__(key, value))
        keys.append(key)
        return None

    def untag(self) -> None:
        candidates = [a for a, keys in self.live_keys.items() if keys]
        if not candidates:
            return
        arn = self.rng.choice(candidates)
        key = self.live_keys[arn].pop(self.rng.randrange(len(self.live_keys[arn])))
        with self.ledger.lock:
            self.ledger.untag_sent.add(key)
        self.client.untag_resource(resourceArn=arn, tagKeys=[key])
        self.ledger.ack(lambda: self.ledger.untagged.setdefault(arn, set()).add(key))

    def import_crl(self) -> None:
        arn = self.rng.choice([a for a, n in self.my_anchors.items() if n < CRLS_PER_ANCHOR])
        self.my_anchors[arn] += 1  # an in-doubt import may have landed: never a third
        out = self.client.import_crl(name=self._name("crl"), crlData=self.crl,
                                     trustAnchorArn=arn)["crl"]
        crl_arn = out["crlArn"]
        self.ledger.ack(lambda: self.ledger.crls.__setitem__(crl_arn, (arn, self.crl)))


# -- the checks ----------------------------------------------------------------------------

def _all(client: Any, method: str, key: str) -> list[dict[str, Any]]:
    items, token = [], None
    while True:
        page = getattr(client, method)(**({"nextToken": token} if token else {}))
        items += page[key]
        token = page.get("nextToken")
        if not token:
            return items


def _tag_map(client: Any, arn: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}


def check_acknowledged_writes(client: Any, ledger: Ledger, ca_pem: str) -> dict[str, int]:
    """Every acknowledged write is there and whole; everything there is whole (no
    half-created resource, no alias held twice, no CRL without its anchor). Returns counts."""
    anchors = {a["trustAnchorArn"]: a for a in _all(client, "list_trust_anchors",
                                                     "trustAnchors")}
    profiles = {p["profileArn"]: p for p in _all(client, "list_profiles", "profiles")}
    crls = _all(client, "list_crls", "crls")

    for arn, made in ledger.anchors.items():
        assert arn in anchors, f"acknowledged CreateTrustAnchor {made.name} is lost"
        got = anchors[arn]
        assert got["name"] == made.name
        assert got["source"]["sourceData"]["x509CertificateData"] == ca_pem
        assert got.get("aliasName") == made.alias
    for arn, made in ledger.profiles.items():
        assert arn in profiles, f"acknowledged CreateProfile {made.name} is lost"
        assert profiles[arn]["name"] == made.name
        assert profiles[arn].get("aliasName") == made.alias

    # whole: whatever exists (acknowledged or in doubt) carries all of its create's tags
    tags_of: dict[str, dict[str, str]] = {}
    for arn, item in [*anchors.items(), *profiles.items()]:
        if item["name"] not in ledger.attempted:
            continue  # made by the test's setup
        tags_of[arn] = _tag_map(client, arn)
        create_tags, alias = ledger.attempted[item["name"]]
        for key, value in create_tags.items():
            if key in ledger.untagged.get(arn, set()):
                continue
            assert tags_of[arn].get(key) == value, f"{item['name']} lost create tag {key}"
        assert item.get("aliasName") in (None, alias), f"{item['name']}: foreign alias"

    for arn, keys in ledger.tagged.items():
        have = tags_of.get(arn) or _tag_map(client, arn)
        for key, value in keys.items():
            if key in ledger.untagged.get(arn, set()):
                assert key not in have, f"acknowledged UntagResource of {key} on {arn} undone"
            elif key not in ledger.untag_sent:  # (an untag in doubt may have landed)
                assert have.get(key) == value, f"acknowledged TagResource {key} on {arn} lost"
    for arn, keys in ledger.untagged.items():
        have = tags_of.get(arn) or _tag_map(client, arn)
        assert not keys & set(have), f"acknowledged UntagResource on {arn} undone"

    for kind in (anchors, profiles):
        held: dict[str, str] = {}
        for arn, item in kind.items():
            alias = item.get("aliasName")
            if alias:
                assert alias not in held, f"alias {alias} held by {held[alias]} and {arn}"
                held[alias] = arn

    by_arn = {c["crlArn"]: c for c in crls}
    per_anchor: dict[str, int] = {}
    for crl in crls:
        assert crl["trustAnchorArn"] in anchors, f"CRL {crl['crlArn']} without its anchor"
        per_anchor[crl["trustAnchorArn"]] = per_anchor.get(crl["trustAnchorArn"], 0) + 1
    assert all(n <= CRLS_PER_ANCHOR for n in per_anchor.values()), per_anchor
    for crl_arn, (anchor_arn, data) in ledger.crls.items():
        assert crl_arn in by_arn, f"acknowledged ImportCrl {crl_arn} is lost"
        assert by_arn[crl_arn]["trustAnchorArn"] == anchor_arn
        assert client.get_crl(crlId=crl_arn.rsplit("/", 1)[1])["crl"]["crlData"] == data
    return {"anchors": len(ledger.anchors), "profiles": len(ledger.profiles),
            "crls": len(ledger.crls), "tags": sum(map(len, ledger.tagged.values())),
            "acknowledged": ledger.acknowledged, "in_doubt": ledger.in_doubt}
