"""What every Roles Anywhere resource service shares: finding a resource by ID, ARN or
alias ARN inside the caller's account and Region, listing, enabling, deleting, aliases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from roleport import arns
from roleport.clock import Clock
from roleport.domain import aliases
from roleport.domain.context import Caller, Scope
from roleport.domain.freshness import ChangeCounter, NotifyingStore
from roleport.domain.model import Tag
from roleport.domain.pagination import PageTokens
from roleport.domain.quotas import Quotas, exceeded
from roleport.errors import NotFoundError, ValidationError
from roleport.storage.base import ConflictingWrite, UnitOfWork, UnitOfWorkFactory

E = TypeVar("E")

_UUID = re.compile(r"[a-f0-9]{8}-([a-z0-9]{4}-){3}[a-z0-9]{12}")


@dataclass(frozen=True)
class Updated(Generic[E]):
    """An updated resource and, when the update changed its alias, the alias it had."""

    resource: E
    previous_alias_name: str | None = None


@dataclass(frozen=True)
class Page(Generic[E]):
    items: list[E]
    next_token: str | None


class ResourceService(Generic[E]):
    #: the repository attribute of the unit of work
    repository: str = ""
    #: the resource type in ARNs (``trust-anchor``)
    resource_type: str = ""
    #: how messages name it (``trust anchor``)
    label: str = ""

    def __init__(self, store: UnitOfWorkFactory, clock: Clock, tokens: PageTokens,
                 quotas: Quotas, changes: ChangeCounter | None = None) -> None:
        #: bumped after every committed write unit, so readers' short-lived copies retire
        self.changes = changes or ChangeCounter()
        self.store = NotifyingStore(store, self.changes)
        self.clock = clock
        self.tokens = tokens
        self.quotas = quotas

    # -- lookup ------------------------------------------------------------------

    def _repo(self, uow: UnitOfWork) -> Any:
        return getattr(uow, self.repository)

    def not_found(self, identifier: str) -> NotFoundError:
        return NotFoundError(f"The {self.label} '{identifier}' was not found in this account "
                             f"and Region.")

    def find(self, uow: UnitOfWork, scope: Scope, identifier: str, *,
             for_update: bool = False, allow_alias: bool = True) -> E:
        """Resolve an ID, a resource ARN or an alias ARN, or raise ResourceNotFound."""
        repo = self._repo(uow)
        found = None
        if _UUID.fullmatch(identifier):
            found = repo.get(scope, identifier, for_update=for_update)
        else:
            ref = arns.parse_roles_anywhere(identifier)
            if (ref is not None and ref.resource_type == self.resource_type
                    and ref.account == scope.account_id and ref.region == scope.region):
                if ref.resource_id is not None:
                    found = repo.get(scope, ref.resource_id, for_update=for_update)
                elif allow_alias:
                    found = repo.get_by(scope, for_update=for_update, alias_name=ref.alias_name)
        if found is None:
            raise self.not_found(identifier)
        return found

    def get(self, caller: Caller, identifier: str) -> E:
        with self.store() as uow:
            return self.find(uow, caller.scope, identifier)

    def list(self, caller: Caller, token: str | None, page_size: int | None,
             **filters: Any) -> Page[E]:
        req = self.tokens.request(self.repository, caller.scope, token, page_size)
        with self.store() as uow:
            items = self._repo(uow).page(caller.scope, req.after_seq, req.size + 1, **filters)
        return Page(items[:req.size],
                    self.tokens.next_token(self.repository, caller.scope, items, req.size))

    # -- writes ------------------------------------------------------------------

    def mutate(self, caller: Caller, identifier: str, change: Any) -> Any:
        """Load with a row lock, apply ``change(uow, resource)``, stamp and save."""
        with self.store(write=True) as uow:
            resource = self.find(uow, caller.scope, identifier, for_update=True)
            result = change(uow, resource)
            resource.updated_at = self.clock.now()  # type: ignore[attr-defined]
            self._save(uow, resource)
        return result if result is not None else resource

    def _save(self, uow: UnitOfWork, resource: E) -> None:
        try:
            self._repo(uow).update(resource)
        except ConflictingWrite:
            raise aliases.taken(self.label, resource.alias_name) from None  # type: ignore

    def set_enabled(self, caller: Caller, identifier: str, enabled: bool) -> E:
        def change(_uow: UnitOfWork, resource: Any) -> None:
            resource.enabled = enabled
        return self.mutate(caller, identifier, change)

    def delete(self, caller: Caller, identifier: str) -> E:
        with self.store(write=True) as uow:
            resource = self.find(uow, caller.scope, identifier, for_update=True)
            self._before_delete(uow, resource)
            self._repo(uow).delete(resource)
        return resource

    def _before_delete(self, uow: UnitOfWork, resource: E) -> None:
        """Hook: remove what depends on the resource."""

    def check_tags(self, new_tags: list[Tag]) -> None:
        """Hook: refuse tags that mean something to Roleport but hold a wrong value."""

    def check_alias_free(self, uow: UnitOfWork, scope: Scope, alias_name: str | None,
                         resource_id: str | None = None) -> None:
        if alias_name is None:
            return
        holder = self._repo(uow).get_by(scope, alias_name=alias_name)
        if holder is not None and holder.id != resource_id:
            raise aliases.taken(self.label, alias_name)

    def apply_alias(self, uow: UnitOfWork, scope: Scope, resource: Any,
                    alias_name: str | None) -> str | None:
        """Update semantics: ``None`` keeps, ``""`` removes, a name sets or changes.

        Returns the previous alias name when it changed, for ``previousAliasName``.
        """
        if alias_name is None:
            return None
        new = aliases.normalise(alias_name)
        old = resource.alias_name
        if new == old:
            return None
        self.check_alias_free(uow, scope, new, resource.id)
        resource.alias_name = new
        return old

    def create_within_quota(self, caller: Caller, resource: E, quota: str, limit: int) -> E:
        """Store a new resource unless the account and Region hold ``limit`` already or its
        alias is taken; writers of one scope are serialised so the quota holds."""
        with self.store(write=True) as uow:
            uow.lock_scope(caller.scope)
            if self._repo(uow).count(caller.scope) >= limit:
                raise exceeded(quota, limit)
            self.check_alias_free(uow, caller.scope, resource.alias_name)  # type: ignore
            self.insert(uow, resource)  # (an alias ARN that named nothing may name this now)
        return resource

    def insert(self, uow: UnitOfWork, resource: E) -> E:
        try:
            return self._repo(uow).add(resource)
        except ConflictingWrite:
            raise aliases.taken(self.label, resource.alias_name) from None  # type: ignore


def require_uuid(value: str, member: str) -> None:
    if not _UUID.fullmatch(value):
        raise ValidationError(f"1 validation error detected: Value '{value}' at '{member}' "
                              f"failed to satisfy constraint: Member must be a resource ID")
