"""The server process: first start, restart, PostgreSQL, plain HTTP, env credentials."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat

import pytest
from botocore.exceptions import ClientError

from roleport.testing import RoleportServer

from .conftest import bundle_source


def test_first_start_creates_private_files_and_restart_keeps_everything(tmp_path, pki):
    data = tmp_path / "data"
    with RoleportServer(data) as first:
        banner = "".join(first.output)
        admin = first.admin
        # on first start the banner names the new key and where its secret is; the secret
        # itself only to a terminal (this output is a pipe: a log)
        assert admin.access_key_id in banner and "admin-credentials.json" in banner
        assert admin.secret_access_key not in banner
        assert "AWS_CA_BUNDLE=" in banner and "aws rolesanywhere list-trust-anchors" in banner
        client = first.client()
        ta = client.create_trust_anchor(name="kept", source=bundle_source(pki.root))
        ca_pem = (data / "tls" / "ca.pem").read_text()
    for name in ("admin-credentials.json", "server-key.json", "tls/ca.key", "tls/server.key"):
        mode = stat.S_IMODE(os.stat(data / name).st_mode)
        assert mode == 0o600, name
    assert first.process.returncode == 0
    assert "Roleport stopped." in "".join(first.output)
    with RoleportServer(data) as second:
        assert second.admin == admin
        assert admin.secret_access_key not in "".join(second.output)
        got = second.client().get_trust_anchor(trustAnchorId=ta["trustAnchor"]["trustAnchorId"])
        assert got["trustAnchor"]["name"] == "kept"
        assert (data / "tls" / "ca.pem").read_text() == ca_pem


def test_admin_keys_from_the_environment(tmp_path):
    env = {"ROLEPORT_ADMIN_ACCESS_KEY_ID": "AKIAROLEPORTTEST0001",
           "ROLEPORT_ADMIN_SECRET_ACCESS_KEY": "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcd"}
    with RoleportServer(tmp_path / "d", env=env, http=True) as srv:
        assert srv.endpoint.startswith("http://")
        assert srv.client().list_trust_anchors()["trustAnchors"] == []
        assert env["ROLEPORT_ADMIN_SECRET_ACCESS_KEY"] not in "".join(srv.output)


def test_postgresql_backend_serves_the_control_plane(pg_server, pki):
    account = pg_server.new_account()
    ra = pg_server.client("rolesanywhere", account)
    ta = ra.create_trust_anchor(name="pg", source=bundle_source(pki.root),
                                aliasName="pg-ca")["trustAnchor"]
    role = f"arn:aws:iam::{account.account_id}:role/r"
    for i in range(5):
        ra.create_profile(name=f"p{i}", roleArns=[role])
    names = [p["name"] for page in ra.get_paginator("list_profiles").paginate(pageSize=2)
             for p in page["profiles"]]
    assert names == [f"p{i}" for i in range(5)]
    ra.tag_resource(resourceArn=ta["trustAnchorArn"], tags=[{"key": "db", "value": "pg"}])
    assert ra.get_trust_anchor(trustAnchorId=ta["aliasArn"])["trustAnchor"]["name"] == "pg"
    with pytest.raises(ClientError):
        ra.create_trust_anchor(name="dup", source=bundle_source(pki.root), aliasName="pg-ca")
    assert len(ra.list_trust_anchors()["trustAnchors"]) == 1


def test_two_servers_share_one_postgresql(pg_server, tmp_path, postgres_url, pki):
    account = pg_server.new_account()
    # replicas share the server keys (they seal the stored secrets and session tokens)
    keys = json.loads((pg_server.data_dir / "server-key.json").read_text())["keys"]
    env = {"ROLEPORT_SERVER_KEY": ",".join(k["secret"] for k in keys)}
    with RoleportServer(tmp_path / "second", database_url=postgres_url, http=True,
                        env=env) as second:
        created = pg_server.client("rolesanywhere", account).create_trust_anchor(
            name="shared", source=bundle_source(pki.root))["trustAnchor"]
        seen = second.client("rolesanywhere", account).get_trust_anchor(
            trustAnchorId=created["trustAnchorId"])
        assert seen["trustAnchor"]["name"] == "shared"


def test_workers_share_the_port_and_stop_cleanly(tmp_path, pki):
    with RoleportServer(tmp_path / "w", http=True, extra_args=["--workers", "2"]) as srv:
        children = (tmp_path / "w").exists() and [
            int(p) for p in open(f"/proc/{srv.process.pid}/task/{srv.process.pid}/children")
            .read().split()]
        assert len(children) == 2
        ra = srv.client()
        ids = {ra.create_trust_anchor(name=f"w{i}", source=bundle_source(pki.root))[
            "trustAnchor"]["trustAnchorId"] for i in range(10)}
        assert {t["trustAnchorId"] for t in ra.list_trust_anchors()["trustAnchors"]} == ids
        # a burst of connections is spread over both workers (one listening socket each),
        # not accepted by whichever woke first
        port = int(srv.endpoint.rsplit(":", 1)[1])
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        try:
            counts = _accepted_connections(children, port, expected=32)
        finally:
            for sock in sockets:
                sock.close()
        assert sum(counts.values()) >= 32  # and any keep-alive connection of the client
        assert min(counts.values()) >= 4, counts
    assert srv.process.returncode == 0
    assert "".join(srv.output).count("Roleport is serving on") == 1



def test_a_port_already_served_is_refused_even_with_several_workers(tmp_path):
    """Workers use SO_REUSEPORT, which would let a second server share the port of the
    first: the second must refuse to start instead."""
    import subprocess
    import sys

    with RoleportServer(tmp_path / "first", http=True, extra_args=["--workers", "2"]) as srv:
        port = srv.endpoint.rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "roleport.cli.main", "serve", "--http", "--port", port,
             "--data-dir", str(tmp_path / "second"), "--workers", "2"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        assert srv.client("sts").get_caller_identity()["Account"]  # the first one serves on


def test_workers_stop_when_their_supervisor_is_killed(tmp_path):
    import signal
    import time

    srv = RoleportServer(tmp_path / "orphans", http=True, extra_args=["--workers", "2"])
    srv.start()
    try:
        children = [int(p) for p in open(
            f"/proc/{srv.process.pid}/task/{srv.process.pid}/children").read().split()]
        assert len(children) == 2
        srv.process.send_signal(signal.SIGKILL)
        srv.process.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        srv.stop()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has stopped
    except FileNotFoundError:
        return False

def _accepted_connections(pids: list[int], port: int, expected: int) -> dict[int, int]:
    """Established connections on ``port`` held by each process, from /proc."""
    import time

    deadline = time.monotonic() + 10
    while True:
        established = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        established.add(fields[9])
        counts = {}
        for pid in pids:
            inodes = set()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
            counts[pid] = len(inodes & established)
        if sum(counts.values()) >= expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def test_idle_keep_alive_tls_connections_do_not_hold_the_stop(tmp_path):
    import time

    import boto3

    with RoleportServer(tmp_path / "k") as srv:
        # a client of our own making, left open with an idle keep-alive TLS connection
        sts = boto3.session.Session().client(
            "sts", region_name="us-east-1", endpoint_url=srv.endpoint,
            aws_access_key_id=srv.admin.access_key_id,
            aws_secret_access_key=srv.admin.secret_access_key, verify=str(srv.ca_bundle))
        assert sts.get_caller_identity()["Account"] == srv.admin.account_id
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 3
        assert srv.process.returncode == 0


def test_default_is_one_worker_per_available_core(tmp_path):
    from roleport.server.workers import available_cpus

    expected = available_cpus()
    with RoleportServer(tmp_path / "auto", http=True, workers=None) as srv:
        banner = "".join(srv.output)
        assert f"workers  {expected} (auto: one per available core" in banner
        children = [int(p) for p in open(
            f"/proc/{srv.process.pid}/task/{srv.process.pid}/children").read().split()]
        assert len(children) == (expected if expected > 1 else 0)
        assert srv.client("sts").get_caller_identity()["Account"]
