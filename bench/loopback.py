"""Transitions per second exploring a real API server process backed by the SQLite store.

The demo shop runs as a separate process on a loopback port, writing its SQLite file through its
own connections; VenomQA explores it with the built-in SQLite store rolling the file back between
branches. Printed beside it, measured in the same run: the raw rate of single HTTP calls to the
same server through the same client (the ceiling any exploration could reach), and the ratio.

Also in the same run: the same exploration with learning off (``learn=False``: no calibration
runs), so the cost of calibration shows as a ratio, and action calls per transition (replays and
calibration runs included).

Run: hatch run python bench/loopback.py [--depth N] [--orders N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from venomqa.client import Client
from venomqa.demo import checks
from venomqa.demo.process import start_demo_server
from venomqa.demo.shop import init_schema
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.stores.sqlite import SQLiteStore
from venomqa.world import World


def raw_calls_per_second(url: str, seconds: float = 2.0) -> float:
    """How many GET /orders a plain client loop completes per second."""
    with Client(url) as client:
        client.get("/orders")
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            client.get("/orders")
            count += 1
            if count % 500 == 0:
                client.clear_history()
        return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--orders", type=int, default=2, help="MAX_ORDERS for the demo checks")
    args = parser.parse_args()
    checks.MAX_ORDERS = args.orders

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "shop.db"
        init_schema(db)
        with start_demo_server(db) as server:
            raw = raw_calls_per_second(server.url)
            runs = {learn: run(server.url, db, args.depth, learn) for learn in (True, False)}

    print(f"demo shop, separate server process, SQLite store, BFS depth {args.depth}")
    for learn, (result, elapsed, http_calls) in runs.items():
        print(
            f"  learn={learn!s:<5}  states {result.states}  transitions {result.transitions}  "
            f"action calls {result.calls} ({result.calls / result.transitions:.2f}/transition)  "
            f"HTTP calls {http_calls}  {elapsed:.2f} s  "
            f"{result.transitions / elapsed:.0f} transitions/s"
        )
    learned, plain = runs[True], runs[False]
    rate = learned[0].transitions / learned[1]
    print(f"  exploration:     {rate:8.0f} transitions/s (learning on, the default)")
    print(f"  baseline:        {raw:8.0f} raw GET calls/s (same client, same server)")
    print(f"  ratio:           {rate / raw:8.2f} (exploration transitions per raw call)")
    print(f"  calibration:     {learned[1] / plain[1]:8.2f}x the time with learning off")


def run(url: str, db: Path, depth: int, learn: bool) -> tuple[ExplorationResult, float, int]:
    """One BFS exploration: its result, wall time and HTTP calls."""
    client = Client(url)
    world = World(client, {"db": SQLiteStore(str(db))})
    start = time.perf_counter()
    result = explore(world, checks.ACTIONS, checks.INVARIANTS, max_depth=depth, learn=learn)
    elapsed = time.perf_counter() - start
    http_calls = len(client.history)
    client.close()
    return result, elapsed, http_calls


if __name__ == "__main__":
    main()
