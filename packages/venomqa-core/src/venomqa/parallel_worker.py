"""One parallel worker built from a ``WorkerRecipe``, in whatever process runs it.

``open_worker_world`` builds what a worker explores with: the run's venomqa.yaml loaded with the
command line's overrides, each store built from the worker's copy's options, the API started from
``target.command`` with those options in ``{stores.KEY.OPTION}``, a client and a World over them.
The local backend calls it in the VenomQA process; a backend that runs workers elsewhere (Ray
actors) wraps a ``WorkerProcess`` there: it also finds the actions (the same way the run does, so
move numbers agree), runs each exploration's session (set up, rolled back, torn down) and answers
the coordinator's calls with plain data that pickles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from venomqa.ports.backend import WorkerRecipe

if TYPE_CHECKING:
    from venomqa.config import Config
    from venomqa.discovery import Discovered
    from venomqa.explorer import Exploration, ExploreOptions, Fired, FireTask, Judged, Runner
    from venomqa.state.view import WorldView
    from venomqa.world import World


def open_worker_world(recipe: WorkerRecipe, stack: ExitStack) -> tuple[Config, World]:
    """The config and World of the worker ``recipe`` describes; its API process and client are
    closed when ``stack`` closes."""
    from venomqa.config import load_config
    from venomqa.config.stores import build_store
    from venomqa.target import start_target
    from venomqa.world import World

    config = load_config(recipe.config_path, overrides=dict(recipe.overrides))
    if config.launch is None:
        raise ValueError(f"{config.path}: a parallel worker needs `target.command`")
    options = {key: dict(recipe.stores.get(key, {})) for key in config.stores}
    stores = {key: build_store(config, key, options[key]) for key in config.stores}
    target = stack.enter_context(start_target(config.launch, stores=options, label=recipe.label))
    client = config.build_client(target.url)
    stack.callback(client.close)
    return config, World(client, stores)


def exploration_named(found: Discovered, name: str, options: ExploreOptions) -> Exploration:
    """The exploration called ``name`` (``actions`` or ``graph NAME``) of a run that discovered
    ``found``: the same moves, in the same order, as the run's own explorer builds."""
    from venomqa.explorer import Exploration
    from venomqa.explorer._moves import moves_from_actions, moves_from_graph, unique_invariants

    if name == "actions":
        return Exploration(
            name, moves_from_actions(found.actions), unique_invariants(found.invariants), options
        )
    for graph in found.graphs:
        if name == f"graph {graph.name}":
            start = graph.initial_node
            return Exploration(
                name,
                moves_from_graph(graph),
                unique_invariants(graph.invariants),
                options,
                start,
                graph.nodes[start].checker,
            )
    raise ValueError(f"no exploration named {name!r} in this run")


class WorkerProcess:
    """A worker for a backend that runs it in another process (see the module docstring).

    ``begin(name, options)`` starts an exploration (sets the stores up), then the Runner calls
    answer with plain data, ``end()`` closes the exploration (rolls back, tears down), and
    ``close()`` stops the API. Every method may be called from any one thread at a time.
    """

    def __init__(self, recipe: WorkerRecipe) -> None:
        from venomqa.discovery import discover_config
        from venomqa.plugins import configure

        self.recipe = recipe
        self._stack = ExitStack()
        try:
            self.config, self.world = open_worker_world(recipe, self._stack)
            configure(self.config)
            self._found = discover_config(self.config)
        except BaseException:
            self._stack.close()
            raise
        self._session: ExitStack | None = None
        self._runner: Runner | None = None
        self._ended_calls = 0

    @property
    def calls(self) -> int:
        """Actions run in this worker's world, replays included (every exploration's)."""
        return self._ended_calls + (0 if self._runner is None else self._runner.calls)

    def begin(self, name: str, options: ExploreOptions) -> None:
        from venomqa.explorer import LocalHost

        self.end()
        exploration = exploration_named(self._found, name, options)
        session = ExitStack()
        try:
            self._runner = LocalHost(self.world).prepare(exploration, session)
        except BaseException:
            session.close()
            raise
        self._session = session

    def at_root(self) -> tuple[WorldView, Judged]:
        return self._running().at_root()

    def start(self, root_key: str) -> None:
        self._running().start(root_key, None)

    def fire(self, task: FireTask, keep_position: bool = True) -> Fired:
        return self._running().fire(task, keep_position=keep_position).portable()

    def forget(self) -> None:
        self._running().forget()

    def release(self) -> None:
        self._running().release()

    def end(self) -> None:
        """Close the current exploration's session (stores rolled back and torn down)."""
        session, self._session = self._session, None
        if self._runner is not None:
            self._ended_calls += self._runner.calls
        self._runner = None
        if session is not None:
            session.close()

    def close(self) -> None:
        """End the exploration, stop the API, close the client."""
        try:
            self.end()
        finally:
            self._stack.close()

    def handle(self, method: str, args: Sequence[object]) -> tuple[object, int]:
        """Run ``method`` (one of ``REMOTE_METHODS``) with ``args``; its result and the calls
        made so far (what a backend's transport carries back to a ``ProxyRunner``)."""
        if method not in REMOTE_METHODS:
            raise ValueError(f"a worker has no remote method {method!r}")
        result = getattr(self, method)(*args)
        return result, self.calls

    def _running(self) -> Runner:
        if self._runner is None:
            raise RuntimeError("no exploration has begun in this worker")
        return self._runner


#: What a ``ProxyRunner`` may ask of a ``WorkerProcess``.
REMOTE_METHODS = frozenset({"begin", "at_root", "start", "fire", "forget", "release", "end"})

#: Carries one call to a worker in another process and back: ``(method, args) -> (result,
#: calls)`` (``WorkerProcess.handle`` on the other side).
Transport = Callable[[str, tuple[object, ...]], tuple[object, int]]
#: Waits for the answer to a call sent ahead: what the transport's call would have returned
#: (the worker's error raised).
Receive = Callable[[], tuple[object, int]]


@runtime_checkable
class SendsAhead(Protocol):
    """A transport that may also ``send`` a call before the answers to the calls sent earlier
    have come back; the worker answers them in the order they were sent. Workers then send
    their next fire while the one before runs, so the round trip to a worker far away (a Ray
    actor: ~1.5 ms on loopback, more across machines) is hidden behind it."""

    def __call__(self, method: str, args: tuple[object, ...]) -> tuple[object, int]: ...

    def send(self, method: str, args: tuple[object, ...]) -> Receive: ...


class ProxyRunner:
    """The coordinator's stand-in for a ``WorkerProcess`` elsewhere: the explorer's Runner
    calls, carried by a backend's ``transport``. Never asked to ``reproduce`` (worker 1 is)."""

    def __init__(self, transport: Transport, *, calls_before: int = 0) -> None:
        self._transport = transport
        self._calls_before = calls_before
        #: Actions run in this exploration, replays included.
        self.calls = 0

    def at_root(self) -> tuple[WorldView, Judged]:
        return self._ask("at_root")  # type: ignore[return-value]

    def start(self, root_key: str, key_of: object = None) -> None:
        self._ask("start", root_key)

    def fire(self, task: FireTask, *, keep_position: bool = True) -> Fired:
        return self._ask("fire", task, keep_position)  # type: ignore[return-value]

    @property
    def sends_ahead(self) -> bool:
        """Whether ``send_fire`` may be used: the transport ``SendsAhead``."""
        return isinstance(self._transport, SendsAhead)

    def send_fire(self, task: FireTask) -> Callable[[], Fired]:
        """Send ``fire(task, keep_position=False)`` now, without waiting for the fires sent
        before it; what it returns waits for the outcome."""
        assert isinstance(self._transport, SendsAhead)
        receive = self._transport.send("fire", (task, False))
        return lambda: self._took(receive())  # type: ignore[return-value]

    def forget(self) -> None:
        self._ask("forget")

    def reproduce(self, finding: object, path: Sequence[int]) -> None:
        raise RuntimeError("paths are reproduced in worker 1, the run's own world")

    def release(self) -> None:
        self._ask("release")

    def _ask(self, method: str, *args: object) -> object:
        return self._took(self._transport(method, args))

    def _took(self, answer: tuple[object, int]) -> object:
        result, calls = answer
        self.calls = calls - self._calls_before
        return result


class RemoteHost:
    """A WorkerHost for a worker in another process, reached through ``transport``: each
    exploration begins there when prepared and ends when its stack closes."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def prepare(self, exploration: Exploration, stack: ExitStack) -> ProxyRunner:
        _, calls = self._transport("begin", (exploration.name, exploration.options))
        stack.callback(self._transport, "end", ())
        return ProxyRunner(self._transport, calls_before=calls)


__all__: Sequence[str] = [
    "REMOTE_METHODS",
    "ProxyRunner",
    "Receive",
    "RemoteHost",
    "SendsAhead",
    "Transport",
    "WorkerProcess",
    "exploration_named",
    "open_worker_world",
]
