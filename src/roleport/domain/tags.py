"""Tag rules shared by every taggable resource."""

from __future__ import annotations

from roleport.domain.model import Tag
from roleport.errors import TooManyTagsError, ValidationError

MAX_TAGS_PER_RESOURCE = 50
RESERVED_PREFIX = "aws:"


def _check_keys(keys: list[str]) -> None:
    for key in keys:
        if key.lower().startswith(RESERVED_PREFIX):
            raise ValidationError(f"Tag key '{key}' uses the reserved prefix 'aws:'.")


def merged(existing: list[Tag], new: list[Tag], *, limit: int = MAX_TAGS_PER_RESOURCE,
           arn: str = "") -> list[Tag]:
    """Add or overwrite by key, keeping the order keys were first set in."""
    _check_keys([t.key for t in new])
    by_key = {t.key: Tag(t.key, t.value) for t in existing}
    for tag in new:
        by_key[tag.key] = Tag(tag.key, tag.value)
    if len(by_key) > limit:
        where = f" {arn}" if arn else ""
        raise TooManyTagsError(f"The resource{where} would have {len(by_key)} tags; at most "
                               f"{limit} tags are allowed per resource.")
    return list(by_key.values())


def without(existing: list[Tag], keys: list[str]) -> list[Tag]:
    """Remove the given keys; keys the resource does not have are ignored."""
    gone = set(keys)
    return [t for t in existing if t.key not in gone]


def initial(tags: list[Tag] | None, *, limit: int = MAX_TAGS_PER_RESOURCE) -> list[Tag]:
    if not tags:
        return []
    try:
        return merged([], tags, limit=limit)
    except TooManyTagsError as exc:  # on create, the model's ValidationException fits
        raise ValidationError(exc.message) from None
