"""Helpers of the signing-helper end-to-end tests (no tests here): run the helper and a
fresh Python with boto3 as real subprocesses, in a temporary HOME with no AWS settings
inherited, and read a long-running helper's stderr while it runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import roleport

SRC = str(Path(roleport.__file__).resolve().parent.parent)
HELPER = [sys.executable, "-m", "roleport.cli.signing_helper"]
ROLEPORT = [sys.executable, "-m", "roleport.cli.main"]


def clean_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """This environment without AWS_* and ROLEPORT_* settings, roleport importable from
    anywhere, HOME in ``home``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ROLEPORT_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH", "")) if p)
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra)
    return env


def helper(*args: str, env: dict[str, str] | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``roleport-signing-helper ARGS`` to completion (no terminal: it must not prompt)."""
    return subprocess.run([*HELPER, *args], check=False, capture_output=True, text=True, timeout=timeout,
                          env=env or clean_env(), stdin=subprocess.DEVNULL,
                          start_new_session=True)


def python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python (so botocore reads the environment from scratch)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, capture_output=True,
                          text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
                          start_new_session=True)


CALLER_IDENTITY = """
    import boto3, sys
    sts = boto3.Session(**({"profile_name": sys.argv[1]} if len(sys.argv) > 1 else {})) \\
        .client("sts")
    print(sts.get_caller_identity()["Arn"])
"""


class Background:
    """A long-running helper (``serve``/``update``) whose stderr is collected as it comes;
    ``program`` is roleport-signing-helper unless given (e.g. the official binary)."""

    def __init__(self, *args: str, env: dict[str, str],
                 program: Sequence[str] = tuple(HELPER)) -> None:
        self.process = subprocess.Popen([*program, *args], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, env=env,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 20, after: int = 0) -> str:
        """The first line (from index ``after``) containing ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if text in line:
                    return line
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(self.lines))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)
        return self.process.returncode
