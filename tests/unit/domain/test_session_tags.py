"""Certificate -> session tags, with AWS's documented example (aws-behaviour §4.2)."""

from __future__ import annotations

from roleport.crypto import devpki
from roleport.domain import attribute_mappings
from roleport.domain.model import AttributeMapping
from roleport.domain.session_tags import map_certificate, tag_value_problem


def test_aws_documented_example_with_default_mappings() -> None:
    issuer = devpki.create_root_ca(subject=[("C", "US"), ("O", "Amazon"), ("OU", "IAM"),
                                            ("ST", "Washington"), ("CN", "RolesAnywhere"),
                                            ("L", "Seattle")])
    leaf = devpki.issue_leaf(issuer, "Alice", sans=[
        "DNS:example.com", "DNS:second.example", "URI:spiffe://example.com/workload/alice",
        "dirName:CN=Alice"])
    mapped = map_certificate(leaf.certificate, attribute_mappings.defaults())
    assert dict(mapped.tags) == {
        "x509Subject/CN": "Alice",
        "x509Issuer/C": "US", "x509Issuer/O": "Amazon", "x509Issuer/OU": "IAM",
        "x509Issuer/ST": "Washington", "x509Issuer/L": "Seattle",
        "x509Issuer/CN": "RolesAnywhere",
        "x509SAN/DNS": "example.com",
        "x509SAN/URI": "spiffe://example.com/workload/alice",
        "x509SAN/Name/CN": "Alice",
    }
    assert not mapped.has_invalid


def test_repeated_attributes_are_joined_with_slashes_in_certificate_order() -> None:
    root = devpki.create_root_ca()
    leaf = devpki.issue_leaf(root, subject=[("CN", "alice"), ("OU", "Security"),
                                            ("OU", "Engineering"), ("OU", "Research")])
    tags = dict(map_certificate(leaf.certificate, attribute_mappings.defaults()).tags)
    assert tags["x509Subject/OU"] == "Security/Engineering/Research"


def test_specifiers_select_attributes() -> None:
    root = devpki.create_root_ca(subject=[("O", "Corp"), ("CN", "Corp CA")])
    leaf = devpki.issue_leaf(root, subject=[("CN", "svc"), ("OU", "ops")],
                             sans=["DNS:svc.example", "dirName:CN=svc,O=Corp"])
    mappings = [AttributeMapping("x509Subject", ["CN"]), AttributeMapping("x509Issuer", []),
                AttributeMapping("x509SAN", ["Name/O"])]
    assert map_certificate(leaf.certificate, mappings).tags == [
        ("x509Subject/CN", "svc"), ("x509SAN/Name/O", "Corp")]


def test_no_mappings_no_tags() -> None:
    leaf = devpki.issue_leaf(devpki.create_root_ca(), "x")
    assert map_certificate(leaf.certificate, []).tags == []


def test_invalid_values_are_reported_by_field() -> None:
    leaf = devpki.issue_leaf(devpki.create_root_ca(), "bad (cn)", sans=["URI:urn:x?a=b&c"])
    mapped = map_certificate(leaf.certificate, attribute_mappings.defaults())
    assert mapped.invalid == {"x509SAN": ["URI"], "x509Subject": ["CN"]}
    assert mapped.invalid_summary() == "Issuer: [  ]; Subject: [ CN ]; SAN: [ URI ]"


def test_tag_value_rules() -> None:
    assert tag_value_problem("ok value_1.2:3/4=5+6-7@8") is None
    assert tag_value_problem("Zoë") is None
    assert tag_value_problem("a(b)") is not None
    assert tag_value_problem("x" * 257) is not None


def test_spiffe_specifiers_map_trust_domain_and_path_of_the_first_uri() -> None:
    root = devpki.create_root_ca("SPIFFE Tags CA")
    svid = devpki.issue_leaf(root, None, sans=["URI:spiffe://example.org/ns/prod/sa/web"])
    rules = [AttributeMapping("x509SAN", ["URI", "spiffe/trustDomain", "spiffe/path"])]
    assert map_certificate(svid.certificate, rules).tags == [
        ("x509SAN/URI", "spiffe://example.org/ns/prod/sa/web"),
        ("x509SAN/spiffe/trustDomain", "example.org"),
        ("x509SAN/spiffe/path", "/ns/prod/sa/web")]
    # not a SPIFFE ID, or no path: nothing (no empty tag)
    web = devpki.issue_leaf(root, "web", sans=["URI:https://example.org/x"])
    assert map_certificate(web.certificate, rules).tags == [
        ("x509SAN/URI", "https://example.org/x")]
    bare = devpki.issue_leaf(root, "bare", sans=["URI:spiffe://example.org"])
    assert map_certificate(bare.certificate, rules[:1] and [AttributeMapping(
        "x509SAN", ["spiffe/trustDomain", "spiffe/path"])]).tags == [
        ("x509SAN/spiffe/trustDomain", "example.org")]
