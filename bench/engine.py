"""Explorer overhead: wall time per transition spent in the engine itself.

Explores a grid model (two bounded counters, four actions) and reports, per strategy:
transitions, distinct states, transitions per second, and the engine's own overhead per
transition = (total wall time - time inside action functions - time inside invariant functions)
/ transitions. The overhead therefore includes fingerprinting, checkpoint/rollback of the store
and the context, replays' bookkeeping, recording and dedup. Two variants:

- ``http``: actions call an in-process WSGI app through venomqa's Client (the target setup);
- ``direct``: actions change the store without HTTP (isolates the engine from the client).

Run: ``hatch run python bench/engine.py [--size N]``. Prints figures; asserts nothing.
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


class GridStore:
    """Two counters; checkpoints are a stack of (x, y) pairs (cheap, like a good adapter)."""

    name = "grid"

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self._stack: list[tuple[int, int, int]] = []
        self._next = 0

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def checkpoint(self) -> int:
        token = self._next
        self._next += 1
        self._stack.append((token, self.x, self.y))
        return token

    def rollback(self, token: int) -> None:
        while self._stack[-1][0] != token:
            self._stack.pop()
        _, self.x, self.y = self._stack[-1]

    def release(self, token: int) -> None:
        if self._stack and self._stack[-1][0] == token:
            self._stack.pop()

    def fingerprint(self) -> str:
        return f"{self.x},{self.y}"

    def observe(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}


def grid_app(store: GridStore, size: int) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        axis, step = environ["PATH_INFO"].strip("/").split("/")
        value = getattr(store, axis) + (1 if step == "inc" else -1)
        ok = 0 <= value <= size
        if ok:
            setattr(store, axis, value)
        body = json.dumps({axis: getattr(store, axis)}).encode()
        start_response("200 OK" if ok else "409 Conflict", [("Content-Type", "application/json")])
        return [body]

    return app


class Stopwatch:
    """Accumulates time spent inside wrapped functions."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def build(variant: str, size: int, watch: Stopwatch) -> tuple[World, list[Action], list[Invariant]]:
    store = GridStore()
    client = Client(app=grid_app(store, size))
    actions: list[Action] = []
    for axis in ("x", "y"):
        for step in ("inc", "dec"):
            if variant == "http":

                def run(api: Any, ctx: Any, axis: str = axis, step: str = step) -> Any:
                    return api.post(f"/{axis}/{step}")
            else:

                def run(api: Any, ctx: Any, axis: str = axis, step: str = step) -> Any:
                    value = getattr(store, axis) + (1 if step == "inc" else -1)
                    if 0 <= value <= size:
                        setattr(store, axis, value)

            actions.append(Action(name=f"{axis}_{step}", fn=watch.wrap(run)))

    def in_bounds(world: World) -> bool:
        return 0 <= store.x <= size and 0 <= store.y <= size

    invariants = [Invariant(name="in_bounds", check=watch.wrap(in_bounds))]
    return World(client, {"grid": store}), actions, invariants


def measure(variant: str, strategy: str, size: int) -> None:
    watch = Stopwatch()
    world, actions, invariants = build(variant, size, watch)
    started = time.perf_counter()
    result = explore(world, actions, invariants, strategy=strategy, max_depth=4 * size)
    total = time.perf_counter() - started
    overhead_us = (total - watch.seconds) / max(1, result.transitions) * 1e6
    print(
        f"{variant:>6} {strategy:>6}  states {result.states:6d}  transitions {result.transitions:7d}"
        f"  {result.transitions / total:9.0f} transitions/s"
        f"  engine overhead {overhead_us:7.1f} us/transition"
        f"  (actions+invariants {watch.seconds / total:5.1%} of {total:.2f} s)"
    )
    world.api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30, help="each counter runs 0..size")
    args = parser.parse_args()
    print(f"grid {args.size + 1} x {args.size + 1}, target: engine overhead < 100 us/transition")
    for variant in ("direct", "http"):
        for strategy in ("bfs", "dfs", "random"):
            measure(variant, strategy, args.size)


if __name__ == "__main__":
    main()
