"""One generic repository over SQLAlchemy Core, used for every scoped resource."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from roleport.domain.context import Scope
from roleport.domain.model import AccessKey
from roleport.storage.base import ConflictingWrite, StorageError
from roleport.storage.sealing import SecretSealer, UnreadableSecret, is_sealed
from roleport.storage.sql import tables
from roleport.storage.sql.codecs import ACCESS_KEYS, Codec

E = TypeVar("E")

#: memoised statement shapes, see SqlRepository._statement
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


class SqlRepository(Generic[E]):
    def __init__(self, conn: Connection, table: Table, codec: Codec, *,
                 lockable: bool) -> None:
        self._conn = conn
        self._table = table
        self._codec = codec
        self._lockable = lockable

    def _statement(self, kind: str, columns: tuple[str, ...], *, for_update: bool = False,
                   after: bool = False) -> Any:
        """Build each statement shape once (with bind parameters) and reuse it.

        Building SQLAlchemy expressions costs more than running the query on a hot path,
        so the shapes are memoised per table; the values travel as parameters.
        """
        key = (self._table.name, kind, columns, for_update and self._lockable, after)
        stmt = _STATEMENTS.get(key)
        if stmt is None:
            t = self._table
            clauses = [t.c.account_id == bindparam("_account"),
                       t.c.region == bindparam("_region")]
            clauses += [t.c[c] == bindparam(c) for c in columns]
            if after:
                clauses.append(t.c.seq > bindparam("_after"))
            if kind == "count":
                stmt = select(func.count()).select_from(t).where(*clauses)
            else:
                stmt = select(t).where(*clauses)
                if kind in ("page", "all"):
                    stmt = stmt.order_by(t.c.seq)
                if kind == "page":
                    stmt = stmt.limit(bindparam("_limit"))
                if for_update and self._lockable:
                    stmt = stmt.with_for_update()
            _STATEMENTS[key] = stmt
        return stmt

    @staticmethod
    def _params(scope: Scope, columns: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"_account": scope.account_id, "_region": scope.region, **columns, **extra}

    def get(self, scope: Scope, resource_id: str, *, for_update: bool = False) -> E | None:
        return self.get_by(scope, for_update=for_update, id=resource_id)

    def get_by(self, scope: Scope, *, for_update: bool = False, **columns: Any) -> E | None:
        stmt = self._statement("get", tuple(sorted(columns)), for_update=for_update)
        row = self._conn.execute(stmt, self._params(scope, columns)).first()
        return None if row is None else self._codec.from_row(row)

    def page(self, scope: Scope, after_seq: int | None, limit: int, **columns: Any) -> list[E]:
        stmt = self._statement("page", tuple(sorted(columns)), after=after_seq is not None)
        params = self._params(scope, columns, _limit=limit)
        if after_seq is not None:
            params["_after"] = after_seq
        return [self._codec.from_row(r) for r in self._conn.execute(stmt, params)]

    def all(self, scope: Scope, **columns: Any) -> list[E]:
        stmt = self._statement("all", tuple(sorted(columns)))
        return [self._codec.from_row(r)
                for r in self._conn.execute(stmt, self._params(scope, columns))]

    def count(self, scope: Scope, **columns: Any) -> int:
        stmt = self._statement("count", tuple(sorted(columns)))
        return int(self._conn.execute(stmt, self._params(scope, columns)).scalar_one())

    def _write(self, kind: str) -> Any:
        """The insert, update-by-id or delete-by-id statement, built once per table; the
        row travels as parameters (an update sets the columns the parameters name)."""
        key = (self._table.name, kind)
        stmt = _STATEMENTS.get(key)
        if stmt is None:
            t = self._table
            if kind == "insert":
                stmt = t.insert()
            elif kind == "update":
                stmt = t.update().where(t.c.id == bindparam("_id"))
            else:
                stmt = t.delete().where(t.c.id == bindparam("_id"))
            _STATEMENTS[key] = stmt
        return stmt

    def add(self, entity: E) -> E:
        try:
            result = self._conn.execute(self._write("insert"), self._codec.to_row(entity))
        except IntegrityError as err:
            raise conflict(err) from None
        entity.seq = result.inserted_primary_key[0]  # type: ignore[attr-defined]
        return entity

    def update(self, entity: E) -> None:
        row = self._codec.to_row(entity)
        row.pop("seq", None)
        row["_id"] = row.pop("id")
        try:
            self._conn.execute(self._write("update"), row)
        except IntegrityError as err:
            raise conflict(err) from None

    def delete(self, entity: E) -> None:
        self._conn.execute(self._write("delete"), {"_id": entity.id})  # type: ignore[attr-defined]


class SqlAccessKeys:
    """Long-term access keys; their secrets are sealed in the row (storage/sealing.py)."""

    def __init__(self, conn: Connection, sealer: SecretSealer | None = None) -> None:
        self._conn = conn
        self._sealer = sealer

    def get(self, access_key_id: str) -> AccessKey | None:
        t = tables.access_keys
        row = self._conn.execute(select(t).where(t.c.access_key_id == access_key_id)).first()
        return None if row is None else self._entity(row)

    def add(self, key: AccessKey) -> None:
        if self._sealer is None:
            raise StorageError("no key-encryption key: refusing to store a secret in plain text")
        row = ACCESS_KEYS.to_row(key)
        row["secret_access_key"] = self._sealer.seal(key.secret_access_key, key.access_key_id)
        self._conn.execute(tables.access_keys.insert().values(**row))

    def for_account(self, account_id: str) -> list[AccessKey]:
        t = tables.access_keys
        rows = self._conn.execute(select(t).where(t.c.account_id == account_id))
        return [self._entity(r) for r in rows]

    def reseal(self) -> tuple[int, list[str]]:
        """Seal plain-text secrets and re-seal those under an older KEK with the current one.

        Returns how many rows changed, and the ids of keys whose secret no KEK of the ring
        opens (left as they are). Reads only the two columns it needs, so migrations can
        call it whatever columns later revisions add.
        """
        assert self._sealer is not None
        t = tables.access_keys
        changed, unreadable = 0, []
        rows = self._conn.execute(select(t.c.access_key_id, t.c.secret_access_key)).all()
        for key_id, stored in rows:
            if not self._sealer.needs_reseal(stored):
                continue
            try:
                plaintext = self._sealer.open(stored, key_id)
            except UnreadableSecret:
                unreadable.append(key_id)
                continue
            self._conn.execute(t.update().where(t.c.access_key_id == key_id).values(
                secret_access_key=self._sealer.seal(plaintext, key_id)))
            changed += 1
        return changed, unreadable

    def _entity(self, row: Any) -> AccessKey:
        key = ACCESS_KEYS.from_row(row)
        if not is_sealed(key.secret_access_key):
            return key  # plain text from before migration 0003
        if self._sealer is None:
            raise UnreadableSecret("a sealed secret, and no key-encryption key to open it")
        return replace(key, secret_access_key=self._sealer.open(key.secret_access_key,
                                                                key.access_key_id))


def conflict(err: IntegrityError) -> ConflictingWrite:
    text_ = str(err.orig)
    for name in ("uq_trust_anchors_alias", "uq_profiles_alias", "uq_crls_alias",
                 "uq_subjects_key"):
        if name in text_:
            return ConflictingWrite(name)
    for table in ("trust_anchors", "profiles", "crls", "subjects"):
        if f"{table}.alias_name" in text_:
            return ConflictingWrite(f"uq_{table}_alias")
        if f"{table}.subject_key" in text_:
            return ConflictingWrite("uq_subjects_key")
    return ConflictingWrite(text_)
