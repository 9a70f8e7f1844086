"""``venomqa demo``: explore a bundled API and show the seeded bugs VenomQA finds.

    venomqa demo [--api shop|blog] [--max-depth N] [--report FORMAT:PATH]... [--keep]

Needs nothing but venomqa-core. It creates a SQLite file in a temporary folder, starts the API in
a separate process on a free loopback port, and runs the real engine on it with the built-in
SQLite store. Everything it says about findings comes from that run. ``shop``
(``venomqa.demo.server``, the default) is a small order API; ``blog`` (``venomqa.demo.blog``)
stores what real APIs store (random ids, timestamps, salted hashes, JWTs), so the run also shows
the volatile values VenomQA learned and the ``ignore:`` lines that pin them.
Exit code: 0 once the demo has run (whether or not it found anything), 2 for bad options, 3 when
the shop or its database fails.
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import click

from venomqa.cli.catalog import short_help
from venomqa.errors import VenomQAError

if TYPE_CHECKING:
    from venomqa.models import Action, Invariant, RunReport
    from venomqa.ports.reporter import ReporterPort
    from venomqa.testing.server import ApiProcess

#: api -> (default max depth, what it is, what it keeps its data in).
APIS = {
    "shop": (4, "a small shop", "its orders"),
    "blog": (
        6,
        "a blog that stores uuid keys, timestamps, salted password hashes and hands out JWTs",
        "its users, sessions, posts and comments",
    ),
}
_WIDTH = 96


@click.command("demo", short_help=short_help("demo"))
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT:PATH",
    help="Also write a report (repeatable), e.g. json:demo.json; no PATH = venomqa-report.EXT.",
)
@click.option(
    "--api",
    type=click.Choice(sorted(APIS)),
    default="shop",
    show_default=True,
    help="Which bundled API: a small shop, or a blog storing random ids, timestamps and JWTs.",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=1),
    default=None,
    help="Longest sequence of calls to explore [default: 4 for the shop, 6 for the blog].",
)
@click.option("--keep", is_flag=True, help="Keep the demo's SQLite file and print where it is.")
def demo(reports: tuple[str, ...], api: str, max_depth: int | None, keep: bool) -> None:
    """Explore a small bundled API and show the sequence bugs VenomQA finds in it."""
    try:
        report_objects = _build_reporters(reports)
        _run_demo(api, report_objects, max_depth or APIS[api][0], keep)
    except VenomQAError as exc:  # as the `venomqa` group does, also when run on its own
        click.echo(f"Error: {exc}", err=True)
        raise click.exceptions.Exit(exc.exit_code) from exc


def _run_demo(api: str, reporters: list[ReporterPort], max_depth: int, keep: bool) -> None:
    from venomqa.reporters.console import ConsoleReporter
    from venomqa.runtime import announce_reports, run_session
    from venomqa.stores.sqlite import SQLiteStore

    folder = Path(tempfile.mkdtemp(prefix="venomqa-demo-"))
    db_path = folder / f"{api}.db"
    try:
        server_process, (actions, invariants) = _start(api, db_path)
        with server_process as server:
            _intro(api, server.url, db_path, actions, invariants, max_depth)
            run = run_session(
                target=server.url,
                actions=list(actions),
                invariants=list(invariants),
                journeys=[],
                graphs=[],
                stores={"db": SQLiteStore(str(db_path))},
                explore_options={"strategy": "bfs", "max_depth": max_depth},
                reporters=[ConsoleReporter(), *reporters],
            )
        _outro(run, max_depth)
    finally:
        announce_reports(reporters)
        if keep:
            click.echo(f"The demo's SQLite file is kept at {db_path}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _start(api: str, db_path: Path) -> tuple[ApiProcess, tuple[list[Action], list[Invariant]]]:
    """The API's running server process (a context manager that stops it) and its actions and
    invariants."""
    if api == "blog":
        from venomqa.demo.blog import checks as blog_checks
        from venomqa.demo.blog import start_blog_server

        return start_blog_server(f"sqlite:{db_path}"), (
            blog_checks.ACTIONS,
            blog_checks.INVARIANTS,
        )
    from venomqa.demo import checks, init_schema, start_demo_server

    init_schema(str(db_path))
    return start_demo_server(db_path), (checks.ACTIONS, checks.INVARIANTS)


def _build_reporters(specs: tuple[str, ...]) -> list[ReporterPort]:
    """Reporter objects for ``FORMAT:PATH`` options, parsed exactly as ``venomqa run`` does."""
    if not specs:
        return []
    from venomqa.cli.run import parse_report_spec
    from venomqa.plugins import reporters as registered_reporters

    known = registered_reporters()
    configs = [parse_report_spec(spec, known) for spec in specs]
    return [known[config.format](path=config.path) for config in configs]


def _intro(
    api: str,
    url: str,
    db_path: Path,
    actions: list[Action],
    invariants: list[Invariant],
    depth: int,
) -> None:
    _, what, data = APIS[api]
    lines = [
        "VenomQA demo",
        f"API under test: {what}, served over HTTP at {url} by a separate process, keeping "
        f"{data} in the SQLite file {db_path}. A few bugs are planted in it that only show "
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
    """After the console summary (which lists each problem with its shortest call sequence)."""
    click.echo("")
    exploration = run.exploration
    if exploration is not None:
        click.echo(
            f"Explored {exploration.states} states through {exploration.transitions} calls "
            f"in {exploration.duration_s:.2f}s."
        )
    if not run.violations:
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
