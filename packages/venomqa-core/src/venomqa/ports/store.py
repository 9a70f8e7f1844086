"""The store contract every stateful adapter implements (DESIGN §4).

A store is something the API under test keeps state in. Only the six methods of ``StorePort`` plus
a ``name`` class attribute are required; everything else core may use is optional and looked up
with ``getattr`` (see ``optional_release`` and ``SupportsQuery``).

Token semantics: ``checkpoint()`` returns a token for the current state. ``rollback(token)`` puts
the state back exactly as it was at ``token``; the token stays valid (it can be rolled back to
again), and every token taken *after* it is invalid from then on. Tokens therefore behave like a
stack, which is what the explorer and the journey runner use.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class StorePort(Protocol):
    """A store VenomQA can checkpoint and roll back while a (possibly separate) API writes it."""

    name: str

    def setup(self) -> None:
        """Install whatever the adapter needs (triggers, log tables, ...). Called once per run."""

    def teardown(self) -> None:
        """Remove everything ``setup`` installed, leaving the store as the user had it."""

    def checkpoint(self) -> Any:
        """Remember the current state and return an opaque token for it."""

    def rollback(self, token: Any) -> None:
        """Make the state exactly what it was at ``token`` (data and id counters)."""

    def fingerprint(self) -> str:
        """A short value, equal for equal states; cheap, called after every action."""

    def observe(self) -> dict[str, Any]:
        """A small human-readable summary of the state for reports."""


@runtime_checkable
class SupportsRelease(Protocol):
    """Optional: free the resources a token holds once it will not be rolled back to again."""

    def release(self, token: Any) -> None: ...


@runtime_checkable
class SupportsQuery(Protocol):
    """Optional: SQL stores answer queries for invariants."""

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]: ...


REQUIRED_STORE_METHODS = ("setup", "teardown", "checkpoint", "rollback", "fingerprint", "observe")


def missing_store_methods(store_cls: type) -> list[str]:
    """The contract methods a store class lacks (empty when it honours the contract)."""
    return [m for m in REQUIRED_STORE_METHODS if not callable(getattr(store_cls, m, None))]


def optional_release(store: object, token: Any) -> None:
    """Call ``store.release(token)`` when the store offers it; do nothing otherwise."""
    release = getattr(store, "release", None)
    if callable(release):
        release(token)
