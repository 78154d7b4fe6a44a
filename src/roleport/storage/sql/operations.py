"""Storage for what runs beside requests (roleport/ops): leases, the notification delivery
log, and reads across every account and Region (expiry evaluation, inventory metrics).

A lease is taken with one conditional UPDATE (the holder's own row, or an expired one)
and, when the row does not exist yet, an INSERT that a unique key lets only one process
win: correct on PostgreSQL under concurrent replicas and on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError

from roleport.domain.model import Crl, Subject, TrustAnchor
from roleport.storage.base import StorageError
from roleport.storage.sql import codecs, tables
from roleport.storage.sql.codecs import to_micros
from roleport.storage.sql.engine import is_sqlite


def _insert_new(conn: Any, table: Any, values: dict[str, Any]) -> Any:
    """INSERT that does nothing when a unique key already holds the row (no error, so
    PostgreSQL's log does not fill with the losers of every race)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).values(**values).on_conflict_do_nothing()


@dataclass(frozen=True)
class Delivery:
    seq: int
    event_key: str
    event: dict[str, Any]
    attempts: int


class SqlOperations:
    def __init__(self, store: Any) -> None:
        self.engine = store.engine

    def _begin(self) -> Any:
        conn = self.engine.connect()
        if is_sqlite(self.engine):
            conn.execution_options(sqlite_begin="IMMEDIATE")
        return conn

    # -- leases -------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``."""
        t = tables.leases
        expires = to_micros(now + ttl)
        try:
            with self._begin() as conn, conn.begin():
                taken = conn.execute(update(t).where(
                    t.c.name == name,
                    or_(t.c.holder == holder, t.c.expires_at < to_micros(now)),
                ).values(holder=holder, expires_at=expires)).rowcount
                if taken:
                    return True
            with self._begin() as conn, conn.begin():
                # another process holds it (or took it just now): nothing inserted
                return conn.execute(_insert_new(conn, t, {
                    "name": name, "holder": holder, "expires_at": expires}).returning(
                        t.c.name)).first() is not None
        except DBAPIError as exc:
            raise StorageError(f"lease {name}: {exc.orig}") from None

    def release_lease(self, name: str, holder: str) -> None:
        t = tables.leases
        try:
            with self._begin() as conn, conn.begin():
                conn.execute(update(t).where(t.c.name == name, t.c.holder == holder)
                             .values(expires_at=0))
        except DBAPIError:
            pass  # it expires by itself

    # -- reads across scopes ------------------------------------------------------------

    def _all(self, stmt: Any, codec: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                rows = [codec.from_row(r) for r in conn.execute(stmt)]
                conn.rollback()
            return rows
        except DBAPIError as exc:
            raise StorageError(f"database error: {exc.orig}") from None

    def trust_anchors(self) -> list[TrustAnchor]:
        t = tables.trust_anchors
        return self._all(select(t).order_by(t.c.seq), codecs.TRUST_ANCHORS)

    def subjects_seen_since(self, since: datetime) -> list[Subject]:
        t = tables.subjects
        return self._all(select(t).where(t.c.last_seen_at >= to_micros(since))
                         .order_by(t.c.seq), codecs.SUBJECTS)

    def crls(self) -> list[Crl]:
        t = tables.crls
        return self._all(select(t).where(t.c.enabled.is_(True)).order_by(t.c.seq),
                         codecs.CRLS)

    # -- the delivery log ---------------------------------------------------------------

    def claim(self, event_key: str, day: str, event: dict[str, Any],
              now: datetime) -> int | None:
        """Record that ``event_key`` is sent on ``day``: the row's key, or None when some
        process (this one, another worker or replica) claimed it already."""
        t = tables.notification_deliveries
        try:
            with self._begin() as conn, conn.begin():
                row = conn.execute(_insert_new(conn, t, {
                    "event_key": event_key, "day": day, "event": event, "status": "pending",
                    "attempts": 0, "created_at": to_micros(now)}).returning(t.c.seq)).first()
                return None if row is None else int(row[0])
        except DBAPIError as exc:
            raise StorageError(f"database error: {exc.orig}") from None

    def pending(self, claimed_before: datetime) -> list[Delivery]:
        """Claims never finished (their process died while sending), older than
        ``claimed_before`` so that a claim another process is sending now is left alone."""
        t = tables.notification_deliveries
        stmt = select(t.c.seq, t.c.event_key, t.c.event, t.c.attempts).where(
            t.c.status == "pending", t.c.created_at < to_micros(claimed_before)
        ).order_by(t.c.seq)
        try:
            with self.engine.connect() as conn:
                rows = [Delivery(r.seq, r.event_key, r.event, r.attempts)
                        for r in conn.execute(stmt)]
                conn.rollback()
            return rows
        except DBAPIError as exc:
            raise StorageError(f"database error: {exc.orig}") from None

    def finish(self, seq: int, status: str, attempts: int, now: datetime) -> None:
        t = tables.notification_deliveries
        with self._begin() as conn, conn.begin():
            conn.execute(update(t).where(t.c.seq == seq).values(
                status=status, attempts=attempts, finished_at=to_micros(now)))

    def deliveries(self, day: str | None = None) -> list[dict[str, Any]]:
        """The log (for ``roleport notifications list`` and tests)."""
        t = tables.notification_deliveries
        stmt = select(t).order_by(t.c.seq)
        if day is not None:
            stmt = stmt.where(t.c.day == day)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            conn.rollback()
        return rows
