"""TagResource / UntagResource / ListTagsForResource over every taggable resource."""

from __future__ import annotations

from typing import Any

from roleport import arns
from roleport.domain import tags
from roleport.domain.context import Caller
from roleport.domain.model import Tag
from roleport.domain.resources import ResourceService
from roleport.errors import NotFoundError, ValidationError


class TaggingService:
    def __init__(self, services: dict[str, ResourceService[Any]]) -> None:
        #: resource type in ARNs -> the service owning it
        self._services = services

    def _service_for(self, resource_arn: str) -> ResourceService[Any]:
        ref = arns.parse_roles_anywhere(resource_arn)
        if ref is None:
            if arns.parse(resource_arn) is None:
                raise ValidationError(f"Invalid resource ARN '{resource_arn}'.")
            raise NotFoundError(f"The resource '{resource_arn}' was not found.")
        return self._services[ref.resource_type]

    def list_tags(self, caller: Caller, resource_arn: str) -> list[Tag]:
        return list(self._service_for(resource_arn).get(caller, resource_arn).tags)

    def tag(self, caller: Caller, resource_arn: str, new_tags: list[Tag]) -> None:
        service = self._service_for(resource_arn)
        service.check_tags(new_tags)

        def change(_uow: Any, resource: Any) -> None:
            resource.tags = tags.merged(resource.tags, new_tags,
                                        limit=service.quotas.tags_per_resource, arn=resource_arn)
        service.mutate(caller, resource_arn, change)

    def untag(self, caller: Caller, resource_arn: str, keys: list[str]) -> None:
        service = self._service_for(resource_arn)

        def change(_uow: Any, resource: Any) -> None:
            resource.tags = tags.without(resource.tags, keys)
        service.mutate(caller, resource_arn, change)
