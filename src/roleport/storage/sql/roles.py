"""IAM roles in SQL: one row per role, its tags and policies as JSON in the row (always
read and written with the role, under its row lock). Names are unique per account
ignoring case (``name_key``), which is also the listing order and the marker key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from roleport.domain.model import Tag
from roleport.iam.roles import Role
from roleport.storage.base import ConflictingWrite
from roleport.storage.sql import tables
from roleport.storage.sql.codecs import Codec

ROLES = Codec(Role, times=("created_at",), nested={"tags": Tag},
              derived={"name_key": lambda r: r.name.lower()})


# Built once: a role is read on every CreateSession, and building the expression cost more
# than running it.
_GET = select(tables.iam_roles).where(tables.iam_roles.c.account_id == bindparam("account"),
                                      tables.iam_roles.c.name_key == bindparam("key"))
_GET_FOR_UPDATE = _GET.with_for_update()


class SqlRoles:
    def __init__(self, conn: Connection, *, lockable: bool) -> None:
        self._conn = conn
        self._lockable = lockable

    def get(self, account_id: str, name: str, *, for_update: bool = False) -> Role | None:
        stmt = _GET_FOR_UPDATE if for_update and self._lockable else _GET
        row = self._conn.execute(stmt, {"account": account_id, "key": name.lower()}).first()
        return None if row is None else ROLES.from_row(row)

    def page(self, account_id: str, *, path_prefix: str | None, after: str | None,
             limit: int) -> list[Role]:
        t = tables.iam_roles
        clauses: list[Any] = [t.c.account_id == account_id]
        if path_prefix:
            clauses.append(t.c.path.startswith(path_prefix, autoescape=True))
        if after is not None:
            clauses.append(t.c.name_key > after)
        stmt = select(t).where(*clauses).order_by(t.c.name_key).limit(limit)
        return [ROLES.from_row(r) for r in self._conn.execute(stmt)]

    def count(self, account_id: str) -> int:
        t = tables.iam_roles
        stmt = select(func.count()).select_from(t).where(t.c.account_id == account_id)
        return int(self._conn.execute(stmt).scalar_one())

    def add(self, role: Role) -> Role:
        try:
            result = self._conn.execute(tables.iam_roles.insert().values(**ROLES.to_row(role)))
        except IntegrityError:
            raise ConflictingWrite("uq_iam_roles_name") from None
        role.seq = result.inserted_primary_key[0]  # type: ignore[index]
        return role

    def update(self, role: Role) -> None:
        row = ROLES.to_row(role)
        row.pop("seq", None)
        t = tables.iam_roles
        self._conn.execute(t.update().where(t.c.role_id == row.pop("role_id")).values(**row))

    def delete(self, role: Role) -> None:
        t = tables.iam_roles
        self._conn.execute(t.delete().where(t.c.role_id == role.role_id))
