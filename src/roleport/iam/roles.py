"""The IAM role registry: roles, their trust policies, tags, inline and attached
policies, per account (IAM is global: no Region).

IAM's rules and wording: role names are unique per account ignoring case; a trust
policy must parse as one (``MalformedPolicyDocument``) and name only roles that exist;
quotas answer ``LimitExceeded``; a role with policies cannot be deleted
(``DeleteConflict``). Lists are in name order, paged by an opaque ``Marker``.

Errors use the shared classes with IAM's codes (``NoSuchEntity``, ``EntityAlreadyExists``,
``DeleteConflict``, ``InvalidInput``, ``LimitExceeded``); the service model gives them
their HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from roleport import arns
from roleport.clock import Clock
from roleport.domain.context import Scope
from roleport.domain.freshness import ChangeCounter, Kept, NotifyingStore
from roleport.domain.model import Tag
from roleport.errors import ConflictError, NotFoundError, RoleportError, ValidationError
from roleport.iam.markers import Markers
from roleport.iam.policy import (
    DEFAULT_MAX_SIZE,
    MalformedPolicyError,
    PolicyDocument,
    aws_principal_arns,
    parse_policy,
    policy_size,
)
from roleport.ids import new_unique_id
from roleport.storage.base import ConflictingWrite

T = TypeVar("T")

DEFAULT_MAX_SESSION_DURATION = 3600
#: IAM is global; account-wide locks use this pseudo-Region
GLOBAL = "global"
_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy(/[\x21-\x7e]+)?/[\w+=,.@-]+")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role(/.*)?/([\w+=,.@-]+)")


@dataclass(frozen=True)
class IamQuotas:
    """IAM's default quotas."""

    roles_per_account: int = 1000
    managed_policies_per_role: int = 10
    inline_policy_chars_per_role: int = 10240
    trust_policy_chars: int = DEFAULT_MAX_SIZE["trust"]
    tags_per_role: int = 50


@dataclass(slots=True)
class Role:
    role_id: str
    account_id: str
    name: str
    path: str
    trust_policy: str
    max_session_duration: int
    created_at: datetime
    description: str | None = None
    permissions_boundary: str | None = None
    tags: list[Tag] = field(default_factory=list)
    #: inline policy name -> document text, as given
    inline_policies: dict[str, str] = field(default_factory=dict)
    attached_policies: list[str] = field(default_factory=list)
    seq: int | None = None
    #: stored and returned (AWS Sign-In sessions, which Roleport does not serve)
    max_signin_session_duration: int | None = None

    @property
    def arn(self) -> str:
        return arns.role_arn(self.account_id, self.name, self.path)


@dataclass(frozen=True)
class AttachedPolicy:
    name: str
    arn: str


@dataclass(frozen=True)
class Listing(Generic[T]):
    items: list[T]
    marker: str | None

    @property
    def is_truncated(self) -> bool:
        return self.marker is not None


class RoleRepository(Protocol):
    def get(self, account_id: str, name: str, *, for_update: bool = False) -> Role | None: ...
    def page(self, account_id: str, *, path_prefix: str | None, after: str | None,
             limit: int) -> list[Role]: ...
    def count(self, account_id: str) -> int: ...
    def add(self, role: Role) -> Role: ...
    def update(self, role: Role) -> None: ...
    def delete(self, role: Role) -> None: ...


def _roles(uow: Any) -> RoleRepository:
    """The unit of work's role repository (``uow.iam_roles``), typed."""
    repo: RoleRepository = uow.iam_roles
    return repo


# -- IAM's errors ------------------------------------------------------------------------

def no_such_role(name: str) -> NotFoundError:
    return NotFoundError(f"The role with name {name} cannot be found.", code="NoSuchEntity")


def limit_exceeded(message: str) -> RoleportError:
    return ConflictError(message, code="LimitExceeded")


def invalid_input(message: str) -> RoleportError:
    return ValidationError(message, code="InvalidInput")


def parse_role_arn(role_arn: str) -> tuple[str, str, str] | None:
    """``(account_id, path, name)`` of a role ARN, or None when it is not one."""
    m = _ROLE_ARN.fullmatch(role_arn)
    if m is None:
        return None
    return m.group(1), (m.group(2) or "") + "/", m.group(3)


def policy_name_of(policy_arn: str) -> str:
    return policy_arn.rsplit("/", 1)[-1]


def policy_path_of(policy_arn: str) -> str:
    resource = policy_arn.split(":", 5)[5]
    return resource[len("policy"):].rsplit("/", 1)[0] + "/"


def _page(items: list[T], key: Callable[[T], str], after: str | None,
          max_items: int | None) -> tuple[list[T], str | None]:
    """One page of a short in-row list already in key order; the last key when more."""
    limit = max_items or 100
    rest = [i for i in items if after is None or key(i) > after]
    page = rest[:limit]
    return page, key(page[-1]) if len(rest) > limit else None


class RoleRegistry:
    def __init__(self, store: Any, clock: Clock, markers: Markers,
                 quotas: IamQuotas | None = None, changes: ChangeCounter | None = None) -> None:
        # with a change counter, every committed write bumps it and role lookups are kept
        self.store = NotifyingStore(store, changes) if changes is not None else store
        self._kept = Kept(changes) if changes is not None else None
        self.clock = clock
        self.markers = markers
        self.quotas = quotas or IamQuotas()

    # -- documents -------------------------------------------------------------------

    def _trust_policy(self, uow: Any, account_id: str, text: str,
                      role_name: str | None = None) -> PolicyDocument:
        doc = parse_policy(text, kind="trust", max_size=self.quotas.trust_policy_chars)
        for statement in doc.statements:
            for principal in (statement.principal, statement.not_principal):
                if principal is None:
                    continue
                for arn in aws_principal_arns(principal):
                    parsed = parse_role_arn(arn)
                    if parsed is None or parsed[0] != account_id:
                        continue  # users, other accounts: not in this registry
                    if role_name is not None and parsed[2].lower() == role_name.lower():
                        continue  # a role may trust its own sessions
                    found = _roles(uow).get(account_id, parsed[2])
                    if found is None or found.path != parsed[1]:
                        raise MalformedPolicyError(f'Invalid principal in policy: "AWS":"{arn}"')
        return doc

    # -- roles -----------------------------------------------------------------------

    def create(self, account_id: str, *, name: str, path: str | None, trust_policy: str,
               description: str | None, max_session_duration: int | None,
               permissions_boundary: str | None, tags: list[Tag] | None,
               max_signin_session_duration: int | None = None) -> Role:
        if permissions_boundary is not None and not _POLICY_ARN.fullmatch(permissions_boundary):
            raise invalid_input(f"ARN {permissions_boundary} is not valid.")
        role = Role(role_id=new_unique_id("AROA"), account_id=account_id, name=name,
                    path=path or "/", trust_policy=trust_policy,
                    max_session_duration=max_session_duration or DEFAULT_MAX_SESSION_DURATION,
                    created_at=self.clock.now().replace(microsecond=0),
                    description=description, permissions_boundary=permissions_boundary,
                    tags=self._merged_tags([], tags or [], creating=True),
                    max_signin_session_duration=max_signin_session_duration)
        with self.store(write=True) as uow:
            self._trust_policy(uow, account_id, trust_policy)
            uow.lock_scope(Scope(account_id, GLOBAL))
            if _roles(uow).get(account_id, name) is not None:
                raise ConflictError(f"Role with name {name} already exists.",
                                    code="EntityAlreadyExists")
            if _roles(uow).count(account_id) >= self.quotas.roles_per_account:
                raise limit_exceeded(f"Cannot exceed quota for RolesPerAccount: "
                                     f"{self.quotas.roles_per_account}")
            try:
                return _roles(uow).add(role)
            except ConflictingWrite:
                raise ConflictError(f"Role with name {name} already exists.",
                                    code="EntityAlreadyExists") from None

    def get(self, account_id: str, name: str) -> Role:
        with self.store() as uow:
            role = _roles(uow).get(account_id, name)
        if role is None:
            raise no_such_role(name)
        return role

    def find_by_arn(self, role_arn: str) -> Role | None:
        """The role an ARN names (path included), or None.

        Every CreateSession asks for its role; the answer is kept briefly (see
        domain/freshness: retired at once by a change made here, within a second by one
        made elsewhere, as IAM itself is eventually consistent).
        """
        parsed = parse_role_arn(role_arn)
        if parsed is None:
            return None
        account_id, path, name = parsed

        def read() -> Role | None:
            with self.store() as uow:
                return _roles(uow).get(account_id, name)

        role = self._kept.get(role_arn, read) if self._kept is not None else read()
        if role is None or role.path != path or role.name != name:
            return None
        return role  # type: ignore[return-value]

    def list_roles(self, account_id: str, *, path_prefix: str | None, marker: str | None,
             max_items: int | None) -> Listing[Role]:
        limit = max_items or 100
        after = self.markers.decode("roles", account_id, marker) if marker else None
        with self.store() as uow:
            roles = _roles(uow).page(account_id, path_prefix=path_prefix, after=after,
                                       limit=limit + 1)
        page = roles[:limit]
        next_marker = self.markers.encode("roles", account_id, page[-1].name.lower()) \
            if len(roles) > limit else None
        return Listing(page, next_marker)

    def _mutate(self, account_id: str, name: str, change: Callable[[Any, Role], T]) -> T:
        with self.store(write=True) as uow:
            role = _roles(uow).get(account_id, name, for_update=True)
            if role is None:
                raise no_such_role(name)
            result = change(uow, role)
            _roles(uow).update(role)
        return result

    def update(self, account_id: str, name: str, *, description: str | None,
               max_session_duration: int | None, max_signin_session_duration: int | None = None,
               reset_max_signin_session_duration: bool = False) -> Role:
        if reset_max_signin_session_duration and max_signin_session_duration is not None:
            raise invalid_input("You cannot set ResetMaxSigninSessionDuration to true and "
                                "specify MaxSigninSessionDuration in the same request.")

        def change(_uow: Any, role: Role) -> Role:
            if description is not None:
                role.description = description
            if max_session_duration is not None:
                role.max_session_duration = max_session_duration
            if max_signin_session_duration is not None:
                role.max_signin_session_duration = max_signin_session_duration
            if reset_max_signin_session_duration:
                role.max_signin_session_duration = None
            return role
        return self._mutate(account_id, name, change)

    def update_trust_policy(self, account_id: str, name: str, text: str) -> Role:
        def change(uow: Any, role: Role) -> Role:
            self._trust_policy(uow, account_id, text, role_name=role.name)
            role.trust_policy = text
            return role
        return self._mutate(account_id, name, change)

    def delete(self, account_id: str, name: str) -> Role:
        with self.store(write=True) as uow:
            role = _roles(uow).get(account_id, name, for_update=True)
            if role is None:
                raise no_such_role(name)
            if role.inline_policies:
                raise ConflictError("Cannot delete entity, must delete policies first.",
                                    code="DeleteConflict")
            if role.attached_policies:
                raise ConflictError("Cannot delete entity, must detach all policies first.",
                                    code="DeleteConflict")
            _roles(uow).delete(role)
        return role

    # -- tags ------------------------------------------------------------------------

    def _merged_tags(self, existing: list[Tag], new: list[Tag], *,
                     creating: bool = False) -> list[Tag]:
        seen: set[str] = set()
        for tag in new:
            lowered = tag.key.lower()
            if lowered in seen:
                raise invalid_input("Duplicate tag keys found. Please note that Tag keys are "
                                    "case insensitive.")
            seen.add(lowered)
            if lowered.startswith("aws:"):
                raise invalid_input(f"Tag key '{tag.key}' uses the prefix 'aws:', which is "
                                    f"reserved for use by AWS.")
        merged = [t for t in existing if t.key.lower() not in seen] + \
            [Tag(t.key, t.value) for t in new]
        if len(merged) > self.quotas.tags_per_role:
            raise limit_exceeded(f"Cannot exceed quota for TagsPerRole: "
                                 f"{self.quotas.tags_per_role}")
        return merged

    def tag(self, account_id: str, name: str, tags: list[Tag]) -> None:
        def change(_uow: Any, role: Role) -> None:
            role.tags = self._merged_tags(role.tags, tags)
        self._mutate(account_id, name, change)

    def untag(self, account_id: str, name: str, keys: list[str]) -> None:
        gone = {k.lower() for k in keys}

        def change(_uow: Any, role: Role) -> None:
            role.tags = [t for t in role.tags if t.key.lower() not in gone]
        self._mutate(account_id, name, change)

    def list_tags(self, account_id: str, name: str, *, marker: str | None,
                  max_items: int | None) -> Listing[Tag]:
        role = self.get(account_id, name)
        listing = f"role-tags/{role.role_id}"
        after = self.markers.decode(listing, account_id, marker) if marker else None
        ordered = sorted(role.tags, key=lambda t: t.key.lower())
        page, last = _page(ordered, lambda t: t.key.lower(), after, max_items)
        return Listing(page, self.markers.encode(listing, account_id, last) if last else None)

    # -- inline policies -------------------------------------------------------------

    def put_policy(self, account_id: str, name: str, policy_name: str, text: str) -> None:
        parse_policy(text, kind="identity")

        def change(_uow: Any, role: Role) -> None:
            others = sum(policy_size(d) for n, d in role.inline_policies.items()
                         if n != policy_name)
            limit = self.quotas.inline_policy_chars_per_role
            if others + policy_size(text) > limit:
                raise limit_exceeded(f"Maximum policy size of {limit} bytes exceeded for "
                                     f"role {role.name}")
            role.inline_policies = {**role.inline_policies, policy_name: text}
        self._mutate(account_id, name, change)

    def get_policy(self, account_id: str, name: str, policy_name: str) -> tuple[Role, str]:
        role = self.get(account_id, name)
        text = role.inline_policies.get(policy_name)
        if text is None:
            raise _no_such_policy(policy_name)
        return role, text

    def delete_policy(self, account_id: str, name: str, policy_name: str) -> None:
        def change(_uow: Any, role: Role) -> None:
            if policy_name not in role.inline_policies:
                raise _no_such_policy(policy_name)
            role.inline_policies = {n: d for n, d in role.inline_policies.items()
                                    if n != policy_name}
        self._mutate(account_id, name, change)

    def list_policies(self, account_id: str, name: str, *, marker: str | None,
                      max_items: int | None) -> Listing[str]:
        role = self.get(account_id, name)
        listing = f"role-policies/{role.role_id}"
        after = self.markers.decode(listing, account_id, marker) if marker else None
        page, last = _page(sorted(role.inline_policies), lambda n: n, after, max_items)
        return Listing(page, self.markers.encode(listing, account_id, last) if last else None)

    # -- attached (managed) policies ---------------------------------------------------

    def attach(self, account_id: str, name: str, policy_arn: str) -> None:
        if not _POLICY_ARN.fullmatch(policy_arn):
            raise invalid_input(f"ARN {policy_arn} is not valid.")

        def change(_uow: Any, role: Role) -> None:
            if policy_arn in role.attached_policies:
                return  # IAM: attaching twice is a no-op
            limit = self.quotas.managed_policies_per_role
            if len(role.attached_policies) >= limit:
                raise limit_exceeded(f"Cannot exceed quota for PoliciesPerRole: {limit}")
            role.attached_policies = [*role.attached_policies, policy_arn]
        self._mutate(account_id, name, change)

    def detach(self, account_id: str, name: str, policy_arn: str) -> None:
        if not _POLICY_ARN.fullmatch(policy_arn):
            raise invalid_input(f"ARN {policy_arn} is not valid.")

        def change(_uow: Any, role: Role) -> None:
            if policy_arn not in role.attached_policies:
                raise NotFoundError(f"Policy {policy_arn} was not found.", code="NoSuchEntity")
            role.attached_policies = [a for a in role.attached_policies if a != policy_arn]
        self._mutate(account_id, name, change)

    def list_attached(self, account_id: str, name: str, *, path_prefix: str | None,
                      marker: str | None, max_items: int | None) -> Listing[AttachedPolicy]:
        role = self.get(account_id, name)
        listing = f"role-attached/{role.role_id}"
        after = self.markers.decode(listing, account_id, marker) if marker else None
        policies = sorted((AttachedPolicy(policy_name_of(a), a) for a in role.attached_policies
                           if path_prefix is None or policy_path_of(a).startswith(path_prefix)),
                          key=lambda p: p.arn)
        page, last = _page(policies, lambda p: p.arn, after, max_items)
        return Listing(page, self.markers.encode(listing, account_id, last) if last else None)


def _no_such_policy(policy_name: str) -> NotFoundError:
    return NotFoundError(f"The role policy with name {policy_name} cannot be found.",
                         code="NoSuchEntity")
