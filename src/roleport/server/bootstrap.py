"""First-start and every-start chores: the data dir, the database schema, the admin key
pair, the server key, the key-encryption key of the stored secrets and the local TLS
certificates.

Everything a start creates is written once, owner-only (server/data_dir.py), and reused by
later starts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from roleport import ids
from roleport.config import Settings
from roleport.domain.model import AccessKey
from roleport.server.data_dir import FILE_MODE, ensure_private_dir, write_private
from roleport.storage.base import ConflictingWrite
from roleport.storage.sealing import SecretSealer, UnreadableSecret
from roleport.storage.sql.repositories import SqlAccessKeys
from roleport.storage.sql.unit_of_work import SqlStore
from roleport.sts.keyring import MIN_KEY_BYTES, Keyring, key_id_of

ADMIN_FILE = "admin-credentials.json"
SERVER_KEY_FILE = "server-key.json"
TLS_DIR = "tls"

log = logging.getLogger("roleport.bootstrap")


def ensure_data_dir(settings: Settings) -> Path:
    return ensure_private_dir(Path(settings.data_dir))


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


@dataclass(frozen=True)
class AdminKey:
    access_key_id: str
    secret_access_key: str
    account_id: str
    created: bool
    #: where the pair came from: "environment", "file" (the data dir) or "generated"
    source: str = "generated"


def ensure_admin_key(settings: Settings, store: SqlStore) -> AdminKey:
    """The admin key pair of the default account: from the environment, else the data dir,
    else a new one (stored 0600, and reported as ``created`` so it is printed once).

    Only a pair Roleport generated is written to the data dir: one from the environment
    is the operator's to keep, and a copy on disk would outlive its rotation there.
    """
    path = ensure_data_dir(settings) / ADMIN_FILE
    created = False
    if settings.admin_access_key_id and settings.admin_secret_access_key:
        key_id, secret = settings.admin_access_key_id, settings.admin_secret_access_key
        source = "environment"
    elif path.exists():
        data = json.loads(path.read_text())
        key_id, secret, source = data["accessKeyId"], data["secretAccessKey"], "file"
    else:
        key_id, secret = ids.new_access_key_id("AKIA"), ids.new_secret_access_key()
        created, source = True, "generated"
        write_private(path, json.dumps({"accessKeyId": key_id, "secretAccessKey": secret,
                                        "accountId": settings.account_id}, indent=2) + "\n")
    add_access_key(store, key_id, secret, settings.account_id)
    return AdminKey(key_id, secret, settings.account_id, created, source)


def add_access_key(store: SqlStore, key_id: str, secret: str, account_id: str) -> bool:
    """Store a long-term key of an account (its root principal) unless it exists.

    Replicas started at once with the same admin key all find it missing and insert it:
    the one whose insert loses to the primary key reads it again, as if it had come late."""
    for attempt in range(2):
        try:
            return _add_access_key(store, key_id, secret, account_id)
        except ConflictingWrite:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _add_access_key(store: SqlStore, key_id: str, secret: str, account_id: str) -> bool:
    with store(write=True) as uow:
        try:
            existing = uow.access_keys.get(key_id)
        except UnreadableSecret:
            raise SystemExit(f"the stored secret of access key {key_id} opens with no "
                             f"key-encryption key given (ROLEPORT_SECRETS_KEY[_FILE], "
                             f"ROLEPORT_SERVER_KEY or the data dir's server-key.json)") from None
        if existing is not None:
            if existing.secret_access_key != secret or existing.account_id != account_id:
                raise SystemExit(f"access key {key_id} already exists with another secret or "
                                 f"account; choose another key id")
            return False
        uow.access_keys.add(AccessKey(key_id, secret, account_id, root_arn(account_id),
                                      datetime.now(timezone.utc)))
        return True


#: how long a rotated-out key keeps opening session tokens: the longest session (12 h)
#: plus a margin, so every credential it sealed expires first
RETIRE_AFTER_SECONDS = 43200 + 3600


def _keyring_from_env(value: str, name: str = "ROLEPORT_SERVER_KEY") -> Keyring:
    secrets_ = []
    for part in value.split(","):
        try:
            raw = base64.b64decode(part.strip(), validate=True)
        except (ValueError, binascii.Error):
            raise SystemExit(f"{name} must be base64 (comma-separated for "
                             "rotation, current key first)") from None
        if len(raw) < MIN_KEY_BYTES:
            raise SystemExit(f"{name} must be base64 of at least 32 bytes")
        secrets_.append(raw)
    return Keyring.of(*secrets_)


def _new_key_entry(now: datetime) -> tuple[str, dict[str, str]]:
    raw = secrets.token_bytes(32)
    key_id = key_id_of(raw)
    return key_id, {"id": key_id, "secret": base64.b64encode(raw).decode(),
                    "created": now.isoformat()}


def _live(entries: list[dict[str, str]], current: str, now: datetime) -> list[dict[str, str]]:
    """Keys still in use: the current one, and retired ones whose sessions may live on."""
    return [k for k in entries if k["id"] == current or "retireAt" not in k
            or datetime.fromisoformat(k["retireAt"]) > now]


def _keyring_from_file(data: dict, now: datetime, *, retired_too: bool = False) -> Keyring:
    current = data["current"]
    entries = data["keys"] if retired_too else _live(data["keys"], current, now)
    keys = {k["id"]: base64.b64decode(k["secret"]) for k in entries}
    return Keyring(current=current, keys=keys)


def ensure_keyring(settings: Settings) -> Keyring:
    """The server keys: the current one seals session tokens (and page tokens), the others
    still open what they sealed.

    ``ROLEPORT_SERVER_KEY`` wins: base64 of at least 32 bytes, or several separated by
    commas, the current key first. Else the data dir's ``server-key.json`` (0600),
    created on first start. Replicas sharing a database must share these keys.
    """
    if settings.server_key:
        return _keyring_from_env(settings.server_key)
    path = ensure_data_dir(settings) / SERVER_KEY_FILE
    now = datetime.now(timezone.utc)
    if path.exists():
        return _keyring_from_file(json.loads(path.read_text()), now)
    key_id, entry = _new_key_entry(now)
    write_private(path, json.dumps({"current": key_id, "keys": [entry]}, indent=2) + "\n")
    return _keyring_from_file({"current": key_id, "keys": [entry]}, now)


def rotate_server_key(settings: Settings, *,
                      retire_after_seconds: int = RETIRE_AFTER_SECONDS) -> Keyring:
    """Make a new current key in the data dir; the previous one keeps opening the tokens it
    sealed for ``retire_after_seconds``, and keys past their retirement are dropped.
    Servers read the file at start: restart them (all replicas) to use the new key.

    Stored secrets still sealed under a key about to be dropped (no server restarted since
    it stopped being current) are first re-sealed under the previous current key, which
    the file keeps: dropping a key never makes a stored secret unreadable."""
    if settings.server_key:
        raise SystemExit("the server key comes from ROLEPORT_SERVER_KEY: rotate it there "
                         "(new key first, then the old one, comma-separated)")
    ensure_keyring(settings)
    path = ensure_data_dir(settings) / SERVER_KEY_FILE
    data = json.loads(path.read_text())
    now = datetime.now(timezone.utc)
    retire_at = (now + timedelta(seconds=retire_after_seconds)).isoformat()
    for entry in data["keys"]:
        if entry["id"] == data["current"]:
            entry.setdefault("retireAt", retire_at)
    key_id, entry = _new_key_entry(now)
    kept = _live(data["keys"], key_id, now)
    if len(kept) < len(data["keys"]) and not (settings.secrets_key or
                                               settings.secrets_key_file):
        # every key opens; the previous current one seals, unless it goes too
        target = data["current"] if any(k["id"] == data["current"] for k in kept) else key_id
        ring = _keyring_from_file({"current": target, "keys": [entry, *data["keys"]]}, now,
                                  retired_too=True)
        store = open_store(settings, pool_size=1, secrets_keys=ring)
        try:
            reseal_secrets(store)
        finally:
            store.dispose()
    data = {"current": key_id, "keys": [entry, *kept]}
    write_private(path, json.dumps(data, indent=2) + "\n")
    return _keyring_from_file(data, now)


def secrets_keyring(settings: Settings, server_keys: Keyring | None = None) -> Keyring:
    """The key-encryption keys of the stored secrets, the current one first.

    ``ROLEPORT_SECRETS_KEY`` (or a file named by ``ROLEPORT_SECRETS_KEY_FILE``) holding
    what ``ROLEPORT_SERVER_KEY`` would: base64 keys, comma-separated, current first. Else
    the server keys, with the retired ones still in ``server-key.json``: a secret sealed
    before a rotation opens until the next start re-seals it (:func:`reseal_secrets`).
    """
    if settings.secrets_key:
        return _keyring_from_env(settings.secrets_key, "ROLEPORT_SECRETS_KEY")
    if settings.secrets_key_file:
        try:
            text = Path(settings.secrets_key_file).read_text().strip()
        except OSError as exc:
            raise SystemExit(f"cannot read ROLEPORT_SECRETS_KEY_FILE "
                             f"{settings.secrets_key_file}: {exc.strerror}") from None
        return _keyring_from_env(text, "ROLEPORT_SECRETS_KEY_FILE")
    server_keys = server_keys or ensure_keyring(settings)
    path = Path(settings.data_dir) / SERVER_KEY_FILE
    if settings.server_key or not path.exists():
        return server_keys
    return _keyring_from_file(json.loads(path.read_text()), datetime.now(timezone.utc),
                              retired_too=True)


def open_store(settings: Settings, *, pool_size: int = 8, server_keys: Keyring | None = None,
               secrets_keys: Keyring | None = None) -> SqlStore:
    """The database, migrated, with the sealer of its stored secrets (``secrets_keys``, or
    those :func:`secrets_keyring` finds)."""
    from roleport.storage.sql import engine, migrate

    sealer = SecretSealer(secrets_keys or secrets_keyring(settings, server_keys))
    eng = engine.create(settings.resolved_database_url, pool_size=pool_size,
                        sqlite_synchronous=settings.sqlite_synchronous)
    migrate.upgrade(eng, sealer=sealer)
    for warning in engine.durability_warnings(eng):
        log.warning("%s (docs/security.md, Durability)", warning)
    return SqlStore(eng, sealer)


def reseal_secrets(store: SqlStore) -> None:
    """At start: seal what is still plain text, move what an older key sealed to the
    current one (so that key can be dropped), and say so; name what cannot be opened."""
    assert store.sealer is not None
    with store(write=True) as uow:
        keys = uow.access_keys
        assert isinstance(keys, SqlAccessKeys)
        changed, unreadable = keys.reseal()
    store.checkpoint()  # what migration 0003 or this re-sealing replaced leaves the files
    if changed:
        log.info("sealed %d stored secret(s) with key-encryption key %s", changed,
                 store.sealer.current_key_id)
    if unreadable:
        log.error("the stored secrets of access keys %s open with no key-encryption key "
                  "in the keyring (was a key dropped before the servers restarted?): "
                  "requests signed with them are refused", ", ".join(unreadable))


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    key: Path
    ca_bundle: Path | None


def ensure_tls(settings: Settings) -> TlsFiles | None:
    """The certificate to serve HTTPS with: the operator's, else a local CA's."""
    if settings.http:
        return None
    if settings.tls_cert and settings.tls_key:
        return TlsFiles(Path(settings.tls_cert), Path(settings.tls_key), None)
    from roleport.crypto import devpki

    folder = ensure_data_dir(settings).resolve() / TLS_DIR
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    if not (ca_path.exists() and cert_path.exists() and key_path.exists()):
        ca = devpki.create_root_ca("Roleport Local CA", key_type="ec", days=3650)
        server = devpki.issue_server_certificate(ca, hostnames=["localhost"],
                                                 ips=["127.0.0.1", "::1"], days=825)
        for saved in (devpki.save(ca, folder, "ca"), devpki.save(server, folder, "server")):
            for path in (saved.certificate, saved.chain, saved.fullchain):
                if path is not None:
                    path.chmod(FILE_MODE)  # public, but the data dir is the owner's only
    return TlsFiles(cert_path, key_path, ca_path)
