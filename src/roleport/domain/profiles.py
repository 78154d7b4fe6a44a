"""Profiles: which roles a certificate may assume, for how long, with which limits."""

from __future__ import annotations

from dataclasses import dataclass

from roleport import arns
from roleport.domain import aliases, attribute_mappings, tags, trusted_identity
from roleport.domain.context import Caller
from roleport.domain.model import Profile, Tag, TipConfiguration
from roleport.domain.quotas import exceeded
from roleport.domain.resources import ResourceService, Updated
from roleport.errors import ValidationError
from roleport.iam.policy.document import parse_policy
from roleport.iam.policy.errors import MalformedPolicyError
from roleport.ids import new_uuid
from roleport.storage.base import UnitOfWork

DEFAULT_DURATION_SECONDS = 3600


@dataclass(frozen=True)
class ProfileChanges:
    name: str | None = None
    session_policy: str | None = None
    role_arns: list[str] | None = None
    managed_policy_arns: list[str] | None = None
    duration_seconds: int | None = None
    accept_role_session_name: bool | None = None
    alias_name: str | None = None
    #: replaces the whole setting (see domain/trusted_identity)
    tip_configuration: TipConfiguration | None = None


def check_session_policy(text: str) -> None:
    try:
        parse_policy(text, kind="session")
    except MalformedPolicyError as exc:
        raise ValidationError(f"Invalid sessionPolicy: {exc.message}") from None


def check_own_account_role(account_id: str, role_arn: str) -> None:
    """A profile names roles of its own account only: Roles Anywhere resources "must be
    created in the same account and region to be used together" (aws-behaviour §1)."""
    arn = arns.parse(role_arn)
    if arn is None or arn.account != account_id:
        raise ValidationError(f"Invalid roleArn {role_arn}: a profile can only name roles "
                              f"in its own account ({account_id}).")


class ProfileService(ResourceService[Profile]):
    repository = "profiles"
    resource_type = "profile"
    label = "profile"

    def _check_roles(self, caller: Caller, role_arns: list[str]) -> list[str]:
        if len(role_arns) > self.quotas.roles_per_profile:
            raise exceeded("roles per profile", self.quotas.roles_per_profile)
        for role_arn in role_arns:
            check_own_account_role(caller.account_id, role_arn)
        return list(role_arns)

    def create(self, caller: Caller, *, name: str, role_arns: list[str],
               managed_policy_arns: list[str] | None, session_policy: str | None,
               duration_seconds: int | None, enabled: bool | None,
               require_instance_properties: bool | None,
               accept_role_session_name: bool | None, tag_list: list[Tag] | None,
               alias_name: str | None,
               tip_configuration: TipConfiguration | None = None) -> Profile:
        if session_policy is not None:
            check_session_policy(session_policy)
        alias = aliases.normalise(alias_name)
        now = self.clock.now()
        profile = Profile(
            id=new_uuid(), account_id=caller.account_id, region=caller.region, name=name,
            enabled=True if enabled is None else enabled,
            require_instance_properties=bool(require_instance_properties),
            session_policy=session_policy, role_arns=self._check_roles(caller, role_arns),
            managed_policy_arns=list(managed_policy_arns or []),
            duration_seconds=duration_seconds or DEFAULT_DURATION_SECONDS,
            accept_role_session_name=bool(accept_role_session_name),
            attribute_mappings=attribute_mappings.defaults(), created_by=caller.principal_arn,
            created_at=now, updated_at=now, alias_name=alias,
            tags=tags.initial(tag_list, limit=self.quotas.tags_per_resource),
            tip_configuration=tip_configuration)
        trusted_identity.check_mappings(tip_configuration, profile.attribute_mappings,
                                        change="tipConfiguration")
        return self.create_within_quota(caller, profile, "profiles per account and Region",
                                        self.quotas.profiles)

    def update(self, caller: Caller, identifier: str,
               changes: ProfileChanges) -> Updated[Profile]:
        if changes.session_policy is not None:
            check_session_policy(changes.session_policy)
        roles = (self._check_roles(caller, changes.role_arns)
                 if changes.role_arns is not None else None)

        def change(uow: UnitOfWork, profile: Profile) -> Updated[Profile]:
            if changes.name is not None:
                profile.name = changes.name
            if changes.session_policy is not None:
                profile.session_policy = changes.session_policy
            if roles is not None:
                profile.role_arns = roles
            if changes.managed_policy_arns is not None:
                profile.managed_policy_arns = list(changes.managed_policy_arns)
            if changes.duration_seconds is not None:
                profile.duration_seconds = changes.duration_seconds
            if changes.accept_role_session_name is not None:
                profile.accept_role_session_name = changes.accept_role_session_name
            if changes.tip_configuration is not None:
                trusted_identity.check_mappings(changes.tip_configuration,
                                                profile.attribute_mappings,
                                                change="tipConfiguration")
                profile.tip_configuration = changes.tip_configuration
            previous = self.apply_alias(uow, caller.scope, profile, changes.alias_name)
            return Updated(profile, previous)

        return self.mutate(caller, identifier, change)

    def put_attribute_mapping(self, caller: Caller, identifier: str, certificate_field: str,
                              specifiers: list[str]) -> Profile:
        per_field = self.quotas.mapping_rules_per_field
        if len(specifiers) > per_field:
            raise exceeded("mapping rules per certificate field", per_field,
                           f"The request has {len(specifiers)} for {certificate_field}.")

        def change(_uow: UnitOfWork, profile: Profile) -> None:
            mappings = attribute_mappings.put(profile.attribute_mappings, certificate_field,
                                              specifiers)
            trusted_identity.check_mappings(profile.tip_configuration, mappings,
                                            change="PutAttributeMapping")
            total = sum(len(m.specifiers) for m in mappings)
            if total > self.quotas.mapping_rules_per_profile:
                raise exceeded("mapping rules per profile", self.quotas.mapping_rules_per_profile,
                               f"The profile would have {total}.")
            profile.attribute_mappings = mappings
        return self.mutate(caller, identifier, change)

    def delete_attribute_mapping(self, caller: Caller, identifier: str, certificate_field: str,
                                 specifiers: list[str] | None) -> Profile:
        def change(_uow: UnitOfWork, profile: Profile) -> None:
            mappings = attribute_mappings.delete(profile.attribute_mappings,
                                                 certificate_field, specifiers)
            trusted_identity.check_mappings(profile.tip_configuration, mappings,
                                            change="DeleteAttributeMapping")
            profile.attribute_mappings = mappings
        return self.mutate(caller, identifier, change)
