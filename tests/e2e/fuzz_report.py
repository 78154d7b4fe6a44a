"""Sum up a ``make fuzz`` run: ``python tests/e2e/fuzz_report.py fuzz-report.jsonl``."""

from __future__ import annotations

import json
import sys
from collections import Counter


def main(path: str) -> int:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    status: Counter[str] = Counter()
    for row in rows:
        status.update(row["status"])
    failures = sum(len(r["failures"]) + len(r["state"]) for r in rows)
    print(f"operations: {len(rows)}")
    print(f"requests:   {sum(r['requests'] for r in rows)} "
          f"(+{sum(r['unsendable'] for r in rows)} generated cases no client can send)")
    print(f"seconds:    {sum(r['seconds'] for r in rows):.0f} (sum over operations)")
    print("status:     " + ", ".join(f"{k}: {v}" for k, v in sorted(status.items())))
    print(f"failures:   {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
