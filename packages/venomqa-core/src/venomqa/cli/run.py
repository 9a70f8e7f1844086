"""``venomqa run``: load venomqa.yaml, explore the API, run journeys, write reports.

Command-line options override the file; ``--report FORMAT:PATH`` adds to the file's reports
(``--report FORMAT`` alone writes ``venomqa-report.EXT`` in the current folder, ``FORMAT:-``
writes to standard output). The console ends with where each report was written.
With ``target: {url: ..., command: ...}`` the API is started first (after the stores are built,
before they are set up, so the stores capture changes on the tables the API created when it
started) and stopped after the stores were rolled back and torn down, also on errors and signals;
``--target URL`` replaces the whole ``target:`` and nothing is started.
Exit code: 0 clean, 1 violations (or a failed journey), 2 usage/config, 3 API/store unreachable
(or the API's command failed to start).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import click

from venomqa.cli import exit_code_for
from venomqa.cli.catalog import short_help
from venomqa.cli.options import config_option
from venomqa.config import (
    Config,
    ReportConfig,
    default_report_path,
    load_config,
)
from venomqa.config.stores import Registered
from venomqa.errors import InfrastructureError, StoreError, StoreUnreachableError, UsageError
from venomqa.ports.backend import ExecutionBackend
from venomqa.ports.reporter import ReporterPort


@click.command(short_help=short_help("run"))
@config_option("The configuration file.")
@click.option(
    "--target",
    metavar="URL",
    help="Base URL of the API (replaces `target`; a `target.command` is then not started).",
)
@click.option(
    "--strategy", metavar="NAME", help="Search strategy: bfs, dfs, random, or a plugin's."
)
@click.option("--max-depth", type=click.IntRange(min=0), help="Longest path of actions.")
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many states.")
@click.option(
    "--max-transitions", type=click.IntRange(min=0), help="Stop after this many actions run."
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop exploring after this wall-clock time.",
)
@click.option("--stop-on-first", is_flag=True, default=False, help="Stop at the first violation.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the random strategy.")
@click.option(
    "--verify-rollback",
    is_flag=True,
    default=False,
    help="Self-check: after every rollback, check the stores are as at the checkpoint.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Explore with N workers, each with its own copy of the stores and API process "
    "(needs `target.command`; overrides `explore.workers`).",
)
@click.option(
    "--backend",
    metavar="NAME",
    help="Where workers 2..N run: local (threads of this process, the default) or a plugin's "
    "(ray).",
)
@click.option(
    "--address",
    metavar="ADDRESS",
    help="The backend's cluster address (ray: ray://HOST:PORT, HOST:PORT or auto).",
)
@click.option(
    "--report",
    "report_specs",
    multiple=True,
    metavar="FORMAT:PATH",
    help=(
        "Also write a report (repeatable), e.g. json:reports/venomqa.json; no PATH = "
        "venomqa-report.EXT, PATH - = stdout."
    ),
)
@click.option("--no-console", is_flag=True, help="No console progress or summary.")
@click.option("-q", "--quiet", is_flag=True, help="Console shows only the verdict.")
@click.pass_context
def run(
    ctx: click.Context,
    config_path: str,
    target: str | None,
    strategy: str | None,
    max_depth: int | None,
    max_states: int | None,
    max_transitions: int | None,
    time_budget: float | None,
    stop_on_first: bool,
    seed: int | None,
    verify_rollback: bool,
    workers: int | None,
    backend: str | None,
    address: str | None,
    report_specs: Sequence[str],
    no_console: bool,
    quiet: bool,
) -> None:
    """Explore the API and run journeys as the configuration file says."""
    if strategy is not None:
        from venomqa.plugins import strategies

        known = strategies()
        if strategy not in known:
            raise UsageError(
                f"--strategy {strategy}: unknown strategy; use one of {', '.join(sorted(known))}"
            )
    explore_overrides = {
        key: value
        for key, value in {
            "strategy": strategy,
            "max_depth": max_depth,
            "max_states": max_states,
            "max_transitions": max_transitions,
            "time_budget_s": time_budget,
            "stop_on_first": True if stop_on_first else None,
            "seed": seed,
            "verify_rollback": True if verify_rollback else None,
            "workers": workers,
        }.items()
        if value is not None
    }
    overrides: dict[str, object] = {"explore": explore_overrides} if explore_overrides else {}
    if target is not None:
        overrides["target"] = target
    config = load_config(config_path, overrides=overrides)

    from venomqa.plugins import configure, reporters

    known_reporters = reporters()
    extra_reports = [parse_report_spec(spec, known_reporters) for spec in report_specs]
    configure(config)

    from venomqa.discovery import discover_config

    found = discover_config(config)
    if not (found.actions or found.graphs or found.journeys):
        modules = ", ".join(config.actions) or "(none: add `actions: [module]`)"
        raise UsageError(
            f"{config.path}: nothing to run: the modules in `actions` ({modules}) define no "
            "@action functions, StateGraphs or Journeys"
        )
    active = build_reporters(config, extra_reports, known_reporters)
    if not no_console:
        from venomqa.reporters.console import ConsoleReporter

        active.insert(0, ConsoleReporter(quiet=quiet))

    from venomqa.config import build_stores
    from venomqa.parallel import check_parallel, worker_hosts
    from venomqa.runtime import announce_reports, run_session

    stores = build_stores(config)
    check_parallel(config, stores, config.explore.workers)
    execution = build_backend(backend, address)
    try:
        with (
            worker_hosts(
                config,
                stores,
                config.explore.workers,
                backend=execution,
                overrides=overrides,
            ) as more_worlds,
            target_url(config, announce=not (no_console or quiet)) as url,
        ):
            report = run_session(
                target=url,
                actions=found.actions,
                invariants=found.invariants,
                journeys=found.journeys,
                graphs=found.graphs,
                stores=stores,
                explore_options=config.explore.as_kwargs(),
                reporters=active,
                headers=config.headers,
                auth=config.client_auth(),
                timeout=config.timeout,
                secrets=config.secrets,
                client_settings=config.client.client_kwargs(),
                more_worlds=more_worlds,
            )
    except StoreError as exc:
        located = _with_store_location(exc, config)
        if located is exc:
            raise
        raise located from exc
    finally:  # also when the run was stopped: the reports were written all the same
        announce_reports(active, quiet=no_console)
    ctx.exit(exit_code_for(report))


@contextmanager
def target_url(config: Config, *, announce: bool = False) -> Iterator[str]:
    """The API's URL for the duration of the block: ``config.target``, or, when the file says
    how to start the API (``config.launch``), the URL of the API started for the block and
    stopped after it (also on errors and signals). If the block fails on the API (an
    InfrastructureError) after the API's process ended, what became of it is printed first.
    ``announce`` prints one line on stderr once the API is ready."""
    if config.launch is None:
        yield config.target
        return
    import time

    from venomqa.target import start_target

    started = time.monotonic()
    with start_target(config.launch, stores=config.store_options()) as running:
        if announce:
            click.echo(
                f"api: started `{running.launch.describe()}` (pid {running.pid}), ready at "
                f"{running.url} after {time.monotonic() - started:.1f}s",
                err=True,
            )
        try:
            yield running.url
        except InfrastructureError:
            if not running.alive():
                click.echo(f"note: {running.stopped_message()}", err=True)
            raise


def build_backend(name: str | None, address: str | None) -> ExecutionBackend | None:
    """The ``--backend`` (with ``--address``), or None for the local one; an unknown name is a
    UsageError listing the known ones."""
    if name is None and address is None:
        return None
    from venomqa.plugins import backends

    known = backends()
    chosen = name or "local"
    cls = known.get(chosen)
    if cls is None:
        raise UsageError(
            f"--backend {chosen}: unknown backend; use one of {', '.join(sorted(known))} "
            "(more come with plugins: pip install venomqa-ray)"
        )
    options = {} if address is None else {"address": address}
    try:
        backend = cls(**options)
    except TypeError as exc:
        raise UsageError(f"--backend {chosen} does not take --address: {exc}") from exc
    assert isinstance(backend, ExecutionBackend)
    return backend


def parse_report_spec(spec: str, known: Mapping[str, type]) -> ReportConfig:
    """``FORMAT:PATH`` -> ReportConfig; ``FORMAT`` alone -> the format's default file
    (``venomqa-report.html``), ``FORMAT:-`` -> standard output; unknown FORMAT -> exit 2."""
    fmt, _, path = spec.partition(":")
    fmt = fmt.strip()
    if fmt not in known:
        raise UsageError(
            f"--report {spec}: unknown report format {fmt!r}; known formats: "
            f"{', '.join(sorted(known)) or 'none'} (expected FORMAT:PATH)"
        )
    path = path.strip()
    if not path:
        path = default_report_path(fmt, known[fmt])
    return ReportConfig(format=fmt, path=path)


def build_reporters(
    config: Config, extra: Sequence[ReportConfig], known: Mapping[str, type[ReporterPort]]
) -> list[ReporterPort]:
    """Instantiate the file's reports, then the command line's, as ``cls(path=..., **options)``."""
    entries = [(f"reports[{i}]", r) for i, r in enumerate(config.reports)]
    entries += [(f"--report {r.format}:{r.path or ''}", r) for r in extra]
    found = Registered("report format", "formats", "format", known, str(config.path))
    return [
        found.build(entry.format, key, entry.options, path=entry.path) for key, entry in entries
    ]


def _with_store_location(exc: StoreError, config: Config) -> StoreError:
    """Add where the failing store lives (the World names errors by the store's key)."""
    from venomqa.config import describe_store

    entry = config.stores.get(exc.store or "")
    if entry is None or isinstance(exc, StoreUnreachableError):  # that one says where already
        return exc
    wrapped = type(exc)(f"{exc} (stores.{entry.name} in {config.path}: {describe_store(entry)})")
    wrapped.store = exc.store
    return wrapped
