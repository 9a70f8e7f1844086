"""``explore`` and ``explore_graph``: set the world up, run the engine, always clean up."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from venomqa.errors import StoreError, UsageError
from venomqa.explorer._engine import Engine
from venomqa.explorer._moves import (
    Move,
    moves_from_actions,
    moves_from_graph,
    unique_invariants,
)
from venomqa.explorer._options import ExploreOptions
from venomqa.models.actions import Action, Invariant
from venomqa.models.graph import StateGraph
from venomqa.models.results import ExplorationResult
from venomqa.world import World, WorldCheckpoint


def explore(
    world: World,
    actions: Iterable[Action],
    invariants: Iterable[Invariant] = (),
    *,
    strategy: str = "bfs",
    max_depth: int = 8,
    max_states: int = 10_000,
    max_transitions: int | None = None,
    time_budget_s: float | None = None,
    stop_on_first: bool = False,
    seed: int = 0,
    observers: Sequence[Any] = (),
    check_server_errors: bool = True,
    shrink: bool = True,
    manage_world: bool = True,
) -> ExplorationResult:
    """Explore every state reachable with ``actions`` and check ``invariants`` in each.

    Strategies: ``"bfs"`` (default; every violation comes with a shortest path), ``"dfs"`` and
    ``"random"`` (seeded by ``seed``; violating paths are shrunk before they are reported unless
    ``shrink=False``). Limits: ``max_depth`` (actions per path), ``max_states`` (distinct states),
    ``max_transitions`` (actions fired, replays excluded), ``time_budget_s`` (wall clock);
    ``stop_on_first`` stops at the first violation. ``result.stop_reason`` says which ended it:
    exhausted, max_depth (everything within the depth was explored, deeper states exist),
    max_states, max_transitions, time_budget, stop_on_first, or stalled (random walks stopped
    finding anything new).

    Besides invariants, an action that raises is reported as ``action_error`` and a 5xx answer as
    ``server_error`` (turn that off with ``check_server_errors=False``); the run goes on.
    InfrastructureErrors (API unreachable, store failure, nondeterministic replay) end it and
    propagate. ``observers`` get ``on_progress(Progress)`` and ``on_violation(Violation)``.

    With ``manage_world=True`` the world is set up first and torn down at the end; in every case
    the stores and the context are rolled back to the state they had when ``explore`` started,
    also when the run is interrupted (Ctrl-C re-raises after the cleanup).
    """
    options = ExploreOptions(
        strategy=strategy,
        max_depth=max_depth,
        max_states=max_states,
        max_transitions=max_transitions,
        time_budget_s=time_budget_s,
        stop_on_first=stop_on_first,
        seed=seed,
        observers=tuple(observers),
        check_server_errors=check_server_errors,
        shrink=shrink,
    )
    moves = moves_from_actions(actions)
    return _run(world, moves, unique_invariants(invariants), options, manage_world)


def explore_graph(
    world: World,
    graph: StateGraph,
    invariants: Iterable[Invariant] = (),
    **options: Any,
) -> ExplorationResult:
    """Explore a StateGraph on the same engine as ``explore`` (same keyword options).

    Each edge is an action enabled only while the exploration is in the edge's source node (the
    current node is part of the state). After an edge the target node's checker must hold, else
    a ``node_check`` violation names the edge and the node; the graph's invariants (plus any
    given here) are checked in every state.
    """
    manage_world = bool(options.pop("manage_world", True))
    try:
        explore_options = ExploreOptions(
            **{**options, "observers": tuple(options.get("observers", ()))}
        )
    except TypeError as exc:
        raise UsageError(f"explore_graph: {exc}") from exc
    moves = moves_from_graph(graph)
    checks = unique_invariants([*graph.invariants, *invariants])
    start = graph.initial_node
    return _run(
        world,
        moves,
        checks,
        explore_options,
        manage_world,
        root_node=start,
        root_checker=graph.nodes[start].checker,
    )


def _run(
    world: World,
    moves: list[Move],
    invariants: list[Invariant],
    options: ExploreOptions,
    manage_world: bool,
    *,
    root_node: str | None = None,
    root_checker: Callable[..., Any] | None = None,
) -> ExplorationResult:
    if manage_world:
        world.setup()
    engine: Engine | None = None
    root: WorldCheckpoint | None = None
    try:
        root = world.checkpoint()
        observations = world.observe()
        engine = Engine(
            world,
            moves,
            invariants,
            options,
            root,
            root_node=root_node,
            root_checker=root_checker,
        )
        result = engine.run()
    except BaseException:
        _clean_up(world, root, engine, manage_world, quiet=True)
        raise
    _clean_up(world, root, engine, manage_world, quiet=False)
    result.observations = observations
    result.target = getattr(world.api, "base_url", None) or None
    return result


def _clean_up(
    world: World,
    root: WorldCheckpoint | None,
    engine: Engine | None,
    manage_world: bool,
    *,
    quiet: bool,
) -> None:
    """Roll back to the root checkpoint and release it, then tear down when we set up. With
    ``quiet`` (an error is already propagating) cleanup failures are swallowed."""
    errors: list[str] = []
    if root is not None:
        try:
            if engine is not None and engine.started:
                engine.trail.rollback_to_root()  # releases the checkpoints above the root
            else:
                world.rollback(root)
            world.release(root)
        except Exception as exc:
            errors.append(f"rolling back to the initial state failed: {exc}")
    if manage_world:
        errors.extend(world.teardown())
    if errors and not quiet:
        raise StoreError("; ".join(errors))
