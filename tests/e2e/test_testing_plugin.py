"""roleport.testing as a pytest plugin, the way a user's suite loads it: the example test
of docs/testing.md runs in a pytest of its own, with its own server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .test_signing_helper_support import clean_env

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def example_from_docs() -> str:
    """The first ```python block of docs/testing.md (so the documented example is tested)."""
    match = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert match, "docs/testing.md has no python example"
    return match.group(1)


def test_documented_example_passes_with_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_example.py").write_text(example_from_docs())
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "roleport.testing", "-p", "no:cacheprovider",
         "-q", "test_example.py"], check=False, capture_output=True, text=True, timeout=180, cwd=tmp_path,
        env=clean_env(tmp_path), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b[4-9] passed\b", done.stdout), done.stdout
