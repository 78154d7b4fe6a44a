"""Where requests run: the event loop until the code says it must wait on the network."""

from __future__ import annotations

import threading

import pytest

from roleport.config import Settings
from roleport.offload import MoveToThread, network_wait, run_on_loop


def test_network_wait_is_silent_off_the_loop() -> None:
    network_wait("anything")  # a pool thread (or a CLI) may wait


def test_network_wait_on_the_loop_asks_for_a_thread() -> None:
    def fetch() -> str:
        network_wait("CRL distribution point http://ca.example/crl")
        return "fetched"

    with pytest.raises(MoveToThread, match="ca.example"):
        run_on_loop(fetch)
    assert fetch() == "fetched"  # the flag is cleared after the call, even when it raised


def test_the_flag_belongs_to_the_loop_thread_only() -> None:
    seen: list[BaseException | None] = []

    def other_thread() -> None:
        try:
            network_wait("upstream STS")
            seen.append(None)
        except MoveToThread as exc:  # pragma: no cover - the failure being tested for
            seen.append(exc)

    def on_loop() -> None:
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()

    run_on_loop(on_loop)
    assert seen == [None]


def test_run_on_loop_returns_the_result_and_passes_arguments() -> None:
    assert run_on_loop(lambda a, b: a + b, 2, 3) == 5


@pytest.mark.parametrize(("dispatch", "database_url", "upstream", "expected"), [
    ("auto", None, None, True),  # embedded SQLite
    ("auto", "sqlite:////tmp/x.db", None, True),
    ("auto", "postgresql+psycopg://localhost/test", None, False),
    ("auto", None, "aws", False),
    ("loop", "postgresql+psycopg://localhost/test", None, True),
    ("threads", None, None, False),
])
def test_where_requests_run(dispatch: str, database_url: str | None, upstream: str | None,
                            expected: bool) -> None:
    settings = Settings(dispatch=dispatch, database_url=database_url,
                        upstream_endpoint=upstream)
    assert settings.requests_on_loop is expected
