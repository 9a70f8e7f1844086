"""run_session: one run of VenomQA against a live API, shared by ``venomqa run`` and ``demo``.

It builds the client and the world, checks the target answers, explores the actions and state
graphs, runs the journeys, and hands the RunReport to every reporter. Stores are always rolled
back and torn down, also on errors and Ctrl-C. An interrupted run (``RunInterrupted``: Ctrl-C or
a signal) or an aborted one (the API or a store failed: stop reason ``aborted``) still writes
every report, with what it found until then, before the error goes on up. ``announce_reports``
prints where each report file went.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from venomqa.errors import InfrastructureError, RunInterrupted
from venomqa.interrupts import signal_name
from venomqa.models import (
    Action,
    ExplorationResult,
    Invariant,
    Journey,
    JourneyResult,
    RunReport,
    StateGraph,
)
from venomqa.ports.reporter import ReporterPort
from venomqa.ports.store import StorePort

if TYPE_CHECKING:
    import httpx

    from venomqa.config.model import ClientKwargs
    from venomqa.explorer import WorkerHost
    from venomqa.explorer.options import ExploreKwargs
    from venomqa.world import World


def run_session(
    *,
    target: str,
    actions: list[Action],
    invariants: list[Invariant],
    journeys: list[Journey],
    graphs: list[StateGraph],
    stores: Mapping[str, StorePort],
    explore_options: ExploreKwargs,
    reporters: list[ReporterPort],
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    timeout: float | None = None,
    secrets: Iterable[str] = (),
    client_settings: ClientKwargs | None = None,
    more_worlds: Sequence[World | WorkerHost] = (),
) -> RunReport:
    """Explore ``actions`` (and each graph), run ``journeys``, report; returns the RunReport.

    Raises TargetUnreachableError (exit 3) before touching any store if ``target`` does not
    answer. ``explore_options`` are ``explore()`` keyword arguments (strategy, max_depth, ...).
    ``secrets`` are values to mask in every record and report (beyond those of ``auth`` and
    credential-named ``headers``, which are masked anyway). ``client_settings`` are the
    ``client:`` section's retries and TLS settings (``ClientConfig.client_kwargs()``).
    ``more_worlds`` are parallel workers' worlds (``venomqa.parallel.worker_worlds``): the
    explorations use them beside the run's own; journeys run in the run's own world.
    """
    from venomqa.client import Client
    from venomqa.world import World

    settings = client_settings or {}
    if timeout is None:
        client = Client(target, headers=dict(headers or {}), auth=auth, **settings)
    else:
        client = Client(target, headers=dict(headers or {}), auth=auth, timeout=timeout, **settings)
    for secret in secrets:
        client.secrets.register(secret)
    stopped: RunInterrupted | InfrastructureError | None = None
    exploration: ExplorationResult | None = None
    journey_results: list[JourneyResult] = []
    try:
        client.check_reachable()
        world = World(client, stores)
        try:
            exploration = _explore(
                world, actions, invariants, graphs, explore_options, reporters, more_worlds
            )
            _run_journeys(world, journeys, invariants, reporters, journey_results)
        except (RunInterrupted, InfrastructureError) as stop:  # the stores are rolled back
            stopped = stop
            if isinstance(stop.partial, ExplorationResult):
                exploration = stop.partial
    finally:
        client.close()
    run = RunReport(exploration=exploration, journeys=journey_results, target=target)
    if run.exploration is not None:
        run.exploration.target = target
    if stopped is not None:  # report what was found until then, then let the error go on up
        run.stopped = _why_stopped(stopped)
    for reporter in reporters:
        reporter.report(run)
    if stopped is not None:
        raise stopped
    return run


def _explore(
    world: World,
    actions: list[Action],
    invariants: list[Invariant],
    graphs: list[StateGraph],
    options: ExploreKwargs,
    observers: list[ReporterPort],
    more_worlds: Sequence[World | WorkerHost],
) -> ExplorationResult | None:
    if not actions and not graphs:
        return None
    from venomqa.explorer import explore, explore_graph

    results: list[ExplorationResult] = []
    try:
        if actions:
            results.append(
                explore(
                    world,
                    actions,
                    invariants,
                    observers=observers,
                    more_worlds=more_worlds,
                    **options,
                )
            )
        for graph in graphs:
            results.append(
                explore_graph(world, graph, observers=observers, more_worlds=more_worlds, **options)
            )
    except (RunInterrupted, InfrastructureError) as stop:  # keep what was explored, and the part
        if isinstance(stop.partial, ExplorationResult):
            results.append(stop.partial)
        stop.partial = merge_explorations(results) if results else None
        raise
    return merge_explorations(results)


def _run_journeys(
    world: World,
    journeys: list[Journey],
    invariants: list[Invariant],
    observers: list[ReporterPort],
    done: list[JourneyResult],
) -> None:
    """Run each journey, appending its result to ``done`` (so a stopped run keeps the ones
    already run)."""
    if not journeys:
        return
    from venomqa.runner import run_journey

    # run_journey sets the stores up, and rolls them back and tears them down, per journey.
    for journey in journeys:
        done.append(run_journey(world, journey, invariants, observers=observers))


def _why_stopped(stop: RunInterrupted | InfrastructureError) -> str:
    """``interrupted by SIGTERM`` or ``aborted: <what failed>``."""
    if isinstance(stop, RunInterrupted):
        return f"interrupted by {signal_name(stop.signum)}"
    return f"aborted: {stop}"


def merge_explorations(results: list[ExplorationResult]) -> ExplorationResult:
    """Combine several explorations (the actions' and each graph's) into one result."""
    if len(results) == 1:
        return results[0]
    merged = ExplorationResult(strategy=results[0].strategy, target=results[0].target)
    never_enabled: list[str] = []
    for result in results:
        merged.states += result.states
        merged.transitions += result.transitions
        merged.violations.extend(result.violations)
        for name, count in result.actions.items():
            merged.actions[name] = merged.actions.get(name, 0) + count
        never_enabled.extend(n for n in result.never_enabled if n not in never_enabled)
        merged.duration_s += result.duration_s
        merged.max_depth_reached = max(merged.max_depth_reached, result.max_depth_reached)
        merged.state_edges.extend(result.state_edges)
        merged.invariants.extend(i for i in result.invariants if i not in merged.invariants)
        merged.observations.update(result.observations)
        merged.origins.update(result.origins)
        if result.stop_reason != "exhausted":
            merged.stop_reason = result.stop_reason
            merged.stop_detail = result.stop_detail or merged.stop_detail
    merged.initial_state = results[0].initial_state
    merged.never_enabled = never_enabled
    return merged


def written_reports(reporters: Iterable[ReporterPort]) -> list[tuple[str, str]]:
    """(format, path) of each report written to a file (not those sent to standard output)."""
    written: list[tuple[str, str]] = []
    for reporter in reporters:
        path = getattr(reporter, "path", None)
        if path is None or os.fspath(path) in ("", "-"):
            continue
        if os.path.exists(path):
            written.append((reporter.name, os.fspath(path)))
    return written


def announce_reports(reporters: Iterable[ReporterPort], *, quiet: bool = False) -> None:
    """Print ``report written: html -> venomqa-report.html`` for each report file. The lines go
    to stderr when the console is off (``quiet``) or a report went to stdout, so that stdout
    holds the report alone; otherwise to stdout, after the summary."""
    reporters = list(reporters)
    written = written_reports(reporters)
    if not written:
        return
    to_stdout = any(_writes_to_stdout(reporter) for reporter in reporters)
    stream = sys.stderr if quiet or to_stdout else sys.stdout
    for fmt, path in written:
        stream.write(f"report written: {fmt} -> {path}\n")
    stream.flush()


def _writes_to_stdout(reporter: ReporterPort) -> bool:
    """A report (not the console) that goes to standard output: its ``path`` is None or ``-``."""
    if reporter.name == "console" or not hasattr(reporter, "path"):
        return False
    path = getattr(reporter, "path", "")
    return path is None or os.fspath(path) in ("", "-")
