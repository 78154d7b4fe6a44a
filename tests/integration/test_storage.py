"""One repository and unit-of-work suite, run on SQLite and on PostgreSQL.

Covers what the domain relies on: round trips of every resource, scoping, keyset
pages, atomic rollback, unique aliases, and no lost update under concurrent writers.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from roleport.clock import SystemClock
from roleport.domain import attribute_mappings, notifications
from roleport.domain.context import Caller, Scope
from roleport.domain.model import Profile, Tag, TipConfiguration, TrustAnchor
from roleport.domain.pagination import PageTokens
from roleport.domain.profiles import ProfileService
from roleport.domain.quotas import Quotas
from roleport.domain.tagging import TaggingService
from roleport.storage.base import ConflictingWrite
from roleport.storage.sql import codecs, engine, migrate, tables
from roleport.storage.sql.unit_of_work import SqlStore

SCOPE = Scope("111111111111", "us-east-1")
OTHER = Scope("222222222222", "us-east-1")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = engine.create(url)
    migrate.upgrade(eng)
    if request.param == "postgresql":  # a clean slate inside the session database
        from sqlalchemy import text

        with eng.begin() as conn:
            conn.execute(text("TRUNCATE trust_anchors, profiles, crls, subjects, access_keys "
                              "CASCADE"))
    yield SqlStore(eng)
    eng.dispose()


def anchor(i: int = 0, scope: Scope = SCOPE, alias: str | None = None) -> TrustAnchor:
    now = datetime.now(timezone.utc)
    return TrustAnchor(id=f"00000000-0000-4000-8000-{i:012d}", account_id=scope.account_id,
                       region=scope.region, name=f"ta{i}", source_type="CERTIFICATE_BUNDLE",
                       source_data={"x509CertificateData": "pem"}, enabled=True,
                       crl_dp_revocation_enabled=False,
                       notification_settings=notifications.defaults(), created_at=now,
                       updated_at=now, alias_name=alias, tags=[Tag("k", "v")])


def profile(i: int = 0) -> Profile:
    now = datetime.now(timezone.utc)
    return Profile(id=f"00000000-0000-4000-9000-{i:012d}", account_id=SCOPE.account_id,
                   region=SCOPE.region, name=f"p{i}", enabled=True,
                   require_instance_properties=False, session_policy=None,
                   role_arns=["arn:aws:iam::111111111111:role/r"], managed_policy_arns=[],
                   duration_seconds=3600, accept_role_session_name=False,
                   attribute_mappings=attribute_mappings.defaults(), created_by="me",
                   created_at=now, updated_at=now)


def test_round_trip_keeps_every_field(store):
    original = anchor(1, alias="a1")
    with store(write=True) as uow:
        uow.trust_anchors.add(original)
    with store() as uow:
        loaded = uow.trust_anchors.get(SCOPE, original.id)
    assert loaded == original
    assert loaded.created_at.tzinfo is not None


@pytest.mark.parametrize("tip", [None, TipConfiguration("ENABLED", "user", "x509SAN/URI"),
                                 TipConfiguration("DISABLED", None, "x509Subject/CN")])
def test_a_profile_keeps_its_trusted_identity_setting(store, tip):
    original = profile(1)
    original.tip_configuration = tip
    with store(write=True) as uow:
        uow.profiles.add(original)
    with store() as uow:
        assert uow.profiles.get(SCOPE, original.id) == original


def test_other_scopes_see_nothing(store):
    with store(write=True) as uow:
        uow.trust_anchors.add(anchor(1))
    with store() as uow:
        assert uow.trust_anchors.get(OTHER, anchor(1).id) is None
        assert uow.trust_anchors.count(OTHER) == 0
        assert uow.trust_anchors.page(Scope(SCOPE.account_id, "eu-west-1"), None, 10) == []


def test_pages_follow_creation_order(store):
    with store(write=True) as uow:
        for i in range(7):
            uow.trust_anchors.add(anchor(i))
    seen, after = [], None
    with store() as uow:
        while True:
            page = uow.trust_anchors.page(SCOPE, after, 3)
            if not page:
                break
            seen += [a.name for a in page]
            after = page[-1].seq
    assert seen == [f"ta{i}" for i in range(7)]


def test_failed_unit_of_work_leaves_nothing(store):
    with pytest.raises(RuntimeError), store(write=True) as uow:
        uow.trust_anchors.add(anchor(1))
        uow.trust_anchors.add(anchor(2))
        raise RuntimeError("boom")
    with store() as uow:
        assert uow.trust_anchors.count(SCOPE) == 0


def test_alias_is_unique_per_scope(store):
    with store(write=True) as uow:
        uow.trust_anchors.add(anchor(1, alias="same"))
        uow.trust_anchors.add(anchor(2, scope=OTHER, alias="same"))
    with pytest.raises(ConflictingWrite), store(write=True) as uow:
        uow.trust_anchors.add(anchor(3, alias="same"))
    with store() as uow:
        assert uow.trust_anchors.count(SCOPE) == 1


def test_concurrent_tagging_loses_no_update(store):
    """Twenty writers each add their own tag to one resource at the same time."""
    services = ProfileService(store, SystemClock(), PageTokens(b"k" * 32), Quotas())
    tagging = TaggingService({"profile": services})
    p = profile(1)
    with store(write=True) as uow:
        uow.profiles.add(p)
    caller = Caller(SCOPE, "me")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            tagging.tag(caller, p.arn, [Tag(f"t{n}", str(n))])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store() as uow:
        keys = {t.key for t in uow.profiles.get(SCOPE, p.id).tags}
    assert keys == {f"t{n}" for n in range(20)}


def test_quota_holds_under_concurrent_creates(store):
    services = ProfileService(store, SystemClock(), PageTokens(b"k" * 32), Quotas(profiles=5))
    caller = Caller(SCOPE, "me")
    outcomes: list[str] = []

    def create(n: int) -> None:
        try:
            services.create(caller, name=f"p{n}", role_arns=[], managed_policy_arns=None,
                            session_policy=None, duration_seconds=None, enabled=None,
                            require_instance_properties=None, accept_role_session_name=None,
                            tag_list=None, alias_name=None)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 5
    assert outcomes.count("ValidationError") == 7
    with store() as uow:
        assert uow.profiles.count(SCOPE) == 5


def test_migrations_are_idempotent(store):
    migrate.upgrade(store.engine)
    assert migrate.current(store.engine) is not None


def test_the_recorded_head_is_alembics_head(store):
    """migrate.HEAD lets a restart skip Alembic; it must name the newest migration."""
    assert migrate.HEAD == migrate.script_head()
    assert migrate.current(store.engine) == migrate.HEAD


def test_profiles_of_an_older_database_keep_their_setting_which_is_none(tmp_path):
    """Upgrading past 0003 leaves existing profiles without trusted identity propagation
    (AWS: 'Existing profiles keep their current setting')."""
    eng = engine.create(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(eng, "0002")
    old = profile(7)
    row = codecs.PROFILES.to_row(old)
    del row["tip_configuration"]  # not a column yet
    with eng.begin() as conn:
        conn.execute(insert(tables.profiles).values(row))
    migrate.upgrade(eng)
    with SqlStore(eng)() as uow:
        loaded = uow.profiles.get(SCOPE, old.id)
    assert loaded is not None and loaded.tip_configuration is None
    assert dataclasses.replace(loaded, seq=None) == old
    eng.dispose()
