"""The bench's results against issue 14's targets, run by run (``bench/README.md``).

    .venv/bin/python bench/targets.py bench/results/RUN1.json [RUN2.json ...]
    .venv/bin/python bench/targets.py --readme bench/README.md RUN1.json RUN2.json

Prints, in Markdown: the results table of each run, then one row per target with each
run's value and whether it is met (and by how much it is missed), then what the logs cost
(defaults / tuned). Every figure is a ratio or a count taken within one run, so runs on
machines of different speed compare. ``--readme`` writes it between the README's
``<!-- bench:start -->`` and ``<!-- bench:end -->`` instead.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from run import Result, table

Rows = list[Result]


def find(rows: Rows, scenario: str, config: str = "defaults", conns: int | None = 64,
         ) -> Result | None:
    for r in rows:
        if r.scenario == scenario and r.config == config and \
                (conns is None or r.connections == conns):
            return r
    return None


@dataclass(frozen=True)
class Target:
    name: str
    #: the run's value (None: not measured in that run)
    value: Callable[[Rows], float | None]
    #: is the value good enough
    met: Callable[[float], bool]
    show: Callable[[float], str]
    #: how far from the target a missed value is, in words
    miss: Callable[[float], str]


def _ratio(a: Result | None, b: Result | None, field: str = "rps") -> float | None:
    if a is None or b is None or not getattr(b, field):
        return None
    return getattr(a, field) / getattr(b, field)


def _attr(r: Result | None, field: str) -> float | None:
    return None if r is None else getattr(r, field)


EC64 = "CreateSession ec (sqlite)"

TARGETS = [
    Target("CreateSession EC/SQLite/64, defaults: CPU per session <= 2.5 x the crypto floor",
           lambda rows: _attr(find(rows, EC64), "ratio"), lambda v: v <= 2.5,
           lambda v: f"{v:.2f} x", lambda v: f"{v / 2.5:.1f} x the budget"),
    Target("CreateSession EC/SQLite/64, defaults: >= 2,000 sessions/s on 2 cores",
           lambda rows: _attr(find(rows, EC64), "rps"), lambda v: v >= 2000,
           lambda v: f"{v:,.0f}/s", lambda v: f"{2000 / v:.1f} x short"),
    Target("CreateSession EC/SQLite/64, defaults: p99 < 50 ms",
           lambda rows: _attr(find(rows, EC64), "p99_ms"), lambda v: v < 50,
           lambda v: f"{v:.0f} ms", lambda v: f"{v / 50:.1f} x the bound"),
    Target("fleet (10,000 certificates) within 25% of few certificates, SQLite",
           lambda rows: _ratio(find(rows, "CreateSession fleet ec, 10,000 certs (sqlite)"),
                               find(rows, EC64)),
           lambda v: v >= 0.75, lambda v: f"{v:.2f} of the req/s",
           lambda v: f"{(1 - v) * 100:.0f}% slower"),
    Target("fleet (10,000 certificates) within 25% of few certificates, PostgreSQL",
           lambda rows: _ratio(find(rows, "CreateSession fleet ec, 10,000 certs (postgresql)"),
                               find(rows, "CreateSession ec (postgresql)")),
           lambda v: v >= 0.75, lambda v: f"{v:.2f} of the req/s",
           lambda v: f"{(1 - v) * 100:.0f}% slower"),
    Target("PostgreSQL within 20% of SQLite (CreateSession EC/64, defaults)",
           lambda rows: _ratio(find(rows, "CreateSession ec (postgresql)"), find(rows, EC64)),
           lambda v: v >= 0.8, lambda v: f"{v:.2f} of the req/s",
           lambda v: f"{(1 - v) * 100:.0f}% slower"),
    Target("GetRole >= 15 x moto, defaults",
           lambda rows: _attr(find(rows, "GetRole"), "ratio"), lambda v: v >= 15,
           lambda v: f"{v:.1f} x", lambda v: f"{15 / v:.1f} x short"),
    Target("GetCallerIdentity >= 15 x moto, defaults",
           lambda rows: _attr(find(rows, "GetCallerIdentity"), "ratio"), lambda v: v >= 15,
           lambda v: f"{v:.1f} x", lambda v: f"{15 / v:.1f} x short"),
    Target("0 errors in every row",
           lambda rows: float(sum(r.errors or 0 for r in rows if r.config != "moto")),
           lambda v: v == 0, lambda v: f"{v:.0f}", lambda v: f"{v:.0f} errors"),
    Target("startup < 1 s to healthy, existing database",
           lambda rows: _attr(find(rows, "startup to healthy (existing database)",
                                   conns=None), "p50_ms"),
           lambda v: v < 1000, lambda v: f"{v / 1000:.2f} s", lambda v: f"{v / 1000:.1f} x"),
    Target("memory < 200 MB at peak load (PSS of all processes)",
           lambda rows: max((r.peak_rss_mb or 0 for r in rows if r.config != "moto"),
                            default=None),
           lambda v: v < 200, lambda v: f"{v:.0f} MB", lambda v: f"{v / 200:.2f} x"),
    Target("ListSubjects first page at 1,000,000 subjects within 20% of 1,000 (p50)",
           lambda rows: _ratio(find(rows, "ListSubjects first page (1,000,000 subjects)",
                                    conns=None),
                               find(rows, "ListSubjects first page (1,000 subjects)",
                                    conns=None), "p50_ms"),
           lambda v: v <= 1.2, lambda v: f"{v:.2f} x the latency",
           lambda v: f"{(v - 1) * 100:.0f}% slower"),
]

#: what the logs cost: the same scenario with the defaults (access log, audit trail) and
#: tuned (neither), in one run
LOG_COST = [("GetRole", 64), ("GetCallerIdentity", 64), (EC64, 64),
            ("CreateSession rsa (sqlite)", 64), ("CreateSession ec (postgresql)", 64),
            ("CreateSession rsa (postgresql)", 64)]


def load(path: Path) -> tuple[dict[str, Any], Rows]:
    data = json.loads(path.read_text())
    return data, [Result(**r) for r in data["results"]]


def report(paths: list[Path]) -> str:
    runs = [load(p) for p in paths]
    out = ["## Results", "",
           "Machine: the project's 2-core, 24 GiB Linux VM (Python 3.11, SQLite WAL, PostgreSQL "
           "15 on loopback with fsync on), wrk 4.1 on the same machine, 8 s per row; `serve` "
           "is the configuration (How it measures). Written by `bench/targets.py --readme` "
           "from the runs' JSON.", ""]
    for n, (path, (data, rows)) in enumerate(zip(paths, runs, strict=True), 1):
        out += [f"Run {n}, finished {data['date'][:16].replace('T', ' ')} UTC "
                f"(`results/{path.name}`):",
                "", table(rows), ""]
    names = [f"run {i}" for i in range(1, len(runs) + 1)]
    out += ["### Against the targets", "",
            "| target | " + " | ".join(names) + " | status |",
            "|---|" + "---|" * len(runs) + "---|"]
    for target in TARGETS:
        values = [target.value(rows) for _, rows in runs]
        cells = [target.show(v) if v is not None else "-" for v in values]
        measured = [v for v in values if v is not None]
        if not measured:
            status = "not measured"
        elif all(target.met(v) for v in measured):
            status = "met"
        elif any(target.met(v) for v in measured):
            status = "met in some runs"
        else:
            status = "**not met**: " + " - ".join(target.miss(v) for v in measured)
        out.append(f"| {target.name} | " + " | ".join(cells) + f" | {status} |")
    out += ["", "### What the logs cost in the same run", "",
            "CPU per request with the defaults (access log, audit trail, `--log-level info`) "
            "over the same with the tuned configuration (none of them), same workers:", "",
            "| scenario | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(runs)]
    for scenario, conns in LOG_COST:
        cells = []
        for _, rows in runs:
            ratio = _ratio(find(rows, scenario, "defaults", conns),
                           find(rows, scenario, "tuned", conns), "cpu_per_request_ms")
            cells.append("-" if ratio is None else f"{ratio:.2f}")
        out.append(f"| {scenario} ({conns} connections) | " + " | ".join(cells) + " |")
    return "\n".join(out)


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def write_readme(readme: Path, text: str) -> None:
    old = readme.read_text()
    head, _, rest = old.partition(START)
    _, _, tail = rest.partition(END)
    if not rest or END not in rest:
        raise SystemExit(f"{readme} has no {START} ... {END} section")
    readme.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="bench/results/*.json")
    parser.add_argument("--readme", type=Path, help="write into this README's bench section")
    args = parser.parse_args()
    text = report(args.results)
    if args.readme:
        write_readme(args.readme, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
