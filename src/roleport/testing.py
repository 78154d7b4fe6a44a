"""Run a real Roleport server from tests: yours and ours.

``RoleportServer`` starts ``roleport serve`` as a subprocess on a free port with its own
data dir (SQLite in a temporary folder), waits until it is healthy, and hands out boto3
clients already pointed at it (endpoint, CA bundle, credentials). ``new_account()`` adds
a fresh account with its own admin keys, so each test can work in an empty tenant of a
shared server. ``setup_roles_anywhere()`` builds, in one call, a trust anchor for a
development CA, a role whose trust policy lets Roles Anywhere assume it, a profile and a
client certificate on disk: a :class:`RolesAnywhereSetup` that knows the signing helper's
arguments, the ``credential_process`` line, and how to get credentials or a boto3 session.

:class:`DevPki` is a development CA in a folder that issues client certificates to files.

As a pytest plugin (installed with Roleport, or ``-p roleport.testing``, or
``pytest_plugins = ["roleport.testing"]``) it provides:

=========================  =========  ===================================================
fixture                    scope      what
=========================  =========  ===================================================
``roleport_server``        session    a running server (HTTPS, SQLite, ephemeral port)
``roleport_account``       test       a fresh, empty account on it
``roleport_clients``       test       boto3 ``rolesanywhere``/``iam``/``sts`` clients in it
``roleport_pki``           session    a :class:`DevPki` (root CA + intermediate)
``roleport_setup``         test       a :class:`RolesAnywhereSetup` in a fresh account
=========================  =========  ===================================================

See docs/testing.md for an example test.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

_BANNER = re.compile(r"Roleport is serving on (\S+)")


@dataclass(frozen=True)
class Account:
    """An account on a running server, with an admin key pair."""

    account_id: str
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class Clients:
    """boto3 clients of one account: ``rolesanywhere``, ``iam`` and ``sts``."""

    account: Account
    rolesanywhere: Any
    iam: Any
    sts: Any


@dataclass(frozen=True)
class ClientCertificate:
    """An issued client certificate and where its files are."""

    issued: Any  #: :class:`roleport.crypto.devpki.IssuedCertificate`
    certificate_path: Path
    private_key_path: Path
    chain_path: Path | None
    fullchain_path: Path
    pkcs12_path: Path | None = None
    #: keeps a temporary DevPki folder alive as long as the certificate is used
    pki: Any = field(default=None, repr=False, compare=False)

    @property
    def certificate(self) -> Any:
        """The :class:`roleport.crypto.certificates.Certificate`."""
        return self.issued.certificate

    def helper_args(self) -> list[str]:
        """``--certificate ... --private-key ... [--intermediates ...]``."""
        args = ["--certificate", str(self.certificate_path),
                "--private-key", str(self.private_key_path)]
        if self.chain_path is not None and self.issued.intermediates:
            args += ["--intermediates", str(self.chain_path)]
        return args


class DevPki:
    """A development CA (a root and an intermediate under it, EC P-256) in a folder.

    ``issue()`` writes a client certificate and its key (0600) there. ``trust_anchor_pem``
    is the bundle to create a trust anchor from.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *,
                 key_type: str = "ec", intermediate: bool = True) -> None:
        from roleport.crypto import devpki

        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="roleport-pki-")
        self.directory = Path(directory or self._tmp.name)  # type: ignore[union-attr]
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root = devpki.create_root_ca("Roleport Test Root CA", key_type=key_type)
        self.issuer = devpki.create_intermediate_ca(self.root, "Roleport Test Issuing CA",
                                                    key_type=key_type) if intermediate \
            else self.root
        self._count = 0

    @property
    def trust_anchor_pem(self) -> str:
        """The CA certificates for a trust anchor's ``x509CertificateData``."""
        return self.root.cert_pem + (self.issuer.cert_pem if self.issuer is not self.root
                                     else "")

    def issue(self, cn: str = "roleport-test-client", *, name: str | None = None,
              key_type: str = "ec", sans: list[str] | tuple[str, ...] = (), days: int = 30,
              password: str | None = None, pkcs12: bool = False,
              **options: Any) -> ClientCertificate:
        """Issue a client certificate into the folder (``options`` go to
        :func:`roleport.crypto.devpki.issue_leaf`, e.g. ``not_after``)."""
        from roleport.crypto import devpki

        self._count += 1
        stem = name or f"{re.sub(r'[^A-Za-z0-9._-]+', '-', cn)}-{self._count}"
        issued = devpki.issue_leaf(self.issuer, cn, key_type=key_type, sans=list(sans),
                                   days=days, **options)
        saved = devpki.save(issued, self.directory, stem, password=password)
        p12 = None
        if pkcs12:
            p12 = self.directory / f"{stem}.p12"
            p12.write_bytes(issued.pkcs12(password))
            p12.chmod(0o600)
        return ClientCertificate(issued, saved.certificate, saved.key, saved.chain,
                                 saved.fullchain, p12, self)

    def crl(self, *revoked: ClientCertificate, days: int = 7) -> bytes:
        """A PEM CRL of the issuing CA revoking ``revoked`` (for ``import_crl``)."""
        from roleport.crypto import devpki

        made = devpki.create_crl(self.issuer, [c.certificate.serial for c in revoked],
                                 days=days)
        return made.pem.encode("ascii")

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


@dataclass
class RolesAnywhereSetup:
    """A trust anchor, role and profile in one account, and a client certificate for them."""

    server: RoleportServer
    account: Account
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    client_certificate: ClientCertificate
    pki: DevPki
    duration_seconds: int = 3600

    @property
    def region(self) -> str:
        return self.trust_anchor_arn.split(":")[3]

    def helper_args(self, certificate: ClientCertificate | None = None) -> list[str]:
        """Arguments of ``roleport-signing-helper credential-process|serve|update`` (and of
        ``aws_signing_helper``), endpoint and CA bundle included."""
        args = (certificate or self.client_certificate).helper_args() + [
            "--trust-anchor-arn", self.trust_anchor_arn, "--profile-arn", self.profile_arn,
            "--role-arn", self.role_arn, "--endpoint", self.server.endpoint]
        if self.server.ca_bundle:
            args += ["--ca-bundle", str(self.server.ca_bundle)]
        if self.duration_seconds != 3600:
            args += ["--session-duration", str(self.duration_seconds)]
        return args

    def credential_process(self, certificate: ClientCertificate | None = None) -> str:
        """A ``credential_process = ...`` value running this Python's signing helper."""
        import shlex

        command = [sys.executable, "-m", "roleport.cli.signing_helper", "credential-process",
                   *self.helper_args(certificate)]
        return " ".join(shlex.quote(part) for part in command)

    def credentials(self, certificate: ClientCertificate | None = None) -> Any:
        """One CreateSession: :class:`roleport.client.SessionCredentials`."""
        from roleport.client.sessions import SessionClient, SessionRequest, resolve_endpoint
        from roleport.client.signers import FileSigner

        cert = certificate or self.client_certificate
        signer = FileSigner(cert.certificate_path, cert.private_key_path, cert.chain_path)
        client = SessionClient(
            signer=signer,
            endpoint=resolve_endpoint(endpoint=self.server.endpoint, region=self.region,
                                      trust_anchor_arn=self.trust_anchor_arn,
                                      ca_bundle=str(self.server.ca_bundle)
                                      if self.server.ca_bundle else None),
            request=SessionRequest(trust_anchor_arn=self.trust_anchor_arn,
                                   profile_arn=self.profile_arn, role_arn=self.role_arn,
                                   duration_seconds=self.duration_seconds))
        try:
            return client.create_session()
        finally:
            client.close()

    def session(self, certificate: ClientCertificate | None = None) -> Any:
        """A boto3 ``Session`` whose credentials come from CreateSession and renew
        themselves (:func:`roleport.client.session`)."""
        from roleport.client.boto import session

        cert = certificate or self.client_certificate
        return session(certificate=str(cert.certificate_path),
                       private_key=str(cert.private_key_path),
                       intermediates=str(cert.chain_path) if cert.chain_path else None,
                       trust_anchor_arn=self.trust_anchor_arn, profile_arn=self.profile_arn,
                       role_arn=self.role_arn, endpoint=self.server.endpoint,
                       region=self.region, duration_seconds=self.duration_seconds,
                       ca_bundle=str(self.server.ca_bundle) if self.server.ca_bundle else None)

    def client(self, service: str, certificate: ClientCertificate | None = None) -> Any:
        """A boto3 client for ``service`` on this server, with Roles Anywhere credentials."""
        return self.session(certificate).client(
            service, endpoint_url=self.server.endpoint,
            verify=str(self.server.ca_bundle) if self.server.ca_bundle else False)


class RoleportServer:
    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *,
                 database_url: str | None = None, http: bool = False,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None,
                 region: str = "us-east-1", workers: int | str | None = 1,
                 rate_limits: bool = False) -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="roleport-")
        self.data_dir = Path(data_dir or self._tmp.name)  # type: ignore[union-attr]
        self.database_url = database_url
        self.http = http
        self.region = region
        #: one process by default (quick to start, deterministic); None: the server's
        #: own default (``auto``); ``extra_args`` may still say ``--workers N``
        self.workers = workers
        #: AWS's request rate quotas (CreateSession 10/s per certificate...); off by
        #: default, so a test suite is not throttled for going fast
        self.rate_limits = rate_limits
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.output: list[str] = []
        self._reader: threading.Thread | None = None
        self._boto3_session: Any = None
        self._boto3_lock = threading.Lock()
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()

    # -- lifecycle -----------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "roleport.cli.main", "serve", "--port", "0",
               "--data-dir", str(self.data_dir), "--region", self.region]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        if self.http:
            cmd.append("--http")
        if not self.rate_limits:
            cmd.append("--no-rate-limits")
        return cmd + self.extra_args

    def start(self, timeout: float = 30.0) -> RoleportServer:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=env)
        found = threading.Event()

        def read() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                self.output.append(line)
                m = _BANNER.search(line)
                if m and not found.is_set():
                    self.endpoint = m.group(1)
                    found.set()
            found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        found.wait(timeout)
        if not self.endpoint:
            self.stop()
            raise RuntimeError("roleport serve did not start:\n" + "".join(self.output))
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        import ssl
        import urllib.request

        context = ssl.create_default_context(cafile=str(self.ca_bundle)) if self.ca_bundle \
            else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.endpoint + "/_roleport/health", timeout=2,
                                            context=context) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("roleport serve never became healthy:\n" + "".join(self.output))

    def stop(self) -> None:
        # close our clients' keep-alive connections first: the server's graceful shutdown
        # would otherwise wait for some of them (up to its 5 s timeout)
        for client in list(self._clients):
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._reader:
            self._reader.join(2)

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- facts about it ----------------------------------------------------------------

    @property
    def ca_bundle(self) -> Path | None:
        if self.http:
            return None
        path = self.data_dir / "tls" / "ca.pem"
        return path if path.exists() else None

    @property
    def admin(self) -> Account:
        if "ROLEPORT_ADMIN_ACCESS_KEY_ID" in self.env:
            # keys from the environment are not written to the data dir
            info = json.loads((self.data_dir / "server.json").read_text())
            return Account(info["accountId"], self.env["ROLEPORT_ADMIN_ACCESS_KEY_ID"],
                           self.env["ROLEPORT_ADMIN_SECRET_ACCESS_KEY"])
        data = json.loads((self.data_dir / "admin-credentials.json").read_text())
        return Account(data["accountId"], data["accessKeyId"], data["secretAccessKey"])

    def new_account(self, account_id: str | None = None) -> Account:
        """Create a fresh account (random id unless given) with an admin key pair."""
        from roleport import ids
        from roleport.config import Settings
        from roleport.server.bootstrap import add_access_key, open_store

        account_id = account_id or "".join(random.choice("0123456789") for _ in range(12))
        key_id, secret = ids.new_access_key_id("AKIA"), ids.new_secret_access_key()
        settings = Settings(data_dir=self.data_dir, database_url=self.database_url,
                            **Settings.keys_from_env({**os.environ, **self.env}))
        store = open_store(settings, pool_size=1)
        try:
            add_access_key(store, key_id, secret, account_id)
        finally:
            store.dispose()
        return Account(account_id, key_id, secret)

    def client(self, service: str = "rolesanywhere", account: Account | None = None, *,
               region: str | None = None, client_validation: bool = True,
               **kwargs: Any) -> Any:
        """A boto3 client for ``service`` signed with ``account``'s keys (default: admin).

        ``client_validation=False`` turns botocore's own parameter checks off, so that bad
        input reaches the server (to test what the server answers).
        """
        import boto3
        from botocore.config import Config

        account = account or self.admin
        kwargs.setdefault("config", Config(retries={"max_attempts": 1, "mode": "standard"},
                                           parameter_validation=client_validation))
        with self._boto3_lock:  # one session: service models are loaded once, not per client
            if self._boto3_session is None:
                self._boto3_session = boto3.session.Session()
            client = self._boto3_session.client(
                service, region_name=region or self.region, endpoint_url=self.endpoint,
                aws_access_key_id=account.access_key_id,
                aws_secret_access_key=account.secret_access_key,
                verify=str(self.ca_bundle) if self.ca_bundle else False, **kwargs)
            self._clients.add(client)
            return client

    def clients(self, account: Account | None = None) -> Clients:
        """boto3 ``rolesanywhere``, ``iam`` and ``sts`` clients of ``account``."""
        account = account or self.admin
        return Clients(account, self.client("rolesanywhere", account),
                       self.client("iam", account), self.client("sts", account))

    def setup_roles_anywhere(self, account: Account | None = None, *,
                             pki: DevPki | None = None, name: str = "roleport-test",
                             cn: str = "roleport-test-client", key_type: str = "ec",
                             duration_seconds: int = 3600,
                             accept_role_session_name: bool = False) -> RolesAnywhereSetup:
        """Trust anchor (``pki``'s CA; a new :class:`DevPki` if not given), role, profile
        and a client certificate, in ``account`` (a new account if not given)."""
        from roleport.client.provisioning import provision

        account = account or self.new_account()
        pki = pki or DevPki()
        clients = self.clients(account)
        done = provision(clients.rolesanywhere, clients.iam, ca_pem=pki.trust_anchor_pem,
                         name=name, duration_seconds=duration_seconds,
                         accept_role_session_name=accept_role_session_name,
                         max_session_duration=max(3600, duration_seconds))
        certificate = pki.issue(cn, key_type=key_type)
        return RolesAnywhereSetup(self, account, done.trust_anchor_arn, done.profile_arn,
                                  done.role_arn, certificate, pki, duration_seconds)

    def aws_env(self, account: Account | None = None) -> dict[str, str]:
        """Environment variables that point the AWS CLI and SDKs at this server."""
        account = account or self.admin
        env = {"AWS_ACCESS_KEY_ID": account.access_key_id,
               "AWS_SECRET_ACCESS_KEY": account.secret_access_key,
               "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
               "AWS_ENDPOINT_URL": self.endpoint}
        if self.ca_bundle:
            env["AWS_CA_BUNDLE"] = str(self.ca_bundle)
        return env


# -- pytest plugin -----------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - the plugin part needs pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def roleport_server() -> Iterator[RoleportServer]:
        """A Roleport server (HTTPS, SQLite in a temporary dir) for the whole session."""
        with RoleportServer() as server:
            yield server

    @pytest.fixture()
    def roleport_account(roleport_server: RoleportServer) -> Account:
        """A fresh, empty account on the session's server."""
        return roleport_server.new_account()

    @pytest.fixture()
    def roleport_clients(roleport_server: RoleportServer, roleport_account: Account) -> Clients:
        """boto3 ``rolesanywhere``, ``iam`` and ``sts`` clients in ``roleport_account``."""
        return roleport_server.clients(roleport_account)

    @pytest.fixture(scope="session")
    def roleport_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPki]:
        """A development CA (root + issuing intermediate) that issues client certificates
        to files."""
        pki = DevPki(tmp_path_factory.mktemp("roleport-pki"))
        yield pki
        pki.close()

    @pytest.fixture()
    def roleport_setup(roleport_server: RoleportServer, roleport_account: Account,
                       roleport_pki: DevPki) -> RolesAnywhereSetup:
        """Trust anchor, role, profile and client certificate in a fresh account."""
        return roleport_server.setup_roles_anywhere(roleport_account, pki=roleport_pki)
