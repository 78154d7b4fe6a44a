"""Who is asking, and where: every use case runs inside one account and one region."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """An account and a region: the boundary no resource crosses."""

    account_id: str
    region: str


@dataclass(frozen=True)
class Caller:
    """An authenticated principal acting in a scope."""

    scope: Scope
    principal_arn: str
    #: the principal's unique id, as GetCallerIdentity's ``UserId`` shows it
    user_id: str = ""

    @property
    def account_id(self) -> str:
        return self.scope.account_id

    @property
    def region(self) -> str:
        return self.scope.region
