"""``venomqa demo``: explore the bundled shop API and show the seeded bugs VenomQA finds.

    venomqa demo [--max-depth N] [--report FORMAT:PATH]... [--keep]

Needs nothing but venomqa-core. It creates a SQLite file in a temporary folder, starts the shop
(``venomqa.demo.server``) in a separate process on a free loopback port, and runs the real engine
on it with the built-in SQLite store. Everything it says about findings comes from that run.
Exit code: 0 once the demo has run (whether or not it found anything), 2 for bad options, 3 when
the shop or its database fails.
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from venomqa.cli.catalog import short_help
from venomqa.errors import VenomQAError

if TYPE_CHECKING:
    from venomqa.models import RunReport, Violation

DEFAULT_MAX_DEPTH = 4
_WIDTH = 96


@click.command("demo", short_help=short_help("demo"))
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT:PATH",
    help="Also write a report (repeatable), e.g. json:demo.json; no PATH = stdout.",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_DEPTH,
    show_default=True,
    help="Longest sequence of calls to explore.",
)
@click.option("--keep", is_flag=True, help="Keep the demo's SQLite file and print where it is.")
def demo(reports: tuple[str, ...], max_depth: int, keep: bool) -> None:
    """Explore a small bundled shop API and show the sequence bugs VenomQA finds in it."""
    try:
        report_objects = _build_reporters(reports)
        _run_demo(report_objects, max_depth, keep)
    except VenomQAError as exc:  # as the `venomqa` group does, also when run on its own
        click.echo(f"Error: {exc}", err=True)
        raise click.exceptions.Exit(exc.exit_code) from exc


def _run_demo(reporters: list[Any], max_depth: int, keep: bool) -> None:
    from venomqa.demo import init_schema, start_demo_server
    from venomqa.demo.checks import ACTIONS, INVARIANTS
    from venomqa.reporters.console import ConsoleReporter
    from venomqa.runtime import run_session
    from venomqa.stores.sqlite import SQLiteStore

    folder = Path(tempfile.mkdtemp(prefix="venomqa-demo-"))
    db_path = folder / "shop.db"
    try:
        init_schema(str(db_path))
        with start_demo_server(db_path) as server:
            _intro(server.url, db_path, ACTIONS, INVARIANTS, max_depth)
            run = run_session(
                target=server.url,
                actions=list(ACTIONS),
                invariants=list(INVARIANTS),
                journeys=[],
                graphs=[],
                stores={"db": SQLiteStore(str(db_path))},
                explore_options={"strategy": "bfs", "max_depth": max_depth},
                reporters=[ConsoleReporter(), *reporters],
            )
        _outro(run, max_depth)
    finally:
        if keep:
            click.echo(f"The demo's SQLite file is kept at {db_path}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _build_reporters(specs: tuple[str, ...]) -> list[Any]:
    """Reporter objects for ``FORMAT:PATH`` options, parsed exactly as ``venomqa run`` does."""
    if not specs:
        return []
    from venomqa.cli.run import parse_report_spec
    from venomqa.plugins import reporters as registered_reporters

    known = registered_reporters()
    configs = [parse_report_spec(spec, known) for spec in specs]
    return [known[config.format](path=config.path) for config in configs]


def _intro(url: str, db_path: Path, actions: list[Any], invariants: list[Any], depth: int) -> None:
    lines = [
        "VenomQA demo",
        f"API under test: a small shop served over HTTP at {url} by a separate process, keeping "
        f"its orders in the SQLite file {db_path}. A few bugs are planted in it that only show "
        "after a particular sequence of calls.",
        f"VenomQA explores every sequence of up to {depth} calls (breadth first) of these "
        f"{len(actions)} actions: {', '.join(a.name for a in actions)}.",
        f"After each call it checks {len(invariants)} invariants "
        f"({', '.join(i.name for i in invariants)}) and flags any 5xx answer. Between branches it "
        "rolls the SQLite file back, so every path starts from the same data.",
    ]
    click.echo(lines[0])
    for line in lines[1:]:
        click.echo(textwrap.fill(line, width=_WIDTH, initial_indent="  ", subsequent_indent="  "))
    click.echo("")


def _outro(run: RunReport, depth: int) -> None:
    click.echo("")
    exploration = run.exploration
    if exploration is not None:
        click.echo(
            f"Explored {exploration.states} states through {exploration.transitions} calls "
            f"in {exploration.duration_s:.2f}s."
        )
    shortest: dict[str, Violation] = {}
    found: dict[str, int] = {}
    for violation in run.violations:
        found[violation.invariant] = found.get(violation.invariant, 0) + 1
        best = shortest.get(violation.invariant)
        if best is None or len(violation.path) < len(best.path):
            shortest[violation.invariant] = violation
    if shortest:
        click.echo(f"{len(shortest)} invariant(s) broken; the shortest call sequence for each:")
        for name, violation in shortest.items():
            calls = " -> ".join(violation.path) or "(the initial state)"
            more = found[name] - 1
            also = f"  (+{more} longer)" if more else ""
            click.echo(f"  [{violation.severity.value}] {name}: {calls}{also}")
    else:
        click.echo(
            f"No violation within {depth} calls; the planted bugs need longer sequences "
            "(try a larger --max-depth)."
        )
    click.echo("")
    click.echo(
        textwrap.fill(
            "To test your own API: run `venomqa init` in your project, describe its actions and "
            "invariants, then `venomqa run`.",
            width=_WIDTH,
        )
    )
