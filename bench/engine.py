"""Explorer overhead: wall time per transition spent in the engine itself.

Two models, each explored with every strategy:

- ``toggles``: ten independent on/off switches (1024 states, ten actions each) - a bushy state
  space like most APIs, where BFS rarely needs to replay more than a step or two;
- ``grid``: two bounded counters (31 x 31 states, four actions) - long thin paths, the worst case
  for BFS, which must replay long prefixes to reach each state (store tokens are a stack).

For each run it prints transitions, distinct states, replayed actions (action calls that were not
transitions: BFS replays, DFS/random shrinking, calibration runs), action calls per transition,
transitions per second, the engine's own
overhead per transition = (total wall time - time inside action functions - time inside
invariant functions) / transitions, and the whole cost per transition (wall time /
transitions, replays included) against its baseline: the mean time of one action call, what a
transition would cost if the explorer added nothing, not even replays. The overhead includes
fingerprinting, checkpoint/rollback of the store and the context, and the explorer's bookkeeping.
Actions call an in-process WSGI app through venomqa's Client (``http``) or change the store
directly (``direct``, which isolates the engine from the HTTP client).

Run: ``hatch run python bench/engine.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from venomqa import Action, Invariant, World
from venomqa.client import Client
from venomqa.explorer import explore


class RegisterStore:
    """A few integer registers; checkpoints are a stack of tuples (cheap, like a good adapter)."""

    name = "registers"

    def __init__(self, size: int) -> None:
        self.values = [0] * size
        self._stack: list[tuple[int, tuple[int, ...]]] = []
        self._next = 0

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def checkpoint(self) -> int:
        token = self._next
        self._next += 1
        self._stack.append((token, tuple(self.values)))
        return token

    def rollback(self, token: int) -> None:
        while self._stack[-1][0] != token:
            self._stack.pop()
        self.values = list(self._stack[-1][1])

    def release(self, token: int) -> None:
        if self._stack and self._stack[-1][0] == token:
            self._stack.pop()

    def fingerprint(self) -> str:
        return ",".join(map(str, self.values))

    def observe(self) -> dict[str, Any]:
        return {"values": list(self.values)}


class Model:
    """Registers plus the rule each action applies: ``change(values, register) -> bool``."""

    def __init__(self, name: str, registers: int, actions: list[tuple[str, int, int]], top: int):
        self.name = name
        self.registers = registers
        self.actions = actions  # (action name, register, delta); toggles use delta 0
        self.top = top

    def apply(self, values: list[int], register: int, delta: int) -> bool:
        if delta == 0:
            values[register] = 1 - values[register]
            return True
        value = values[register] + delta
        if 0 <= value <= self.top:
            values[register] = value
            return True
        return False


GRID_ACTIONS = [
    (f"{axis}_{step}", register, delta)
    for register, axis in enumerate("xy")
    for step, delta in (("inc", 1), ("dec", -1))
]
MODELS = {
    "toggles": Model("toggles", 10, [(f"toggle_{i}", i, 0) for i in range(10)], 1),
    "grid": Model("grid", 2, GRID_ACTIONS, 30),
}


def wsgi_app(store: RegisterStore, model: Model) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        register, delta = (int(part) for part in environ["PATH_INFO"].strip("/").split("/"))
        ok = model.apply(store.values, register, delta)
        body = json.dumps({"values": store.values}).encode()
        start_response("200 OK" if ok else "409 Conflict", [("Content-Type", "application/json")])
        return [body]

    return app


class Stopwatch:
    """Accumulates time spent inside wrapped functions, and how often they ran."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return timed


def build(
    model: Model, variant: str, actions_watch: Stopwatch, checks_watch: Stopwatch
) -> tuple[World, list[Action], list[Invariant]]:
    store = RegisterStore(model.registers)
    client = Client(app=wsgi_app(store, model))
    actions: list[Action] = []
    for name, register, delta in model.actions:
        if variant == "http":

            def run(api: Any, ctx: Any, register: int = register, delta: int = delta) -> Any:
                return api.post(f"/{register}/{delta}")
        else:

            def run(api: Any, ctx: Any, register: int = register, delta: int = delta) -> Any:
                return model.apply(store.values, register, delta)

        actions.append(Action(name=name, fn=actions_watch.wrap(run)))

    def in_range(world: World) -> bool:
        return all(0 <= value <= model.top for value in store.values)

    invariants = [Invariant(name="in_range", check=checks_watch.wrap(in_range))]
    return World(client, {"registers": store}), actions, invariants


def measure(model: Model, variant: str, strategy: str) -> None:
    actions_watch, checks_watch = Stopwatch(), Stopwatch()
    world, actions, invariants = build(model, variant, actions_watch, checks_watch)
    # Random walks rarely reach the far corner of the grid: cap them.
    cap = 50_000 if strategy == "random" else None
    started = time.perf_counter()
    result = explore(
        world, actions, invariants, strategy=strategy, max_depth=120, max_transitions=cap
    )
    total = time.perf_counter() - started
    inside = actions_watch.seconds + checks_watch.seconds
    transitions = max(1, result.transitions)
    overhead_us = (total - inside) / transitions * 1e6
    whole_us = total / transitions * 1e6
    one_call_us = actions_watch.seconds / max(1, actions_watch.calls) * 1e6
    print(
        f"{model.name:>7} {variant:>6} {strategy:>6}  states {result.states:5d}"
        f"  transitions {result.transitions:6d}"
        f"  replayed {actions_watch.calls - result.transitions:6d}"
        f"  calls/transition {actions_watch.calls / transitions:5.2f}"
        f"  {result.transitions / total:7.0f}/s"
        f"  overhead {overhead_us:6.1f} us/transition"
        f"  whole {whole_us:6.1f} us/transition = {whole_us / one_call_us:5.1f}x one call"
        f" ({one_call_us:5.1f} us)"
        f"  ({inside / total:4.0%} of {total:.2f} s in actions+invariants)"
    )
    world.api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), action="append")
    parser.add_argument("--variant", choices=["direct", "http"], action="append")
    parser.add_argument("--strategy", choices=["bfs", "dfs", "random"], action="append")
    args = parser.parse_args()
    print("engine overhead per transition (target: < 100 us against an in-process API)")
    for name in args.model or ["toggles", "grid"]:
        for variant in args.variant or ["direct", "http"]:
            for strategy in args.strategy or ["bfs", "dfs", "random"]:
                measure(MODELS[name], variant, strategy)


if __name__ == "__main__":
    main()
