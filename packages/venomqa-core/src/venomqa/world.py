"""World: the API client, named stores and the context, checkpointed and rolled back together."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from venomqa.context import ContextSnapshot, ExecutionContext
from venomqa.errors import (
    RollbackDriftError,
    RunInterrupted,
    StoreError,
    UsageError,
    VenomQAError,
)
from venomqa.interrupts import INTERRUPTS
from venomqa.json_types import Json
from venomqa.ports.cache import CachePort
from venomqa.ports.database import DatabasePort
from venomqa.ports.queue import QueuePort
from venomqa.ports.storage import StoragePort
from venomqa.ports.store import (
    StorePort,
    optional_release,
    optional_settle,
    optional_unchanged,
)
from venomqa.restoration import Snapshot, drift, take
from venomqa.state.view import StorePart, WorldView

if TYPE_CHECKING:
    from venomqa.client import Client

_T = TypeVar("_T")


@dataclass(frozen=True)
class WorldCheckpoint:
    """Tokens of every store plus a snapshot of the context, taken at one moment."""

    #: Each store's opaque checkpoint token, by store name.
    tokens: dict[str, object]
    context: ContextSnapshot
    #: What the stores held, to check rollbacks against (only with ``World.verify_rollback``).
    expected: Snapshot | None = None


class World:
    """What actions act on and invariants look at: ``api``, ``stores`` and ``ctx``.

    ``api`` may be a venomqa Client, a base URL, or an in-process ASGI/WSGI app (any other
    object is taken for one).
    Use it as a context manager (or call ``setup``/``teardown``) so stores install and remove
    their machinery; teardown always runs every store's teardown, even after a failure.
    """

    def __init__(
        self,
        api: Client | str | object,
        stores: Mapping[str, StorePort] | None = None,
        ctx: ExecutionContext | None = None,
    ) -> None:
        self.api: Client = _as_client(api)
        self.stores: dict[str, StorePort] = dict(stores or {})
        self.ctx: ExecutionContext = ctx if ctx is not None else ExecutionContext()
        self._set_up: list[str] = []
        self._start: Snapshot | None = None
        #: Check after every rollback that the stores hold what they held at the checkpoint
        #: (a self-check of the adapters; raises RollbackDriftError naming what differs).
        self.verify_rollback = False
        #: Actions noted (``note_action``) and the client's request mark at the world's last call
        #: to its stores: the same values later mean nothing the world knows of wrote since.
        self._actions = 0
        self._calm: tuple[int, int] | None = None
        #: ``_actions`` when the stores were last settled (``SupportsSettle``).
        self._settled = 0

    def note_action(self) -> None:
        """An action is about to run: the stores may change (no ``unchanged`` notice next)."""
        self._actions += 1

    def settle(self) -> None:
        """Let stores that offer ``settle`` (``SupportsSettle``) wait for their background work,
        once after each action; called before every checkpoint, rollback, fingerprint and view."""
        if self._settled == self._actions:
            return
        self._settled = self._actions
        for name, store in self.stores.items():
            self._call(name, "settle", partial(optional_settle, store))

    def _before_reading_stores(self) -> None:
        """What every checkpoint, rollback, fingerprint and view starts with: let background
        work settle, then tell the stores if nothing can have written since the last call."""
        self.settle()
        self._notice_if_unchanged()

    def _notice_if_unchanged(self) -> None:
        """Tell the stores (``SupportsUnchangedNotice``) when no action ran and no request went
        out since the world's previous call to them, so they may reuse what they last read."""
        now = (self._actions, self.api.mark())
        if now == self._calm:
            for store in self.stores.values():
                optional_unchanged(store)
        self._calm = now

    def setup(self) -> None:
        """Set up every store in order; if one fails, tear down those already set up."""
        for name, store in self.stores.items():
            try:
                with INTERRUPTS.critical():
                    store.setup()
                    self._set_up.append(name)
            except BaseException as exc:
                if self._set_up and self._set_up[-1] == name:  # set up, then interrupted
                    raise
                errors = self.teardown()
                if isinstance(exc, StoreError) and exc.store != name:
                    raise exc.located(name) from exc
                if isinstance(exc, VenomQAError) or not isinstance(exc, Exception):
                    raise
                detail = f" (teardown also failed: {'; '.join(errors)})" if errors else ""
                raise StoreError(f"setup failed: {exc}{detail}", store=name) from exc

    def teardown(self) -> list[str]:
        """Tear down every store that was set up (last first); returns the errors it met."""
        errors: list[str] = []
        with INTERRUPTS.critical():
            while self._set_up:
                name = self._set_up.pop()
                try:
                    self.stores[name].teardown()
                except Exception as exc:
                    errors.append(f"store {name!r}: teardown failed: {exc}")
        return errors

    def __enter__(self) -> World:
        self.setup()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        errors = self.teardown()
        if errors and exc is None:
            raise StoreError("; ".join(errors))

    @contextmanager
    def session(self, *, manage: bool = True) -> Iterator[WorldCheckpoint]:
        """One run against the world, and its clean-up whatever happens.

        Sets the stores up (with ``manage``; else they must be set up already), checkpoints the
        start and yields that checkpoint. On the way out, also on errors and Ctrl-C, it rolls
        every store and the context back to the start, releases the checkpoint and tears down
        what it set up. A clean-up failure is raised as a StoreError naming every problem,
        unless another error is already propagating (that one wins).

        Meanwhile Ctrl-C, SIGTERM and SIGHUP stop the run as ``RunInterrupted``, but never in
        the middle of a store operation (``venomqa.interrupts``): a store is never left half-way
        through a rollback or a checkpoint, and the clean-up itself runs to its end.
        """
        with INTERRUPTS.handled():
            start: WorldCheckpoint | None = None
            try:
                if manage:
                    self.setup()
                start = self.checkpoint()
                self._start = take(self.stores, self._call, audit=self.verify_rollback)
                yield start
            except BaseException as exc:
                errors = self._end_session(start, manage)
                if errors:  # what is left matters more than why the run ended
                    raise _left_over(errors) from exc
                if isinstance(exc, RunInterrupted):
                    exc.restored = tuple(self.stores)
                raise
            errors = self._end_session(start, manage)
            if errors:
                raise _left_over(errors)

    def _end_session(self, start: WorldCheckpoint | None, manage: bool) -> list[str]:
        with INTERRUPTS.critical():  # a stop signal now waits until everything is cleaned up
            return self._clean_up(start, manage)

    def _clean_up(self, start: WorldCheckpoint | None, manage: bool) -> list[str]:
        errors: list[str] = []
        if start is not None:
            try:
                self.rollback(start)
                self.release(start)
                errors.extend(self._not_restored())
            except Exception as exc:
                errors.append(f"rolling back to the start of the run failed: {exc}")
        if manage:
            errors.extend(self.teardown())
        return errors

    def _not_restored(self) -> list[str]:
        """What is not back as it was at the start of the session, store by store."""
        if self._start is None:
            return []
        return [
            f"{problem} (after the final rollback)"
            for problem in drift(
                self._start, take(self.stores, self._call, audit=bool(self._start.audits))
            )
        ]

    def checkpoint(self) -> WorldCheckpoint:
        """Checkpoint every store and snapshot the context."""
        self._before_reading_stores()
        tokens = {
            name: self._call(name, "checkpoint", store.checkpoint)
            for name, store in self.stores.items()
        }
        verify = self.verify_rollback
        expected = take(self.stores, self._call, audit=True) if verify else None
        return WorldCheckpoint(tokens=tokens, context=self.ctx.snapshot(), expected=expected)

    def rollback(self, checkpoint: WorldCheckpoint) -> None:
        """Roll every store back to ``checkpoint`` and restore the context (and, when the
        checkpoint was taken with ``verify_rollback``, check the stores are as they were)."""
        self._before_reading_stores()
        for name, store in self.stores.items():
            self._call(name, "rollback", partial(store.rollback, checkpoint.tokens[name]))
        self.ctx.restore(checkpoint.context)
        if checkpoint.expected is not None:
            problems = drift(checkpoint.expected, take(self.stores, self._call, audit=True))
            if problems:
                raise RollbackDriftError(
                    "a rollback did not restore the checkpoint: " + "; ".join(problems)
                )

    def release(self, checkpoint: WorldCheckpoint) -> None:
        """Tell stores that offer ``release`` that this checkpoint will not be used again."""
        for name, store in self.stores.items():
            self._call(name, "release", partial(optional_release, store, checkpoint.tokens[name]))

    def fingerprint(self) -> str:
        """The state key: every store's fingerprint plus the context's, hashed together."""
        self._before_reading_stores()
        parts = [
            f"{name}={self._call(name, 'fingerprint', store.fingerprint)}"
            for name, store in self.stores.items()
        ]
        parts.append(f"ctx={self.ctx.fingerprint()}")
        return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()

    def database(self, name: str) -> DatabasePort:
        """The store ``name`` as a SQL database, for invariants: ``.query(sql, params)``."""
        store = self._store(name)
        if isinstance(store, DatabasePort):
            return store
        raise _not_a(name, store, "DatabasePort", "query(sql, params)")

    def cache(self, name: str) -> CachePort:
        """The store ``name`` as a key/value cache: ``get``, ``set``, ``delete``, ``keys``."""
        store = self._store(name)
        if isinstance(store, CachePort):
            return store
        raise _not_a(name, store, "CachePort", "get/set/delete/keys")

    def storage(self, name: str) -> StoragePort:
        """The store ``name`` as object storage: ``get``, ``put``, ``delete``, ``list``."""
        store = self._store(name)
        if isinstance(store, StoragePort):
            return store
        raise _not_a(name, store, "StoragePort", "get/put/delete/list")

    def queue(self, name: str) -> QueuePort:
        """The store ``name`` as a set of job queues: ``length``, ``peek``."""
        store = self._store(name)
        if isinstance(store, QueuePort):
            return store
        raise _not_a(name, store, "QueuePort", "length/peek")

    def _store(self, name: str) -> StorePort:
        store = self.stores.get(name)
        if store is None:
            known = ", ".join(map(repr, self.stores)) or "none"
            raise UsageError(f"the world has no store named {name!r} (stores: {known})")
        return store

    def view(self) -> WorldView:
        """The current state as the explorer keys and compares it: each store's changed records
        (or, for a store that cannot list them, its fingerprint) and a copy of the context."""
        parts: dict[str, StorePart] = {}
        self._before_reading_stores()
        for name, store in self.stores.items():
            changed = getattr(store, "changed_records", None)
            if callable(changed):
                parts[name] = self._call(name, "changed_records", changed)
            else:
                parts[name] = self._call(name, "fingerprint", store.fingerprint)
        return WorldView(parts, self.ctx.copy_data())

    def observe(self) -> dict[str, Json]:
        """Each store's human-readable summary, by store name."""
        self.settle()
        return {
            name: self._call(name, "observe", store.observe) for name, store in self.stores.items()
        }

    @staticmethod
    def _call(name: str, operation: str, fn: Callable[[], _T]) -> _T:
        try:
            with INTERRUPTS.critical():
                return fn()
        except StoreError as exc:
            located = exc.located(name)
            if located is exc:
                raise
            raise located from exc
        except VenomQAError:
            raise
        except Exception as exc:
            raise StoreError(
                f"{operation} failed: {type(exc).__name__}: {exc}", store=name
            ) from exc


def _left_over(errors: list[str]) -> StoreError:
    """The error for a session whose clean-up did not bring everything back."""
    return StoreError(
        "; ".join(errors) + "; the stores may not be as they were before the run: run "
        "`venomqa recover` (with the same venomqa.yaml) to finish the clean-up"
    )


def _not_a(name: str, store: StorePort, port: str, methods: str) -> UsageError:
    adapter = getattr(store, "name", type(store).__name__)
    return UsageError(f"store {name!r} (adapter {adapter!r}) is not a {port}: it has no {methods}")


def _as_client(api: object) -> Client:
    from venomqa.client import Client

    if isinstance(api, Client):
        return api
    if isinstance(api, str):
        return Client(base_url=api)
    return Client(app=api)
