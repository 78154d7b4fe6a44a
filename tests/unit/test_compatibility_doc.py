"""docs/compatibility.md names the versions the suite really runs: read them from the locks."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _table() -> dict[str, str]:
    rows = {}
    for line in (ROOT / "docs" / "compatibility.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] and cells[1][0] in "v0123456789":
            rows[cells[0].split(" ")[0]] = cells[1]
    return rows


def _go_version(module_dir: str, module: str) -> str:
    text = (ROOT / "tests" / "e2e" / "go" / module_dir / "go.mod").read_text()
    return re.search(rf"^\s*{re.escape(module)} (v\S+)", text, re.MULTILINE).group(1)


def test_the_compatibility_table_names_the_installed_versions() -> None:
    table = _table()
    for dist in ("boto3", "botocore", "awscli", "iam-rolesanywhere-session"):
        assert table[dist] == importlib.metadata.version(dist), dist
    lock = json.loads((ROOT / "tests" / "e2e" / "js" / "package-lock.json").read_text())
    js = lock["packages"]["node_modules/@aws-sdk/client-rolesanywhere"]["version"]
    assert table["@aws-sdk/client-rolesanywhere"] == js
    assert table["github.com/aws/aws-sdk-go-v2/service/rolesanywhere"] == _go_version(
        "sdk", "github.com/aws/aws-sdk-go-v2/service/rolesanywhere")
    assert table["github.com/aws/rolesanywhere-credential-helper"] == _go_version(
        "signing_helper", "github.com/aws/rolesanywhere-credential-helper")
