"""What the domain needs from storage: repositories and a unit of work.

The domain talks to these protocols only; ``storage/sql`` implements them on SQLite and
PostgreSQL. Driver errors never leave ``storage/``: a conflict becomes
:class:`ConflictingWrite`, anything else :class:`StorageError`.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from roleport.domain.context import Scope
from roleport.domain.model import AccessKey, Crl, Profile, Subject, TrustAnchor

E = TypeVar("E")


class StorageError(Exception):
    """The database failed in a way the caller cannot fix."""


class ConflictingWrite(StorageError):
    """A unique constraint refused the write (for example an alias already taken)."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


class Repository(Protocol, Generic[E]):
    def get(self, scope: Scope, resource_id: str, *, for_update: bool = False) -> E | None: ...
    def get_by(self, scope: Scope, *, for_update: bool = False, **columns: object) -> E | None: ...
    def page(self, scope: Scope, after_seq: int | None, limit: int,
             **columns: object) -> list[E]: ...
    def all(self, scope: Scope, **columns: object) -> list[E]: ...
    def count(self, scope: Scope, **columns: object) -> int: ...
    def add(self, entity: E) -> E: ...
    def update(self, entity: E) -> None: ...
    def delete(self, entity: E) -> None: ...


class AccessKeyRepository(Protocol):
    def get(self, access_key_id: str) -> AccessKey | None: ...
    def add(self, key: AccessKey) -> None: ...
    def for_account(self, account_id: str) -> list[AccessKey]: ...


class UnitOfWork(Protocol):
    trust_anchors: Repository[TrustAnchor]
    profiles: Repository[Profile]
    crls: Repository[Crl]
    subjects: Repository[Subject]
    access_keys: AccessKeyRepository

    def lock_scope(self, scope: Scope) -> None:
        """Serialise writers of one account and region (quota checks, uniqueness)."""

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False, durable: bool = True) -> UnitOfWork:
        """A unit of work; ``write``: it may write, and commits when its block ends.

        ``durable=False``: its commit may be lost to a power loss (never to a crash of the
        process) in exchange for not waiting on the disk; for bookkeeping that the next
        request rewrites anyway (CreateSession's subject records), never for what a client
        was told is done."""
        ...
