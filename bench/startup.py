"""Startup time of the CLI paths that load plugins, in fresh subprocesses (wall clock, best of N).

    hatch run python bench/startup.py [--repeat N]

Measures `python -c pass` (the interpreter's own floor), `venomqa --help` and
`venomqa plugins list` (through `python -m venomqa.cli.main`, or the plugin machinery alone when
the CLI is not there), and prints which heavy modules loading the plugins imports.
Target: each venomqa command under 250 ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

TARGET_MS = 250.0
#: What listing plugins must not import: drivers, the HTTP client, the engine and the world (the
#: packages ``venomqa.client`` and ``venomqa.explorer`` themselves load their names lazily).
HEAVY = (
    "httpx",
    "psycopg",
    "redis",
    "boto3",
    "botocore",
    "venomqa.client._client",
    "venomqa.explorer._engine",
    "venomqa.world",
)

PROBE = f"""
import sys, json
import venomqa.plugins
venomqa.plugins.plugin_infos()
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def _best_ms(argv: list[str], repeat: int, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per command (best is kept)")
    args = parser.parse_args()
    env = dict(os.environ)
    python = sys.executable

    commands: list[tuple[str, list[str]]] = [("python -c pass", [python, "-c", "pass"])]
    if importlib.util.find_spec("venomqa.cli.main") is not None:
        cli = [python, "-m", "venomqa.cli.main"]
        commands += [
            ("venomqa --help", [*cli, "--help"]),
            ("venomqa plugins list", [*cli, "plugins", "list"]),
        ]
    else:
        print("venomqa.cli.main not found: timing the plugin machinery alone instead")
        code = "import venomqa.plugins; venomqa.plugins.plugin_infos()"
        commands.append(("import venomqa.plugins; plugin_infos()", [python, "-c", code]))

    print(f"best of {args.repeat} fresh processes, wall clock (target < {TARGET_MS:.0f} ms)")
    baseline = None
    for label, argv in commands:
        _best_ms(argv, 1, env)  # warm the file cache and bytecode
        best = _best_ms(argv, args.repeat, env)
        if baseline is None:
            baseline = best
            print(f"  {label:<42} {best:7.1f} ms  (baseline)")
            continue
        verdict = "ok" if best < TARGET_MS else "OVER TARGET"
        print(f"  {label:<42} {best:7.1f} ms  (+{best - baseline:.1f} ms over baseline)  {verdict}")

    probe = subprocess.run(
        [python, "-c", PROBE], env=env, check=True, capture_output=True, text=True
    )
    heavy = json.loads(probe.stdout.strip().splitlines()[-1])
    print(
        "heavy modules imported by `import venomqa.plugins; plugin_infos()`: "
        + (", ".join(heavy) if heavy else "none")
    )


if __name__ == "__main__":
    main()
