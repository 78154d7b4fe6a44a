"""--workers auto: one worker per core the process may use, bounded by the cgroup quota."""

from __future__ import annotations

import os

import click
import pytest
from click.testing import CliRunner

from roleport.cli.serve import WorkerCount, serve
from roleport.server import workers


def _cgroup(tmp_path, *, v2: str | None = None, v1: tuple[str, str] | None = None):
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2 + "\n")
    if v1 is not None:
        (tmp_path / "cpu").mkdir(parents=True)
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(v1[0] + "\n")
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(v1[1] + "\n")
    return str(tmp_path)


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))


def test_affinity_without_a_quota(tmp_path, eight_cores):
    assert workers.available_cpus(_cgroup(tmp_path, v2="max 100000")) == 8
    assert workers.available_cpus(str(tmp_path / "absent")) == 8


@pytest.mark.parametrize(("quota", "expected"), [
    ("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1), ("1600000 100000", 8)])
def test_cgroup_v2_quota_bounds_the_affinity(tmp_path, eight_cores, quota, expected):
    assert workers.available_cpus(_cgroup(tmp_path, v2=quota)) == expected


def test_cgroup_v1_quota(tmp_path, eight_cores):
    assert workers.available_cpus(_cgroup(tmp_path, v1=("300000", "100000"))) == 3
    assert workers.available_cpus(_cgroup(tmp_path / "x", v1=("-1", "100000"))) == 8


def test_unreadable_quota_is_ignored(tmp_path, eight_cores):
    assert workers.available_cpus(_cgroup(tmp_path, v2="garbage")) == 8


def test_resolve(eight_cores, monkeypatch):
    monkeypatch.setattr(workers, "_cgroup_cpu_quota", lambda root: None)
    assert workers.resolve_workers("auto") == 8
    assert workers.resolve_workers("auto", limit=4) == 4
    assert workers.resolve_workers(3) == 3


@pytest.mark.parametrize(("text", "value"), [("auto", "auto"), ("AUTO", "auto"), ("1", 1),
                                              ("64", 64)])
def test_option_accepts(text, value):
    assert WorkerCount().convert(text, None, None) == value


@pytest.mark.parametrize("text", ["0", "65", "-1", "two", ""])
def test_option_refuses(text):
    with pytest.raises(click.BadParameter):
        WorkerCount().convert(text, None, None)


def test_help_shows_auto_is_the_default():
    out = CliRunner().invoke(serve, ["--help"], terminal_width=200).output
    assert "--workers AUTO|N" in out
    assert "[default: auto]" in out.split("--workers", 1)[1].split("--threads", 1)[0]
