"""Run a real Roleport server from tests: yours and ours.

``RoleportServer`` starts ``roleport serve`` as a subprocess on a free port with its own
data dir, waits until it is healthy, and hands out boto3 clients already pointed at it
(endpoint, CA bundle, credentials). ``new_account()`` adds a fresh account with its own
admin keys, so each test can work in an empty tenant of a shared server.

As a pytest plugin (``-p roleport.testing``, or ``pytest_plugins = ["roleport.testing"]``)
it provides the ``roleport_server`` fixture (session-scoped) and ``roleport_account``
(a fresh, empty account per test).
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BANNER = re.compile(r"Roleport is serving on (\S+)")


@dataclass(frozen=True)
class Account:
    """An account on a running server, with an admin key pair."""

    account_id: str
    access_key_id: str
    secret_access_key: str


class RoleportServer:
    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *,
                 database_url: str | None = None, http: bool = False,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None,
                 region: str = "us-east-1") -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="roleport-")
        self.data_dir = Path(data_dir or self._tmp.name)  # type: ignore[union-attr]
        self.database_url = database_url
        self.http = http
        self.region = region
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "roleport.cli.main", "serve", "--port", "0",
               "--data-dir", str(self.data_dir), "--region", self.region]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        if self.http:
            cmd.append("--http")
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
        import urllib.request
        import ssl

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

    def __enter__(self) -> RoleportServer:
        return self.start()

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
        data = json.loads((self.data_dir / "admin-credentials.json").read_text())
        if "ROLEPORT_ADMIN_ACCESS_KEY_ID" in self.env:
            return Account(data["accountId"], self.env["ROLEPORT_ADMIN_ACCESS_KEY_ID"],
                           self.env["ROLEPORT_ADMIN_SECRET_ACCESS_KEY"])
        return Account(data["accountId"], data["accessKeyId"], data["secretAccessKey"])

    def new_account(self, account_id: str | None = None) -> Account:
        """Create a fresh account (random id unless given) with an admin key pair."""
        from roleport import ids
        from roleport.config import Settings
        from roleport.server.bootstrap import add_access_key
        from roleport.storage.sql import engine
        from roleport.storage.sql.unit_of_work import SqlStore

        account_id = account_id or "".join(random.choice("0123456789") for _ in range(12))
        key_id, secret = ids.new_access_key_id("AKIA"), ids.new_secret_access_key()
        settings = Settings(data_dir=self.data_dir, database_url=self.database_url)
        eng = engine.create(settings.resolved_database_url, pool_size=1)
        try:
            add_access_key(SqlStore(eng), key_id, secret, account_id)
        finally:
            eng.dispose()
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
        return boto3.session.Session().client(
            service, region_name=region or self.region, endpoint_url=self.endpoint,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            verify=str(self.ca_bundle) if self.ca_bundle else False, **kwargs)

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
