"""Pure domain rules: attribute mappings, notification settings, tags, aliases, tokens, ARNs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roleport import arns
from roleport.domain import aliases, attribute_mappings, notifications, tags
from roleport.domain.context import Scope
from roleport.domain.model import NotificationSetting, Tag
from roleport.domain.pagination import PageTokens
from roleport.errors import TooManyTagsError, ValidationError

SCOPE = Scope("123456789012", "us-east-1")


def fields(mappings):  # noqa: ANN001, ANN201
    return {m.certificate_field: m.specifiers for m in mappings}


def test_put_mapping_replaces_one_field_in_place():
    out = attribute_mappings.put(attribute_mappings.defaults(), "x509SAN", ["Name/", "DNS", "DNS"])
    assert [m.certificate_field for m in out] == ["x509Issuer", "x509SAN", "x509Subject"]
    assert fields(out)["x509SAN"] == ["Name/*", "DNS"]
    assert fields(out)["x509Subject"] == ["*"]


def test_name_normalisation_is_only_for_san():
    assert attribute_mappings.normalise_specifier("x509SAN", "Name") == "Name/*"
    assert attribute_mappings.normalise_specifier("x509Subject", "Name") == "Name"


def test_delete_mapping_specifiers_field_and_absent():
    base = attribute_mappings.put(attribute_mappings.defaults(), "x509Subject", ["CN", "OU"])
    assert fields(attribute_mappings.delete(base, "x509Subject", ["OU", "nope"]))[
        "x509Subject"] == ["CN"]
    assert "x509Subject" not in fields(attribute_mappings.delete(base, "x509Subject", None))
    assert "x509Subject" not in fields(attribute_mappings.delete(base, "x509Subject",
                                                                 ["CN", "OU"]))
    assert fields(attribute_mappings.delete(base, "x509Issuer", ["*"])).keys() == {
        "x509SAN", "x509Subject"}


def test_notification_upsert_and_reset():
    settings = notifications.apply(notifications.defaults(), [
        notifications.SettingInput("CA_CERTIFICATE_EXPIRY", True, 7)], "123456789012")
    ca = next(s for s in settings if s.event == "CA_CERTIFICATE_EXPIRY")
    assert (ca.threshold, ca.configured_by, ca.channel) == (7, "123456789012", "ALL")
    assert len(settings) == 2
    back = notifications.reset(settings, [notifications.SettingKey("CA_CERTIFICATE_EXPIRY")])
    assert back == notifications.defaults()


def test_enabled_setting_needs_a_threshold_unless_stored():
    with pytest.raises(ValidationError):
        notifications.apply([], [notifications.SettingInput("CA_CERTIFICATE_EXPIRY", True)],
                            "1")
    kept = notifications.apply(notifications.defaults(), [
        notifications.SettingInput("CA_CERTIFICATE_EXPIRY", True)], "1")
    assert kept[0].threshold == 45


def test_disabled_setting_keeps_the_stored_threshold():
    out = notifications.apply([NotificationSetting("CA_CERTIFICATE_EXPIRY", "ALL", True, 9, "x")],
                              [notifications.SettingInput("CA_CERTIFICATE_EXPIRY", False)], "1")
    assert (out[0].enabled, out[0].threshold) == (False, 9)


def test_tags_merge_limit_and_reserved_prefix():
    merged = tags.merged([Tag("a", "1")], [Tag("b", "2"), Tag("a", "3")])
    assert merged == [Tag("a", "3"), Tag("b", "2")]
    with pytest.raises(TooManyTagsError):
        tags.merged([], [Tag(f"k{i}", "") for i in range(51)])
    with pytest.raises(ValidationError):
        tags.merged([], [Tag("AWS:x", "")])
    assert tags.without(merged, ["a", "zzz"]) == [Tag("b", "2")]


@pytest.mark.parametrize("name", ["aws/x", "AWS/x", "Aws/"])
def test_reserved_alias_prefix(name):
    with pytest.raises(ValidationError):
        aliases.normalise(name)


def test_empty_alias_means_none():
    assert aliases.normalise("") is None and aliases.normalise(None) is None


@given(st.integers(min_value=0, max_value=2**62))
def test_page_token_round_trip(seq):
    tokens = PageTokens(b"k" * 32)
    token = tokens.encode("profiles", SCOPE, seq)
    assert tokens.decode("profiles", SCOPE, token) == seq


@given(st.text(max_size=200))
def test_arbitrary_token_text_is_only_ever_a_validation_error(text):
    tokens = PageTokens(b"k" * 32)
    try:
        tokens.decode("profiles", SCOPE, text)
    except ValidationError:
        pass


def test_token_is_bound_to_listing_scope_and_key():
    tokens = PageTokens(b"k" * 32)
    token = tokens.encode("profiles", SCOPE, 5)
    for listing, scope, key in [("crls", SCOPE, b"k" * 32),
                                ("profiles", Scope("999999999999", "us-east-1"), b"k" * 32),
                                ("profiles", Scope("123456789012", "eu-west-1"), b"k" * 32),
                                ("profiles", SCOPE, b"j" * 32)]:
        with pytest.raises(ValidationError):
            PageTokens(key).decode(listing, scope, token)


def test_arn_parsing():
    ref = arns.parse_roles_anywhere(
        "arn:aws:rolesanywhere:us-east-1:123456789012:alias/profile/team/a")
    assert (ref.resource_type, ref.alias_name, ref.resource_id) == ("profile", "team/a", None)
    ref = arns.parse_roles_anywhere("arn:aws:rolesanywhere:eu-west-1:1:crl/abc")
    assert (ref.region, ref.account, ref.resource_type, ref.resource_id) == (
        "eu-west-1", "1", "crl", "abc")
    assert arns.parse_roles_anywhere("arn:aws:iam::1:role/x") is None
    assert arns.parse_roles_anywhere("arn:aws:rolesanywhere:r:a:widget/x") is None
    assert arns.parse("nope") is None
