"""A world for CreateSession domain tests: real SQLite storage, the real control-plane
services to create trust anchors, profiles and CRLs, a fake credential issuer, and
requests signed by our own X.509 signer. Certificates are made per session, never
committed."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import read_x509_request, sign_x509_request
from roleport.crypto import devpki
from roleport.crypto.devpki import IssuedCertificate
from roleport.crypto.keys import generate_private_key
from roleport.domain.context import Caller, Scope
from roleport.domain.crls import CrlService
from roleport.domain.freshness import ChangeCounter
from roleport.domain.pagination import PageTokens
from roleport.domain.profiles import ProfileService
from roleport.domain.quotas import Quotas
from roleport.domain.revocation import DistributionPointCache
from roleport.domain.sessions import SessionAudit, SessionRequest, SessionService, SessionSettings
from roleport.domain.trust_anchors import Source, TrustAnchorService
from roleport.errors import AccessDeniedError
from roleport.storage.sql import engine, migrate
from roleport.storage.sql.unit_of_work import SqlStore
from roleport.sts.issuer import AssumeRoleRequest, IssuedCredentials

REGION = "us-east-1"


class FixedClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC).replace(microsecond=123456)

    def now(self) -> datetime:
        return self.moment


class FakeIssuer:
    """Records each AssumeRole request; refuses when ``refuse`` says why, or when the
    duration exceeds ``max_session_duration``, as the real issuer does."""

    def __init__(self) -> None:
        self.calls: list[AssumeRoleRequest] = []
        self.refuse: str | None = None
        self.max_session_duration = 3600 * 12

    def assume_role(self, request: AssumeRoleRequest) -> IssuedCredentials:
        self.calls.append(request)
        if self.refuse:
            raise AccessDeniedError(f"Unable to assume role for {request.role_arn}. "
                                    f"{self.refuse}")
        if request.duration_seconds > self.max_session_duration:
            raise AccessDeniedError(
                f"Unable to assume role for {request.role_arn}. The requested "
                "DurationSeconds exceeds the MaxSessionDuration set for this role.")
        name = request.role_arn.rsplit("/", 1)[1]
        return IssuedCredentials(
            access_key_id="ASIAFAKEFAKEFAKEFAKE", secret_access_key="s" * 40,
            session_token="token", expiration=datetime.now(UTC) + timedelta(
                seconds=request.duration_seconds),
            assumed_role_arn=f"arn:aws:sts::{request.account_id}:assumed-role/{name}/"
                             f"{request.role_session_name}",
            assumed_role_id=f"AROAFAKE:{request.role_session_name}", packed_policy_size=0,
            source_identity=request.source_identity)


@dataclass
class Pki:
    root: IssuedCertificate
    intermediate: IssuedCertificate
    rsa_root: IssuedCertificate
    other_root: IssuedCertificate
    rsa_key: Any


@pytest.fixture(scope="session")
def pki() -> Pki:
    root = devpki.create_root_ca("Session Test Root CA")
    return Pki(root=root,
               intermediate=devpki.create_intermediate_ca(root, "Session Test Issuing CA"),
               rsa_root=devpki.create_root_ca("Session Test RSA Root", key_type="rsa"),
               other_root=devpki.create_root_ca("Unrelated Root CA"),
               rsa_key=generate_private_key("rsa"))


@pytest.fixture(scope="session")
def sessions_store(tmp_path_factory: pytest.TempPathFactory) -> SqlStore:
    path = Path(tmp_path_factory.mktemp("sessions")) / "roleport.db"
    eng = engine.create(f"sqlite:///{path}")
    migrate.upgrade(eng)
    return SqlStore(eng)


@dataclass
class World:
    store: SqlStore
    clock: FixedClock
    issuer: FakeIssuer
    fetched: dict[str, bytes | Exception]
    settings: SessionSettings = field(default_factory=SessionSettings)
    account_id: str = field(default_factory=lambda: "".join(random.choice("0123456789")
                                                            for _ in range(12)))

    def __post_init__(self) -> None:
        self.changes = ChangeCounter()  # shared by the control plane and CreateSession
        args = (self.store, self.clock, PageTokens(b"k" * 32), Quotas(), self.changes)
        self.anchors = TrustAnchorService(*args)
        self.profiles = ProfileService(*args)
        self.crls = CrlService(*args)
        self.fetches: list[str] = []
        self.caller = Caller(Scope(self.account_id, REGION),
                             f"arn:aws:iam::{self.account_id}:root")
        self.role_arn = f"arn:aws:iam::{self.account_id}:role/workload"

    def fetch(self, url: str) -> bytes:
        from roleport.domain.revocation import CrlFetchError

        self.fetches.append(url)
        answer = self.fetched.get(url, CrlFetchError("connection refused"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def service(self, **settings: Any) -> SessionService:
        chosen = SessionSettings(**settings) if settings else self.settings
        return SessionService(self.store, self.clock, self.issuer, chosen,
                              DistributionPointCache(self.fetch), changes=self.changes)

    def anchor(self, *cas: IssuedCertificate, **options: Any) -> Any:
        source = Source("CERTIFICATE_BUNDLE",
                        {"x509CertificateData": "".join(c.cert_pem for c in cas)})
        return self.anchors.create(
            self.caller, name="ca", source=source, enabled=options.get("enabled"),
            crl_dp_revocation_enabled=options.get("crl_dp"), tag_list=None,
            notification_settings=None, alias_name=options.get("alias"))

    def profile(self, **options: Any) -> Any:
        return self.profiles.create(
            self.caller, name="p", role_arns=options.get("role_arns", [self.role_arn]),
            managed_policy_arns=options.get("managed_policy_arns"),
            session_policy=options.get("session_policy"),
            duration_seconds=options.get("duration_seconds"), enabled=options.get("enabled"),
            require_instance_properties=None,
            accept_role_session_name=options.get("accept_role_session_name"), tag_list=None,
            alias_name=None, tip_configuration=options.get("tip_configuration"))

    def signed(self, leaf: IssuedCertificate, *, chain: list | None = None,
               at: datetime | None = None, sign: Any = None, algorithm: str | None = None,
               body: dict | None = None, lenient: bool = True, **kw: Any) -> Any:
        payload = json.dumps(body or {}).encode()
        raw = SigningRequest("POST", "/sessions", "", [
            ("host", "roleport.test"), ("content-type", "application/json")], payload)
        signed = sign_x509_request(raw, certificate=leaf.certificate,
                                   sign=sign or leaf.key.sign, region=REGION,
                                   now=at or self.clock.now(),
                                   chain=chain if chain is not None else leaf.intermediates,
                                   algorithm=algorithm, **kw)
        return read_x509_request(signed, lenient=lenient)

    def request(self, leaf: IssuedCertificate, anchor: Any, profile: Any,
                role_arn: str | None = None, credential: Any = None,
                **fields: Any) -> SessionRequest:
        return SessionRequest(credential=credential or self.signed(leaf),
                              trust_anchor_arn=anchor.arn, profile_arn=profile.arn,
                              role_arn=role_arn or self.role_arn, **fields)

    def run(self, request: SessionRequest, service: SessionService | None = None,
            ) -> tuple[Any, SessionAudit]:
        audit = SessionAudit()
        result = (service or self.service()).create_session(request, audit)
        return result, audit

    def subject(self, dn: str) -> Any:
        with self.store() as uow:
            return next(s for s in uow.subjects.all(self.caller.scope) if s.x509_subject == dn)


@pytest.fixture()
def world(sessions_store: SqlStore) -> World:
    return World(sessions_store, FixedClock(), FakeIssuer(), {})
