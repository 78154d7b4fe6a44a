"""The shared-memory token buckets (on a fake clock, across threads and forked processes)
and the request rate limits built on them."""

from __future__ import annotations

import base64
import os
import threading

import click
import pytest

from roleport.cli.serve_limits import RateType
from roleport.errors import ThrottlingError
from roleport.server.ratelimit import Rate
from roleport.server.request_limits import (
    RequestRates,
    RequestThrottle,
    certificate_key,
    rolesanywhere_family,
)
from roleport.server.shared_buckets import SLOTS_PER_GROUP, SharedBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    table = SharedBuckets(groups=16, clock=clock)
    rate = Rate(2.0, 3)
    assert [table.take("ns", "k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert table.take("ns", "k", rate) == pytest.approx(0.5)
    assert table.wait("ns", "k", rate) == pytest.approx(0.5)  # refused takes nothing
    clock.now += 0.5
    assert table.take("ns", "k", rate) == 0.0
    assert table.take("ns", "k", rate) > 0.0
    clock.now += 100
    assert [table.take("ns", "k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]  # capped


def test_keys_and_namespaces_have_buckets_of_their_own() -> None:
    table = SharedBuckets(groups=16, clock=FakeClock())
    rate = Rate(1.0, 1)
    assert table.take("a", "k", rate) == 0.0
    assert table.take("a", "k", rate) > 0.0
    assert table.take("a", "other", rate) == 0.0
    assert table.take("b", "k", rate) == 0.0
    view = table.buckets("a", rate)
    assert view.empty("k") and not view.empty("fresh") and not view.take("k")
    assert view.seconds_until_token("k") == pytest.approx(1.0)


def test_a_full_group_forgets_the_bucket_counted_longest_ago() -> None:
    clock = FakeClock()
    table = SharedBuckets(groups=1, clock=clock)
    rate = Rate(0.001, 1)
    for i in range(SLOTS_PER_GROUP):
        clock.now += 1
        assert table.take("ns", f"k{i}", rate) == 0.0
    clock.now += 1
    assert table.take("ns", "newcomer", rate) == 0.0  # takes k0's slot
    assert table.take("ns", "k0", rate) == 0.0  # forgotten: a full bucket again
    assert table.take("ns", f"k{SLOTS_PER_GROUP - 1}", rate) > 0.0  # still counted


def test_threads_never_take_more_than_the_burst() -> None:
    table = SharedBuckets(groups=16)
    rate = Rate(0.001, 100)
    allowed = []

    def hammer() -> None:
        allowed.append(sum(table.take("ns", "k", rate) == 0.0 for _ in range(50)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 100


def test_forked_processes_count_in_the_same_buckets() -> None:
    table = SharedBuckets(groups=64)
    rate = Rate(0.001, 120)
    pipes, children = [], []
    for _ in range(4):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a worker: 100 attempts
            os.close(read)
            try:
                count = sum(table.take("ns", "shared", rate) == 0.0 for _ in range(100))
                os.write(write, str(count).encode())
            finally:
                os._exit(0)
        os.close(write)
        pipes.append(read)
        children.append(pid)
    counts = []
    for read, pid in zip(pipes, children, strict=True):
        with os.fdopen(read) as handle:
            counts.append(int(handle.read()))
        os.waitpid(pid, 0)
    assert sum(counts) == 120  # a per-process split would let 400 through
    assert table.take("ns", "shared", rate) > 0.0  # and the parent sees them too


def test_request_throttle_counts_create_session_by_source_and_certificate() -> None:
    seen = []
    throttle = RequestThrottle(RequestRates(create_session_per_certificate=Rate(0.001, 2),
                                            create_session_per_source=Rate(0.001, 2)),
                               on_throttle=seen.append)
    cert_a, cert_b = base64.b64encode(b"a" * 40).decode(), base64.b64encode(b"b" * 40).decode()
    throttle.create_session("10.0.0.1", cert_a)
    throttle.create_session("10.0.0.2", cert_a)
    with pytest.raises(ThrottlingError) as exc:
        throttle.create_session("10.0.0.3", cert_a)  # the certificate's burst is spent
    assert exc.value.message == "Rate exceeded" and exc.value.retry_after_seconds >= 1
    throttle.create_session("10.0.0.1", cert_b)
    with pytest.raises(ThrottlingError):
        throttle.create_session("10.0.0.1", base64.b64encode(b"c" * 40).decode())  # source
    assert throttle.throttled == {"create-session-certificate": 1,
                                  "create-session-source": 1}
    assert seen == ["create-session-certificate", "create-session-source"]


def test_control_plane_limits_are_per_key_and_per_rolesanywhere_family() -> None:
    throttle = RequestThrottle(RequestRates.off().with_(rolesanywhere_per_key=Rate(0.001, 1),
                                                        iam_per_key=Rate(0.001, 1)))
    throttle.authenticated("rolesanywhere", "ListTrustAnchors", "AKIA1")
    with pytest.raises(ThrottlingError):
        throttle.authenticated("rolesanywhere", "GetTrustAnchor", "AKIA1")
    throttle.authenticated("rolesanywhere", "ListProfiles", "AKIA1")  # another family
    throttle.authenticated("rolesanywhere", "ListTrustAnchors", "AKIA2")  # another key
    throttle.authenticated("iam", "GetRole", "AKIA1")
    with pytest.raises(ThrottlingError):
        throttle.authenticated("iam", "ListRoles", "AKIA1")
    for _ in range(5):
        throttle.authenticated("sts", "GetCallerIdentity", "AKIA1")  # off


@pytest.mark.parametrize(("operation", "family"), [
    ("CreateTrustAnchor", "trust-anchor"), ("PutNotificationSettings", "trust-anchor"),
    ("ListProfiles", "profile"), ("PutAttributeMapping", "profile"),
    ("GetSubject", "subject"), ("ListTagsForResource", "tagging"),
    ("UntagResource", "tagging"), ("ImportCrl", "crl")])
def test_operations_fall_in_aws_quota_families(operation: str, family: str) -> None:
    assert rolesanywhere_family(operation) == family


def test_a_certificate_is_counted_by_its_der_whatever_its_line_breaks() -> None:
    text = base64.b64encode(b"x" * 90).decode()
    assert certificate_key(text) == certificate_key(text[:40] + "\n " + text[40:])
    assert certificate_key("not base64!") != certificate_key(text)


@pytest.mark.parametrize(("text", "rate"), [
    ("10", Rate(10.0, 10)), ("1/20", Rate(1.0, 20)), ("0.5", Rate(0.5, 1)),
    ("off", None), ("0", None)])
def test_rate_option_reads_rate_and_burst(text: str, rate: Rate | None) -> None:
    assert RateType().convert(text, None, None) == rate


@pytest.mark.parametrize("text", ["fast", "-1", "2/x", "1/0"])
def test_rate_option_refuses_what_is_not_a_rate(text: str) -> None:
    with pytest.raises(click.BadParameter):
        RateType().convert(text, None, None)
