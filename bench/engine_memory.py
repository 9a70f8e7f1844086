"""Benchmark issue 14 item 4: the explorer's memory per explored state, at 1e5 states.

An in-process model with no stores (so every byte is the engine's): ``--counters`` counters in
the context, each from 0 to 9, an action per counter adding one (enabled below 9), BFS over
every combination (10^5 states for 5 counters, 4.5e5 transitions). Each size runs in a fresh
subprocess that reports its peak resident memory (``ru_maxrss``) after exploring; the figure is
the slope between a small and a large run, (peak_large - peak_small) / (states_large -
states_small), so the interpreter, imports and everything constant cancel out. Target: under
2 KiB per state. Also prints the time per transition.

Run: hatch run python bench/engine_memory.py [--counters 5] [--small-counters 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def explore_counters(counters: int) -> dict[str, float]:
    """Explore the counter model in this process; its figures."""
    from venomqa import Action
    from venomqa.explorer import explore
    from venomqa.world import World

    def bump(name: str):  # type: ignore[no-untyped-def]
        def fire(api, ctx):  # type: ignore[no-untyped-def]
            ctx[name] = ctx.get(name, 0) + 1

        return fire

    actions = [
        Action(f"bump_{i}", bump(f"c{i}"), requires=lambda ctx, n=f"c{i}": ctx.get(n, 0) < 9)
        for i in range(counters)
    ]
    world = World("http://127.0.0.1:9")  # no request is ever sent
    started = time.perf_counter()
    result = explore(world, actions, max_depth=9 * counters, max_states=10**7, learn=False)
    elapsed = time.perf_counter() - started
    world.api.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "states": result.states,
        "transitions": result.transitions,
        "seconds": elapsed,
        "peak_bytes": peak_kib * 1024,
    }


def measure(counters: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(counters)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counters", type=int, default=5)
    parser.add_argument("--small-counters", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(explore_counters(args.child)))
        return
    small, large = measure(args.small_counters), measure(args.counters)
    per_state = (large["peak_bytes"] - small["peak_bytes"]) / (large["states"] - small["states"])
    for label, run in (("small", small), ("large", large)):
        print(
            f"{label}: {run['states']:,.0f} states, {run['transitions']:,.0f} transitions, "
            f"{run['seconds']:.1f} s ({run['seconds'] / run['transitions'] * 1e6:.0f} us per "
            f"transition), peak {run['peak_bytes'] / 2**20:.1f} MiB"
        )
    verdict = "met" if per_state < 2048 else "MISSED"
    print(f"memory per explored state: {per_state:,.0f} bytes (target < 2,048: {verdict})")


if __name__ == "__main__":
    main()
