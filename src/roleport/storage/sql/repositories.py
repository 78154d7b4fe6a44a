"""One generic repository over SQLAlchemy Core, used for every scoped resource."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.exc import IntegrityError

from roleport.domain.context import Scope
from roleport.domain.model import AccessKey
from roleport.storage.base import ConflictingWrite
from roleport.storage.sql import tables
from roleport.storage.sql.codecs import ACCESS_KEYS, Codec

E = TypeVar("E")


class SqlRepository(Generic[E]):
    def __init__(self, conn: Connection, table: Table, codec: Codec, *,
                 lockable: bool) -> None:
        self._conn = conn
        self._table = table
        self._codec = codec
        self._lockable = lockable

    def _where(self, scope: Scope, columns: dict[str, Any]):
        t = self._table
        clauses = [t.c.account_id == scope.account_id, t.c.region == scope.region]
        clauses += [t.c[k] == v for k, v in columns.items()]
        return clauses

    def get(self, scope: Scope, resource_id: str, *, for_update: bool = False) -> E | None:
        return self.get_by(scope, for_update=for_update, id=resource_id)

    def get_by(self, scope: Scope, *, for_update: bool = False, **columns: Any) -> E | None:
        stmt = select(self._table).where(*self._where(scope, columns))
        if for_update and self._lockable:
            stmt = stmt.with_for_update()
        row = self._conn.execute(stmt).first()
        return None if row is None else self._codec.from_row(row)

    def page(self, scope: Scope, after_seq: int | None, limit: int, **columns: Any) -> list[E]:
        t = self._table
        clauses = self._where(scope, columns)
        if after_seq is not None:
            clauses.append(t.c.seq > after_seq)
        stmt = select(t).where(*clauses).order_by(t.c.seq).limit(limit)
        return [self._codec.from_row(r) for r in self._conn.execute(stmt)]

    def all(self, scope: Scope, **columns: Any) -> list[E]:
        t = self._table
        stmt = select(t).where(*self._where(scope, columns)).order_by(t.c.seq)
        return [self._codec.from_row(r) for r in self._conn.execute(stmt)]

    def count(self, scope: Scope, **columns: Any) -> int:
        stmt = select(func.count()).select_from(self._table).where(*self._where(scope, columns))
        return int(self._conn.execute(stmt).scalar_one())

    def add(self, entity: E) -> E:
        try:
            result = self._conn.execute(self._table.insert().values(**self._codec.to_row(entity)))
        except IntegrityError as err:
            raise conflict(err) from None
        entity.seq = result.inserted_primary_key[0]  # type: ignore[attr-defined]
        return entity

    def update(self, entity: E) -> None:
        row = self._codec.to_row(entity)
        row.pop("seq", None)
        t = self._table
        try:
            self._conn.execute(t.update().where(t.c.id == row.pop("id")).values(**row))
        except IntegrityError as err:
            raise conflict(err) from None

    def delete(self, entity: E) -> None:
        t = self._table
        self._conn.execute(t.delete().where(t.c.id == entity.id))  # type: ignore[attr-defined]


class SqlAccessKeys:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, access_key_id: str) -> AccessKey | None:
        t = tables.access_keys
        row = self._conn.execute(select(t).where(t.c.access_key_id == access_key_id)).first()
        return None if row is None else ACCESS_KEYS.from_row(row)

    def add(self, key: AccessKey) -> None:
        self._conn.execute(tables.access_keys.insert().values(**ACCESS_KEYS.to_row(key)))

    def for_account(self, account_id: str) -> list[AccessKey]:
        t = tables.access_keys
        rows = self._conn.execute(select(t).where(t.c.account_id == account_id))
        return [ACCESS_KEYS.from_row(r) for r in rows]


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
