"""Interrupting real `venomqa run` processes at random moments and checking nothing is left.

One *target* is an API served by its own process on one kind of store, plus the venomqa.yaml
that explores it and a ``dump()`` of everything in the store (rows, sequences, schemas,
triggers, functions; keys, TTLs, server config; object versions, metadata, versioning status).
``interrupted_run`` starts `venomqa run`, sends SIGINT or SIGTERM after a delay, waits for the
process to exit and compares the dumps before and after. ``bench/interrupts.py`` runs hundreds of
these across every target; each adapter's test suite runs a small sample.

Targets (context managers yielding a ``Target``): ``sqlite_target``, ``postgres_target`` (the
blog API writing through its own psycopg pool), ``redis_target`` (the blog API on Redis) and
``s3_target`` (the document API on a bucket of a SeaweedFS the caller started). The blog explores
for a few seconds, so a uniformly random delay in ``[0, Target.duration_s)`` lands in setup,
mid-exploration (often with a request in flight) or in the final clean-up.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@dataclass
class Target:
    """An API and its store, ready for `venomqa run -c config`."""

    name: str
    folder: Path
    config: Path
    dump: Callable[[], object]
    env: dict[str, str] = field(default_factory=dict)
    #: How long an undisturbed run takes (measured by ``calibrate``).
    duration_s: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """One interrupted run: what was sent when, how the process ended, and what was left."""

    target: str
    signum: int
    delay_s: float
    exit_code: int
    exit_after_s: float
    leaked: str | None
    stderr: str

    @property
    def interrupted(self) -> bool:
        """Whether the signal stopped the process (rather than arriving after it ended): exit
        code 128 + the signal, or killed by it (a signal landing after VenomQA's handlers are
        gone, as the interpreter exits; a shell shows both as 128 + the signal)."""
        return self.exit_code in (128 + self.signum, -self.signum)


def run_env(target: Target) -> dict[str, str]:
    """The environment `venomqa run` gets: this repository's plugins, the target's variables."""
    return {**os.environ, "VENOMQA_LOAD_PLUGINS": "", **target.env}


def calibrate(target: Target, runs: int = 2) -> float:
    """Run undisturbed ``runs`` times (the first is slower: cold caches); remember (and return)
    the shortest time a whole run took. Raises if a run failed or left data."""
    durations = [_undisturbed(target) for _ in range(runs)]
    target.duration_s = min(durations)
    return target.duration_s


def _undisturbed(target: Target) -> float:
    before = target.dump()
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "venomqa", "run", "-c", str(target.config), "--no-console"],
        cwd=target.folder,
        env=run_env(target),
        capture_output=True,
        text=True,
        timeout=600,
    )
    duration = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{target.name}: the undisturbed run failed: {done.stderr[-2000:]}")
    if target.dump() != before:
        raise RuntimeError(
            f"{target.name}: the undisturbed run left data behind: "
            f"{describe_difference(before, target.dump())}"
        )
    return duration


def interrupted_run(target: Target, signum: int, delay_s: float) -> Outcome:
    """`venomqa run`, sent ``signum`` after ``delay_s`` seconds; dumps compared around it."""
    before = target.dump()
    process = subprocess.Popen(
        [PYTHON, "-m", "venomqa", "run", "-c", str(target.config), "--no-console"],
        cwd=target.folder,
        env=run_env(target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay_s)
    sent = time.monotonic()
    if process.poll() is None:
        process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        stderr += "\n[killed: no exit within 120 s of the signal]"
    exit_after = time.monotonic() - sent
    after = target.dump()
    leaked = None if after == before else describe_difference(before, after)
    return Outcome(
        target.name, signum, delay_s, process.returncode, exit_after, leaked, stderr[-3000:]
    )


def sample(target: Target, runs: int, seed: int = 0) -> list[str]:
    """Calibrate, then ``runs`` interrupted runs (SIGINT and SIGTERM in turn, random delays);
    returns a line per problem: a leak, or an exit that is neither the signal's nor a finished
    run's. The test suites assert it is empty."""
    import random

    rng = random.Random(seed)
    duration = calibrate(target)
    problems = []
    for index in range(runs):
        signum = STOP_SIGNALS[index % 2]
        outcome = interrupted_run(target, signum, rng.uniform(0, duration))
        if outcome.leaked is not None or not (outcome.interrupted or outcome.exit_code in (0, 1)):
            problems.append(
                f"{signal.Signals(signum).name} after {outcome.delay_s:.3f} s: exit "
                f"{outcome.exit_code}, leaked: {outcome.leaked}; stderr: {outcome.stderr[-600:]}"
            )
            recover(target)
    return problems


def recover(target: Target) -> str:
    """`venomqa recover` for the target (after a leak, so the next run starts clean)."""
    done = subprocess.run(
        [PYTHON, "-m", "venomqa", "recover", "-c", str(target.config)],
        cwd=target.folder,
        env=run_env(target),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout + done.stderr


def describe_difference(before: object, after: object) -> str:
    """The parts of two dumps that differ (top-level keys of dicts), shortened."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        parts = [f"{k!r}: {before.get(k)!r:.300} -> {after.get(k)!r:.300}" for k in keys[:5]]
        return "; ".join(parts)
    return f"{before!r:.500} -> {after!r:.500}"


# -- targets ------------------------------------------------------------------------------------

_BLOG_CONFIG = """\
target: {url}
actions: [venomqa.demo.blog.checks]
stores:
  db: {store}
explore: {{max_depth: {depth}}}
"""


def _blog_config(folder: Path, url: str, store: str, depth: int) -> Path:
    config = folder / "venomqa.yaml"
    config.write_text(_BLOG_CONFIG.format(url=url, store=store, depth=depth))
    return config


@contextmanager
def sqlite_target(folder: Path, depth: int = 10) -> Iterator[Target]:
    """The blog API on a SQLite file; the dump is every statement that rebuilds the file, and
    whatever else VenomQA may leave beside it (its lock file)."""
    import sqlite3

    from venomqa.demo.blog import start_blog_server

    db = folder / "blog.db"
    with start_blog_server(f"sqlite:{db}") as server:

        def dump() -> object:
            with closing(sqlite3.connect(db)) as conn:
                statements = list(conn.iterdump())
            return {"file": statements, "beside": sorted(p.name for p in folder.glob("blog.db.*"))}

        config = _blog_config(folder, server.url, f"{{adapter: sqlite, path: {db.name}}}", depth)
        yield Target("sqlite", folder, config, dump)


@contextmanager
def postgres_target(folder: Path, depth: int = 10) -> Iterator[Target]:
    """The blog API on a fresh PostgreSQL database, writing through its own psycopg pool."""
    sys.path.insert(0, str(TESTS / "postgres"))
    from _support_postgres import database_content, fresh_database  # type: ignore[import-not-found]
    from venomqa.demo.blog import start_blog_server

    path = os.pathsep.join(p for p in (str(TESTS / "postgres"), os.environ.get("PYTHONPATH")) if p)
    with fresh_database("vq_intr") as dsn:
        storage = f"_support_postgres_blog:open_storage:{dsn}"
        with start_blog_server(storage, env={"PYTHONPATH": path}) as server:
            config = _blog_config(folder, server.url, f"{{adapter: postgres, dsn: '{dsn}'}}", depth)
            dump = lambda: database_content(dsn)  # noqa: E731
            yield Target("postgres", folder, config, dump, {"VENOMQA_LOAD_PLUGINS": "postgres"})


@contextmanager
def redis_target(folder: Path, db: int, depth: int = 10) -> Iterator[Target]:
    """The blog API on Redis database ``db`` (flushed before and after)."""
    import redis

    sys.path.insert(0, str(TESTS / "redis"))
    from _support_redis import picture  # type: ignore[import-not-found]
    from venomqa.demo.blog import start_blog_server

    url = f"redis://127.0.0.1:6379/{db}"
    # The server's notify-keyspace-events is global: take turns with the Redis test suite.
    lock = open(os.path.join(tempfile.gettempdir(), "venomqa-redis-tests.lock"), "a")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    client = redis.Redis.from_url(url)
    config_before = client.config_get("notify-keyspace-events")
    client.flushdb()

    def dump() -> object:
        return {
            "keys": picture(client),
            "config": client.config_get("notify-keyspace-events"),
        }

    path = os.pathsep.join(p for p in (str(TESTS / "redis"), os.environ.get("PYTHONPATH")) if p)
    try:
        storage = f"_support_redis_blog:open_storage:{url}"
        with start_blog_server(storage, env={"PYTHONPATH": path}) as server:
            config = _blog_config(folder, server.url, f"{{adapter: redis, url: '{url}'}}", depth)
            yield Target("redis", folder, config, dump, {"VENOMQA_LOAD_PLUGINS": "redis"})
    finally:
        client.flushdb()
        client.config_set("notify-keyspace-events", config_before["notify-keyspace-events"])
        client.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


S3_ACTIONS = '''
"""The document API's actions, as a user would write them."""

from venomqa import Severity, action, invariant


def _make(verb, name, call):
    def run(api, ctx):
        return call(api, name)
    run.__name__ = f"{verb}_{name}"
    return action(name=f"{verb}_{name}")(run)


for _name in ("a", "b"):
    globals()[f"upload_{_name}"] = _make(
        "upload", _name, lambda api, n: api.put(f"/docs/{n}", content=f"document {n}"))
    globals()[f"delete_{_name}"] = _make("delete", _name, lambda api, n: api.delete(f"/docs/{n}"))
    globals()[f"restore_{_name}"] = _make(
        "restore", _name, lambda api, n: api.post(f"/trash/{n}/restore"))


@invariant(severity=Severity.CRITICAL)
def quota_respected(world):
    return len(world.stores["files"].list("docs/")) <= 1
'''


@contextmanager
def s3_target(
    folder: Path, endpoint_url: str, s3_env: dict[str, str], depth: int = 4
) -> Iterator[Target]:
    """The document API on a new bucket of the SeaweedFS at ``endpoint_url``."""
    import boto3
    from botocore.config import Config

    sys.path.insert(0, str(TESTS / "s3"))
    from _support_s3 import bucket_content, empty_bucket  # type: ignore[import-not-found]
    from venomqa.testing.server import start_api_process

    client: Any = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=s3_env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_env["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = f"vq-intr-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="other/readme", Body=b"keep me", ContentType="text/plain")
    (folder / "docs_checks.py").write_text(S3_ACTIONS)
    api = [PYTHON, str(TESTS / "s3" / "_support_s3_api.py")]
    api += ["--endpoint", endpoint_url, "--bucket", bucket]
    try:
        with start_api_process(api, what="document API", env={**os.environ, **s3_env}) as server:
            config = folder / "venomqa.yaml"
            config.write_text(
                f"target: {server.url}\nactions: [docs_checks]\nstores:\n"
                f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{endpoint_url}', "
                f"state_dir: '{folder / 'state'}'}}\n"
                f"explore: {{max_depth: {depth}}}\n"
            )
            env = {**s3_env, "VENOMQA_LOAD_PLUGINS": "s3"}
            yield Target(
                "s3", folder, config, lambda: _s3_dump(bucket_content(client, bucket)), env
            )
    finally:
        empty_bucket(client, bucket)
        client.delete_bucket(Bucket=bucket)


def _s3_dump(content: dict[str, Any]) -> dict[str, Any]:
    """The bucket's content, with "never versioned" counted as "Suspended": S3 cannot turn a
    bucket back to never versioned, and the two behave alike (the adapter documents this)."""
    if content.get("versioning") == "never enabled":
        return {**content, "versioning": "Suspended"}
    return content


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
