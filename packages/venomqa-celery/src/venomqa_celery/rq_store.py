"""The ``rq`` store: the RQ queues an API feeds, settled after every call or kept as state.

Modes (``settle``):

- ``true`` (default): before the world reads or saves any store after an action, wait until
  every queue is empty, nothing sits in its intermediate list, started (running) or scheduled
  registries; the jobs' effects are then in the other stores. A job that lands in the failed
  registry (failed, or retried past its limit) becomes a ``failed`` WorkerProblem, a queue that
  does not drain within ``timeout`` a ``stuck`` one; both are part of this store's state and
  reported by ``venomqa_celery.worker_invariants``. Workers are the user's (``rq worker``).
- ``false``: pending jobs are state. The fingerprint holds each queue's jobs in order (their
  descriptions, ``module.func(args)``, never their random ids); a rollback puts each queue back
  as it was at the checkpoint (the list re-pushed in order, each job's hash restored) and
  deletes jobs enqueued since. No worker may consume the queues: ``run_next_job_actions()``
  gives an action per queue that runs its oldest job in this process, so the explorer
  interleaves jobs with API calls.

Costs: a settle probe is one Redis pipeline of 4 commands per queue; a checkpoint reads the
session's part of the failed registries (and, with ``settle: false``, every pending job's hash:
O(pending jobs)); a rollback touches only what differs from the checkpoint plus the pending jobs.
Teardown waits for jobs still running (up to ``timeout`` or 30 s, whichever is longer; a
warning names those still running then), then deletes every job the run left in a queue or
registry, so Redis is as it was found.

A run killed before its teardown (SIGKILL) leaves its jobs in Redis; a run stopped (Ctrl-C)
while a long job ran does not wait for it, and the job files itself after the clean-up. So setup
journals what teardown needs (``_journal``: the job ids present at setup, the queues RQ had not
registered yet, with ``settle: false`` each queue's jobs and their records), and teardown removes
the journal only when nothing of the run can come back. The next setup on the same Redis and
queues, or ``venomqa recover``, finishes the clean-up from it (``LeftoversRepaired``).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from venomqa import Action
from venomqa.errors import StoreError, StoreUnreachableError, VenomQAWarning
from venomqa.json_types import Json
from venomqa.stores.kit import hide_password

from venomqa_celery._imports import require as _require
from venomqa_celery._journal import RunJournal, decode, default_state_dir, encode, journal_path
from venomqa_celery._options import flag, queue_names, seconds
from venomqa_celery._problems import FAILED, STUCK, WorkerProblem
from venomqa_celery._queued import QUEUED
from venomqa_celery._settle import Busy, stop_requested, wait_until_idle

STORE_NAME = "rq"
#: Seconds teardown waits (at least) for running jobs before it cleans up after them.
TEARDOWN_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class _Keys:
    """The Redis keys RQ keeps for one queue."""

    queue: str
    intermediate: str
    started: str
    scheduled: str
    failed: str
    finished: str

    def registries(self) -> tuple[str, ...]:
        return (self.started, self.scheduled, self.failed, self.finished)


@dataclass(frozen=True, slots=True)
class _Token:
    problems: int
    failed: frozenset[str]
    #: settle: false only: each queue's job ids in order, and each pending job's hash.
    pending: dict[str, list[str]]
    jobs: dict[str, dict[bytes, bytes]]


class RQStore:
    """RQ queues in one Redis database (``url``), named by ``queues``."""

    name = STORE_NAME

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        queues: Iterable[str] = ("default",),
        settle: bool = True,
        timeout: float = 10.0,
        state_dir: str | None = None,
    ) -> None:
        self.queues = queue_names(queues)
        self.settles = flag("settle", settle)
        self.timeout = seconds("timeout", timeout)
        self.url = url
        self.state_dir = Path(state_dir) if state_dir else default_state_dir(STORE_NAME)
        self._journal: RunJournal | None = None
        #: What was still busy when a stop signal cut a settle short (teardown does not wait).
        self._cut_short: Busy = {}
        self._client: Any = None
        self._keys: dict[str, _Keys] = {}
        self._at_setup: set[str] = set()
        self._problems: list[WorkerProblem] = []
        self._failed: set[str] = set()
        self._tokens: list[_Token] = []
        self._queues_key = ""
        self._unregistered: list[str] = []

    # -- connection --------------------------------------------------------------------------

    def _redis(self) -> Any:
        if self._client is None:
            raise StoreError("the store is not set up", store=STORE_NAME)
        return self._client

    def _wrapped(self, what: str, exc: Exception) -> StoreError:
        import redis

        if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return StoreUnreachableError(
                f"cannot connect to Redis at {self.url}: {exc}", store=STORE_NAME
            )
        return StoreError(f"{what} failed: {type(exc).__name__}: {exc}", store=STORE_NAME)

    # -- contract ----------------------------------------------------------------------------

    def setup(self) -> None:
        import redis

        _require("rq")
        from rq import Queue
        from rq.registry import (
            FailedJobRegistry,
            FinishedJobRegistry,
            ScheduledJobRegistry,
            StartedJobRegistry,
        )

        try:
            client = redis.Redis.from_url(self.url, socket_timeout=10)
            client.ping()
        except ValueError as exc:
            raise StoreError(f"invalid url {self.url!r}: {exc}", store=STORE_NAME) from exc
        except redis.exceptions.RedisError as exc:
            raise self._wrapped("setup", exc) from exc
        self._client = client
        for name in self.queues:
            queue = Queue(name, connection=client)
            self._keys[name] = _Keys(
                queue=queue.key,
                intermediate=queue.intermediate_queue_key,
                started=StartedJobRegistry(queue=queue).key,
                scheduled=ScheduledJobRegistry(queue=queue).key,  # type: ignore[no-untyped-call]
                failed=FailedJobRegistry(queue=queue).key,
                finished=FinishedJobRegistry(queue=queue).key,
            )
        self._queues_key = Queue.redis_queues_keys
        self._failed = set()
        self._problems = []
        self._tokens = []
        self._cut_short = {}
        where = hide_password(self.url)
        journal = RunJournal(
            journal_path(self.state_dir, STORE_NAME, where, self.queues), STORE_NAME, where
        )
        try:
            journal.open(self._repair)
        except Exception as exc:
            self._close()
            if isinstance(exc, StoreError):
                raise
            what = f"repairing what an earlier run left ({journal.path})"
            raise self._wrapped(what, exc) from exc
        try:
            self._at_setup = self._job_ids()
            known = client.smembers(self._queues_key)
            self._unregistered = [
                k.queue for k in self._keys.values() if k.queue.encode() not in known
            ]
            content: dict[str, Any] = {
                "at_setup": sorted(self._at_setup),
                "unregistered": list(self._unregistered),
            }
            if not self.settles:
                pending, jobs = self._read_pending()
                content["pending"] = {name: list(ids) for name, ids in pending.items()}
                content["jobs"] = {
                    job_id: {encode(k): encode(v) for k, v in fields.items()}
                    for job_id, fields in jobs.items()
                }
            journal.write(content)
        except BaseException as exc:
            journal.close()
            self._close()
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise self._wrapped("setup", exc) from exc
            raise
        self._journal = journal
        if not self.settles:
            QUEUED.append(self)

    def teardown(self) -> None:
        if self in QUEUED:
            QUEUED.remove(self)
        if self._client is None:
            return
        journal, self._journal = self._journal, None
        undone = False
        try:
            busy: Busy = dict(self._cut_short)
            if self.settles and not busy:  # a job still running would file itself afterwards
                busy = wait_until_idle(self._busy, max(self.timeout, TEARDOWN_WAIT))
            self._delete_jobs(self._session_ids(include_setup=False))
            self._unregister()
            if busy:
                _warn_if_busy(busy, journal)
            undone = not busy
        finally:
            if journal is not None:
                journal.close(keep=not undone)
            self._close()

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _unregister(self, keys: Iterable[str] | None = None) -> None:
        """Take the queues RQ registered during the run (on their first enqueue) out of its
        set of queues again, unless they hold jobs."""
        for key in self._unregistered if keys is None else keys:
            if not self._redis().exists(key):
                self._redis().srem(self._queues_key, key)

    def _repair(self, journal: dict[str, Any]) -> str:
        """Finish the teardown of the killed run that left ``journal``: delete every job that
        was not in a queue or registry at its setup, unregister the queues it registered, and
        (``settle: false``) put each queue and its jobs' records back as they were."""
        at_setup = {str(job_id) for job_id in journal.get("at_setup", [])}
        left = sorted(self._job_ids() - at_setup)
        self._delete_jobs(left)
        self._unregister(str(key) for key in journal.get("unregistered", []))
        done = f"deleted the {len(left)} job(s) it left in its queues and registries"
        pending = journal.get("pending")
        if isinstance(pending, dict):
            jobs = {
                str(job_id): {decode(k): decode(v) for k, v in fields.items()}
                for job_id, fields in dict(journal.get("jobs", {})).items()
            }
            ids = {str(name): [str(i) for i in queue] for name, queue in pending.items()}
            self._restore_pending(_Token(0, frozenset(), ids, jobs))
            count = sum(len(queue) for queue in ids.values())
            done += f" and put its queues back as they were ({count} job(s) waiting)"
        return done

    def checkpoint(self) -> int:
        pending: dict[str, list[str]] = {}
        jobs: dict[str, dict[bytes, bytes]] = {}
        if not self.settles:
            pending, jobs = self._read_pending()
        self._tokens.append(_Token(len(self._problems), frozenset(self._failed), pending, jobs))
        return len(self._tokens) - 1

    def rollback(self, token: object) -> None:
        if not isinstance(token, int) or not 0 <= token < len(self._tokens):
            raise StoreError(f"unknown or invalid checkpoint token {token!r}", store=STORE_NAME)
        saved = self._tokens[token]
        del self._tokens[token + 1 :]
        del self._problems[saved.problems :]
        keep = set(saved.failed) | set(saved.jobs)
        self._delete_jobs(self._session_ids(include_setup=False) - keep)
        self._failed = set(saved.failed)
        if not self.settles:
            self._restore_pending(saved)

    def fingerprint(self) -> str:
        digest = hashlib.blake2b(digest_size=8)
        for problem in self._problems:
            digest.update(f"{problem.kind}\0{problem.queue}\0{problem.text}\n".encode())
        if not self.settles:
            for name, descriptions in self._pending_descriptions().items():
                digest.update(f"queue {name}\0{chr(1).join(descriptions)}\n".encode())
        return digest.hexdigest()

    def observe(self) -> dict[str, Json]:
        summary: dict[str, Json] = {
            "mode": "settle" if self.settles else "queued",
            "problems": [p.text for p in self._problems],
        }
        if not self.settles:
            summary["pending"] = {k: list(v) for k, v in self._pending_descriptions().items()}
        return summary

    # -- optional capabilities ---------------------------------------------------------------

    def settle(self) -> None:
        """Wait for the queues to drain (``settle: true``), then note jobs that failed."""
        if self.settles:
            busy = wait_until_idle(self._busy, self.timeout)
            if busy and stop_requested():  # the run is stopping: not stuck, and no wait
                self._cut_short = busy
                return
            for name, what in busy.items():
                self._problems.append(
                    WorkerProblem(
                        STUCK,
                        name,
                        f"queue {name!r} did not settle within {self.timeout:g}s: {what}",
                    )
                )
        self._note_failures()

    def problems(self) -> list[WorkerProblem]:
        """The failed and stuck jobs of the current state, oldest first."""
        return list(self._problems)

    def length(self, queue: str) -> int:
        """How many jobs wait in ``queue`` (QueuePort)."""
        return int(self._redis().llen(self._keys[queue].queue))

    def peek(self, queue: str, count: int = 10) -> list[object]:
        """The descriptions of the next ``count`` jobs of ``queue`` (QueuePort)."""
        return list(self._pending_descriptions([queue])[queue][:count])

    def run_next_job_actions(self) -> list[Action]:
        """An action per queue, ``run_next_job_<queue>``, that runs the queue's oldest job in
        this process (``settle: false``; the job's function must be importable here)."""
        return [
            Action(
                name=f"run_next_job_{name}",
                fn=partial(self._run_next_action, name),
                description=f"run the oldest job of RQ queue {name!r}",
            )
            for name in self.queues
        ]

    def _run_next_action(self, queue: str, api: object, ctx: object) -> str | None:
        return self.run_next_job(queue)

    def run_next_job(self, queue: str) -> str | None:
        """Run the oldest job of ``queue`` here, as a worker would; returns its description,
        or None when the queue is empty. A failure goes to the failed registry."""
        from rq import Queue

        client = self._redis()
        rq_queue = Queue(queue, connection=client)
        job_id = client.lpop(self._keys[queue].queue)
        if job_id is None:
            return None
        job = rq_queue.fetch_job(job_id.decode())
        if job is None:
            return None
        _perform(job, rq_queue)
        return str(job.description)

    # -- internals ---------------------------------------------------------------------------

    def _busy(self) -> Busy:
        client = self._redis()
        pipe = client.pipeline(transaction=False)
        for keys in self._keys.values():
            pipe.llen(keys.queue)
            pipe.llen(keys.intermediate)
            pipe.zcard(keys.started)
            pipe.zcard(keys.scheduled)
        counts = pipe.execute()
        busy: dict[str, str] = {}
        for i, name in enumerate(self._keys):
            waiting, moving, running, scheduled = counts[4 * i : 4 * i + 4]
            if waiting or moving or running or scheduled:
                busy[name] = self._describe_busy(name, waiting + moving, running, scheduled)
        return busy

    def _describe_busy(self, name: str, waiting: int, running: int, scheduled: int) -> str:
        keys = self._keys[name]
        client = self._redis()
        parts = []
        for count, label, ids in (
            (waiting, "waiting", client.lrange(keys.queue, 0, 4)),
            (running, "running", client.zrange(keys.started, 0, 4)),
            (scheduled, "scheduled", client.zrange(keys.scheduled, 0, 4)),
        ):
            if count:
                names = ", ".join(self._describe(i) for i in ids)
                parts.append(f"{count} {label}" + (f" ({names})" if names else ""))
        return ", ".join(parts)

    def _describe(self, job_id: bytes | str) -> str:
        raw = _job_id(job_id)
        description = self._redis().hget(f"rq:job:{raw}", "description")
        return description.decode() if description else f"job {raw}"

    def _note_failures(self) -> None:
        client = self._redis()
        for name, keys in self._keys.items():
            for raw in client.zrange(keys.failed, 0, -1):
                job_id = raw.decode()
                if job_id in self._failed or job_id in self._at_setup:
                    continue
                self._failed.add(job_id)
                self._problems.append(WorkerProblem(FAILED, name, self._failure(name, job_id)))

    def _failure(self, queue: str, job_id: str) -> str:
        from rq.job import Job

        what = self._describe(job_id)
        error = "no exception recorded"
        try:
            job = Job.fetch(job_id, connection=self._redis())
            result = job.latest_result()
            text = (result.exc_string if result is not None else None) or ""
            lines = [line for line in str(text).strip().splitlines() if line.strip()]
            if lines:
                error = lines[-1].strip()
        except Exception as exc:  # the job's hash may be gone (expired): say so, keep going
            error = f"(its record could not be read: {type(exc).__name__})"
        return f"job {what} on queue {queue!r} failed: {error}"

    def _session_ids(self, *, include_setup: bool) -> set[str]:
        """Every job id in the queues and registries (less those present at setup)."""
        ids = self._job_ids()
        return ids if include_setup else ids - self._at_setup

    def _job_ids(self) -> set[str]:
        """Every job id in the queues and registries of this store."""
        client = self._redis()
        pipe = client.pipeline(transaction=False)
        for keys in self._keys.values():
            pipe.lrange(keys.queue, 0, -1)
            pipe.lrange(keys.intermediate, 0, -1)
            for registry in keys.registries():
                pipe.zrange(registry, 0, -1)
        return {_job_id(raw) for found in pipe.execute() for raw in found}

    def _delete_jobs(self, ids: Iterable[str]) -> None:
        """Remove jobs from every queue and registry of this store, and their records."""
        doomed = sorted(ids)
        if not doomed:
            return
        pipe = self._redis().pipeline(transaction=False)
        for keys in self._keys.values():
            for job_id in doomed:
                pipe.lrem(keys.queue, 0, job_id)
                pipe.lrem(keys.intermediate, 0, job_id)
                for registry in keys.registries():
                    pipe.zrem(registry, job_id)
        for job_id in doomed:
            pipe.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
        pipe.execute()

    def _read_pending(self) -> tuple[dict[str, list[str]], dict[str, dict[bytes, bytes]]]:
        client = self._redis()
        pending = {
            name: [raw.decode() for raw in client.lrange(keys.queue, 0, -1)]
            for name, keys in self._keys.items()
        }
        jobs = {
            job_id: dict(client.hgetall(f"rq:job:{job_id}"))
            for ids in pending.values()
            for job_id in ids
        }
        return pending, jobs

    def _restore_pending(self, saved: _Token) -> None:
        pipe = self._redis().pipeline(transaction=True)
        for job_id, fields in saved.jobs.items():
            pipe.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
            if fields:
                pipe.hset(f"rq:job:{job_id}", mapping=fields)
        for name, keys in self._keys.items():
            pipe.delete(keys.queue)
            ids = saved.pending.get(name, [])
            if ids:
                pipe.rpush(keys.queue, *ids)
            for registry in keys.registries():
                for job_id in ids:
                    pipe.zrem(registry, job_id)
        pipe.execute()

    def _pending_descriptions(self, queues: Sequence[str] | None = None) -> dict[str, list[str]]:
        client = self._redis()
        result: dict[str, list[str]] = {}
        for name in queues or self.queues:
            ids = client.lrange(self._keys[name].queue, 0, -1)
            pipe = client.pipeline(transaction=False)
            for raw in ids:
                pipe.hget(f"rq:job:{raw.decode()}", "description")
            result[name] = [
                d.decode() if d else f"job {raw.decode()}"
                for raw, d in zip(ids, pipe.execute(), strict=True)
            ]
        return result


def _warn_if_busy(busy: Busy, journal: RunJournal | None) -> None:
    later = (
        f"; once they are done, the next setup of this store or `venomqa recover` removes "
        f"what they leave (journal {journal.path})"
        if journal is not None
        else ""
    )
    warnings.warn(
        "rq store: jobs still running at teardown may leave their records behind: "
        + "; ".join(f"queue {q!r}: {what}" for q, what in busy.items())
        + later,
        VenomQAWarning,
        stacklevel=3,
    )


def _job_id(entry: bytes | str) -> str:
    """The job id of a queue or registry entry (started registries hold ``id:execution``)."""
    text = entry.decode() if isinstance(entry, bytes) else entry
    return text.split(":", 1)[0]


def _perform(job: Any, queue: Any) -> None:
    """Run ``job`` and file it as RQ's worker does: finished with its result, or failed."""
    import traceback

    from rq.job import JobStatus
    from rq.registry import FailedJobRegistry, FinishedJobRegistry
    from rq.results import Result

    job.set_status(JobStatus.STARTED)
    try:
        job.perform()
    except Exception:
        text = traceback.format_exc()
        job.set_status(JobStatus.FAILED)
        FailedJobRegistry(queue=queue).add(job, exc_string=text)
        Result.create_failure(job, ttl=None, exc_string=text)
        return
    job.set_status(JobStatus.FINISHED)
    FinishedJobRegistry(queue=queue).add(job, -1)
