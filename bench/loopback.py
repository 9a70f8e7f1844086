"""Transitions per second exploring a real API server process backed by the SQLite store.

``--api shop`` (default): the demo shop, whose state is plain (integer ids, no timestamps).
``--api blog``: the blog demo, which stores uuid keys, timestamps, salted hashes and hands out
JWTs, so every state must be abstracted (volatile fields left out).

The API runs as a separate process on a loopback port, writing its SQLite file through its own
connections; VenomQA explores it with the built-in SQLite store rolling the file back between
branches. In the same run, each exploration twice: learning on (the default: each action is
calibrated by running it twice the first time, telltale values and replays are checked) and
learning off (the shop needs nothing; the blog gets its volatile fields declared with
``ignore:``), so the cost of learning shows as a ratio; and action calls per transition (replays,
calibration runs and the re-runs that make reported paths coherent included). Printed beside
them: the raw rate of single HTTP calls to the same server through the same client (the ceiling
any exploration could reach), and the ratio.

Run: hatch run python bench/loopback.py [--api shop|blog] [--depth N] [--orders N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from venomqa.client import Client
from venomqa.demo import checks
from venomqa.demo.blog import checks as blog_checks
from venomqa.demo.blog import start_blog_server
from venomqa.demo.process import start_demo_server
from venomqa.demo.shop import init_schema
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import ApiProcess
from venomqa.world import World

#: What the blog makes up, as ``ignore:`` declares it (the learning-off run).
BLOG_IGNORE = {
    "db": [
        "users.id",
        "users.password_hash",
        "users.created_at",
        "sessions.*",
        "posts.id",
        "posts.checksum",
        "posts.created_at",
        "posts.updated_at",
        "comments.id",
        "comments.created_at",
    ]
}


def raw_calls_per_second(url: str, path: str, seconds: float = 2.0) -> float:
    """How many GETs of ``path`` a plain client loop completes per second."""
    with Client(url) as client:
        client.get(path)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            client.get(path)
            count += 1
            if count % 500 == 0:
                client.clear_history()
        return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--api", choices=["shop", "blog"], default="shop")
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--orders", type=int, default=2, help="MAX_ORDERS for the demo checks")
    args = parser.parse_args()
    checks.MAX_ORDERS = args.orders

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / f"{args.api}.db"
        server_process: AbstractContextManager[ApiProcess]
        if args.api == "blog":
            server_process, probe = start_blog_server(f"sqlite:{db}"), "/posts"
        else:
            init_schema(db)
            server_process, probe = start_demo_server(db), "/orders"
        with server_process as server:
            raw = raw_calls_per_second(server.url, probe)
            runs = {learn: run(args.api, server.url, db, args.depth, learn) for learn in (1, 0)}

    print(f"{args.api}, separate server process, SQLite store, BFS depth {args.depth}")
    for learn, (result, elapsed, http_calls) in runs.items():
        how = (
            "learning on " if learn else ("declared    " if args.api == "blog" else "learning off")
        )
        print(
            f"  {how}  states {result.states}  transitions {result.transitions}  "
            f"action calls {result.calls} ({result.calls / result.transitions:.2f}/transition)  "
            f"HTTP calls {http_calls}  {elapsed:.2f} s  "
            f"{result.transitions / elapsed:.0f} transitions/s  learned {len(result.learned)}"
        )
    learned, plain = runs[1], runs[0]
    rate = learned[0].transitions / learned[1]
    print(f"  exploration:     {rate:8.0f} transitions/s (learning on, the default)")
    print(f"  baseline:        {raw:8.0f} raw GET calls/s (same client, same server)")
    print(f"  ratio:           {rate / raw:8.2f} (exploration transitions per raw call)")
    print(f"  learning costs:  {learned[1] / plain[1]:8.2f}x the time without it")


def run(
    api: str, url: str, db: Path, depth: int, learn: int
) -> tuple[ExplorationResult, float, int]:
    """One BFS exploration: its result, wall time and HTTP calls."""
    client = Client(url)
    world = World(client, {"db": SQLiteStore(str(db))})
    start = time.perf_counter()
    if api == "blog":
        declared = {} if learn else BLOG_IGNORE
        result = explore(
            world,
            blog_checks.ACTIONS,
            blog_checks.INVARIANTS,
            max_depth=depth,
            learn=bool(learn),
            ignore=declared,
            ignore_context=[] if learn else ["*_token"],
        )
    else:
        result = explore(
            world, checks.ACTIONS, checks.INVARIANTS, max_depth=depth, learn=bool(learn)
        )
    elapsed = time.perf_counter() - start
    http_calls = len(client.history)
    client.close()
    return result, elapsed, http_calls


if __name__ == "__main__":
    main()
