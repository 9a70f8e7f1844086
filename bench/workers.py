"""Benchmark issue 14: the speedup of parallel workers on a latency-bound API.

The API (written to a temporary folder) keeps ``--flags`` on/off flags in a SQLite file and
answers every request after ``--latency`` seconds (20 ms), as a real API that waits on its
database or another service does: the cores are not the limit, the round trips are. The actions
switch each flag on and off (preconditions from the context); an invariant reads the store. BFS
over every combination of flags (2^6 = 64 states, 384 transitions). ``venomqa run --workers N``
(the CLI, a subprocess, as a user runs it; the API started from ``target.command``, each worker
with its own copy of the SQLite file) explores it for N = 1, 2, 4, 8, in rounds that rotate
which N goes first; every run must reach the same states, transitions and edges as N = 1.

Figures: per N the median exploration time (the report's ``duration_s``: the search, from the
first action to the last, the same span for every N) and the median wall time of the whole
command (interpreter, copies, API start-up and shutdown included); speedup = time(1) / time(N)
against the N = 1 runs of the same rounds; the target is speedup >= 0.8 x N on the exploration
time. Also transitions per second and states per hour.

On Ray (``--backend ray``): workers 2..N are Ray actors (venomqa-ray), on the cluster at
``--address`` or, without one, on a local cluster started for the benchmark on 127.0.0.1 the way
the tests start theirs (tests/ray/_support_ray_cluster.py) and stopped at its end; N = 1 runs
without Ray (there is no worker to place), so the speedups are against the same one-world runs.

Run: hatch run python bench/workers.py [--workers 1,2,4,8] [--rounds 3] [--latency 0.02]
     [--backend ray [--address HOST:PORT]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "shared"))

from flags_project import make_project  # noqa: E402


def run_once(folder: Path, workers: int, backend: Sequence[str] = ()) -> dict[str, Any]:
    report = folder / f"report-{workers}.json"
    started = time.perf_counter()
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "venomqa",
            "run",
            "--workers",
            str(workers),
            *(backend if workers > 1 else ()),
            "-q",
            "--no-console",
            "--report",
            f"json:{report}",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"--workers {workers} exited {done.returncode}:\n{done.stderr}")
    exploration = json.loads(report.read_text())["exploration"]
    return {
        "wall": wall,
        "explore": exploration["duration_s"],
        "states": exploration["states"],
        "transitions": exploration["transitions"],
        "calls": exploration["calls"],
        "edges": sorted(
            (e["source"], e["action"], e["target"]) for e in exploration["state_edges"]
        ),
    }


@contextmanager
def backend_options(backend: str, address: str | None) -> Iterator[list[str]]:
    """The ``venomqa run`` options that put workers 2..N on ``backend``; for Ray without an
    address, a local cluster for the duration."""
    if backend != "ray":
        yield [] if backend == "local" else ["--backend", backend]
        return
    if address is not None:
        yield ["--backend", backend, "--address", address]
        return
    sys.path.insert(0, str(ROOT / "tests" / "ray"))
    from _support_ray_cluster import local_cluster

    with local_cluster() as cluster:
        print(f"ray: a local cluster at {cluster.address}", flush=True)
        yield ["--backend", backend, "--address", cluster.address]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flags", type=int, default=6)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument(
        "--backend", default="local", help="where workers 2..N run: local, processes, ray"
    )
    parser.add_argument("--address", help="the Ray cluster (default: start a local one)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    if 1 not in counts:
        counts.insert(0, 1)
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with (
        tempfile.TemporaryDirectory(prefix="venomqa-workers-") as tmp,
        backend_options(args.backend, args.address) as backend,
    ):
        folder = Path(tmp)
        make_project(folder, args.flags, args.latency)
        for round_number in range(args.rounds):
            shift = round_number % len(counts)
            for n in counts[shift:] + counts[:shift]:
                runs[n].append(run_once(folder, n, backend))
                print(
                    f"round {round_number + 1}: --workers {n}: "
                    f"{runs[n][-1]['explore']:.2f} s exploring, {runs[n][-1]['wall']:.2f} s in all",
                    flush=True,
                )
    reference = runs[1][0]
    for n, done in runs.items():
        for run in done:
            same = (run["states"], run["transitions"], run["edges"]) == (
                reference["states"],
                reference["transitions"],
                reference["edges"],
            )
            if not same:
                raise SystemExit(f"--workers {n} explored something else than --workers 1")
    base_explore = statistics.median(r["explore"] for r in runs[1])
    base_wall = statistics.median(r["wall"] for r in runs[1])
    print(
        f"\nflags API, {args.flags} flags, {args.latency * 1000:.0f} ms per request: "
        f"{reference['states']} states, {reference['transitions']} transitions; "
        f"workers 2..N on {args.backend}; medians of {args.rounds} rounds; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"{'workers':>7} {'explore s':>9} {'speedup':>7} {'target':>6} {'wall s':>7} "
        f"{'wall x':>6} {'calls':>6} {'trans/s':>8} {'states/h':>9}"
    )
    for n, done in runs.items():
        explore = statistics.median(r["explore"] for r in done)
        wall = statistics.median(r["wall"] for r in done)
        calls = statistics.median(r["calls"] for r in done)
        speedup = base_explore / explore
        verdict = "met" if speedup >= 0.8 * n else "MISSED"
        print(
            f"{n:>7} {explore:>9.2f} {speedup:>6.2f}x {verdict:>6} {wall:>7.2f} "
            f"{base_wall / wall:>5.2f}x {calls:>6.0f} {reference['transitions'] / explore:>8.1f} "
            f"{reference['states'] / explore * 3600:>9.0f}"
        )


if __name__ == "__main__":
    main()
