"""``explore`` and ``explore_graph``: set the world up, run the engine, always clean up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from functools import partial
from typing import Unpack

from venomqa.errors import InfrastructureError, RunInterrupted, UsageError
from venomqa.explorer._engine import Engine
from venomqa.explorer._executor import Executor, Inline
from venomqa.explorer._moves import Move, moves_from_actions, moves_from_graph, unique_invariants
from venomqa.explorer._parallel import Exploration, LocalHost, WorkerHost, Workers
from venomqa.explorer._work import WorldRunner
from venomqa.explorer.options import ExploreKwargs, ExploreOptions
from venomqa.explorer.search import Strategy
from venomqa.models.actions import Action, Invariant
from venomqa.models.graph import NodeChecker, StateGraph
from venomqa.models.results import ExplorationResult
from venomqa.world import World


def explore(
    world: World,
    actions: Iterable[Action],
    invariants: Iterable[Invariant] = (),
    *,
    observers: Sequence[object] = (),
    manage_world: bool = True,
    more_worlds: Sequence[World | WorkerHost] = (),
    **options: Unpack[ExploreKwargs],
) -> ExplorationResult:
    """Explore every state reachable with ``actions`` and check ``invariants`` in each.

    Options (``ExploreOptions``, the same names as venomqa.yaml's ``explore:`` section):
    ``strategy`` ``"bfs"`` (default; every problem comes with a shortest path), ``"dfs"``,
    ``"random"`` (seeded by ``seed``; paths are shrunk unless ``shrink=False``) or one a plugin
    registers. Limits: ``max_depth`` (actions per path), ``max_states`` (distinct states),
    ``max_transitions`` (actions fired, replays excluded), ``time_budget_s`` (wall clock);
    ``stop_on_first`` stops at the first problem. ``result.stop_reason`` says which ended it.

    States are abstract: values the API makes up on every run (timestamps, random ids, salted
    hashes, tokens) do not split states. Declare them with ``ignore={"db": ["posts.created_at"]}``
    and ``ignore_context=["token"]``, or let the explorer learn them (``learn=True``, the
    default; ``result.volatile`` lists what it used, ``result.learned`` what it learned).

    Besides invariants, an action that raises is reported as ``action_error``, a 5xx answer as
    ``server_error`` (``check_server_errors=False`` turns that off), and calls that reach
    different states on two runs with no volatile field to explain it as ``nondeterminism``;
    the run goes on. InfrastructureErrors (API unreachable, store failure) end it: the stores
    are rolled back and the error propagates, its ``partial`` holding the result found so far
    (stop reason ``aborted``). ``verify_rollback=True`` checks after every rollback that each
    store holds exactly what it held at the checkpoint (a self-check of the store adapters):
    drift is a ``rollback_drift`` finding and aborts the run with a RollbackDriftError.
    ``observers`` get ``on_progress(Progress)`` and ``on_violation(Violation)``.

    ``more_worlds``: parallel workers. Each is a World over its own copy of the stores and its
    own API process (``venomqa run --workers N`` builds them: ``venomqa.parallel``); every
    world gets a thread of its own, the search is shared, and the result is the one ``world``
    alone gives (the same states, paths and findings), in less time when the API is slow. Each
    extra world is set up, rolled back and torn down like ``world`` (``manage_world`` aside).

    With ``manage_world=True`` the world is set up first and torn down at the end; in every case
    the stores and the context are rolled back to the state they had when ``explore`` started,
    also when the run is interrupted: Ctrl-C (or SIGTERM/SIGHUP under the CLI) raises
    ``RunInterrupted`` after the cleanup, its ``partial`` holding the result found so far.
    """
    explore_options = _options(options, "explore")
    moves = moves_from_actions(actions)
    return _run(
        world,
        moves,
        unique_invariants(invariants),
        explore_options,
        observers,
        manage_world,
        more_worlds=more_worlds,
    )


def explore_graph(
    world: World,
    graph: StateGraph,
    invariants: Iterable[Invariant] = (),
    *,
    observers: Sequence[object] = (),
    manage_world: bool = True,
    more_worlds: Sequence[World | WorkerHost] = (),
    **options: Unpack[ExploreKwargs],
) -> ExplorationResult:
    """Explore a StateGraph on the same engine as ``explore`` (same keyword options).

    Each edge is an action enabled only while the exploration is in the edge's source node (the
    current node is part of the state). After an edge the target node's checker must hold, else
    a ``node_check`` violation names the edge and the node; the graph's invariants (plus any
    given here) are checked in every state.
    """
    explore_options = _options(options, "explore_graph")
    moves = moves_from_graph(graph)
    checks = unique_invariants([*graph.invariants, *invariants])
    start = graph.initial_node
    return _run(
        world,
        moves,
        checks,
        explore_options,
        observers,
        manage_world,
        name=f"graph {graph.name}",
        more_worlds=more_worlds,
        root_node=start,
        root_checker=graph.nodes[start].checker,
    )


def strategy_named(name: str) -> type[Strategy]:
    """The registered strategy class called ``name`` (UsageError listing the known ones)."""
    from venomqa.plugins import strategies

    known = strategies()
    strategy = known.get(name)
    if strategy is None:
        raise UsageError(
            f"unknown exploration strategy {name!r}; use one of {', '.join(sorted(known))}"
        )
    return strategy


def _options(options: ExploreKwargs, caller: str) -> ExploreOptions:
    unknown = sorted(set(options) - set(ExploreOptions.names()))
    if unknown:
        raise UsageError(
            f"{caller}() got unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(ExploreOptions.names())}"
        )
    return ExploreOptions(**options)


def _run(
    world: World,
    moves: list[Move],
    invariants: list[Invariant],
    options: ExploreOptions,
    observers: Sequence[object],
    manage_world: bool,
    *,
    name: str = "actions",
    more_worlds: Sequence[World | WorkerHost] = (),
    root_node: str | None = None,
    root_checker: NodeChecker | None = None,
) -> ExplorationResult:
    strategy = strategy_named(options.strategy)
    if options.workers > 1 and len(more_worlds) != options.workers - 1:
        raise UsageError(
            f"workers={options.workers} needs {options.workers - 1} more worlds "
            f"(more_worlds=[...], each over its own copy of the stores and API), "
            f"got {len(more_worlds)}"
        )
    engine: Engine | None = None
    result: ExplorationResult | None = None
    verifying, world.verify_rollback = world.verify_rollback, options.verify_rollback
    try:
        with world.session(manage=manage_world) as root, ExitStack() as stack:
            observations = world.observe()
            runner = WorldRunner(
                world, moves, invariants, root, root_node, root_checker=root_checker
            )
            executor: Executor
            if more_worlds:
                exploration = Exploration(name, moves, invariants, options, root_node, root_checker)
                hosts = [LocalHost(w) if isinstance(w, World) else w for w in more_worlds]
                extra = [partial(host.prepare, exploration) for host in hosts]
                executor = Workers([lambda _stack: runner, *extra])
                stack.callback(executor.close)
                executor.open()
            else:
                executor = Inline(runner)
            engine = Engine(
                executor,
                moves,
                invariants,
                options,
                strategy,
                stores_declared=bool(world.stores),
                observers=observers,
                root_node=root_node,
                root_checker=root_checker,
            )
            try:
                result = engine.run()
            finally:
                engine.release_checkpoints()
            result.observations = observations
            result.target = getattr(world.api, "base_url", None) or None
    except InfrastructureError as failure:  # the clean-up failed: still hand over what was found
        if failure.partial is None:
            failure.partial = result
        raise
    finally:
        world.verify_rollback = verifying
    assert engine is not None and result is not None
    # The stores are rolled back (and checked) now: say why the run stopped, with its results.
    if engine.interruption is not None:
        restored = tuple(world.stores)  # the session rolled them back and checked them
        raise RunInterrupted.of(engine.interruption, result, restored) from engine.interruption
    if engine.failure is not None:
        engine.failure.partial = result
        raise engine.failure
    return result
