"""Small pieces every store adapter needs, written once: optional helpers for adapter authors.

- ``TokenStack``: the live checkpoint tokens of a store, with the contract's stack semantics
  (rolling back to a token keeps it valid and invalidates every later one; a released token is
  gone) and one clear error for a token that is unknown or no longer valid.
- ``new_serial()``: numbers that tell tokens apart, unique within the process.
- ``already_set_up`` / ``not_set_up``: the errors for calling ``setup()`` twice or an operation
  before ``setup()``, naming the store and what to do.
- ``hide_password``: a DSN or URL for messages, with its password masked (``user:***@host``,
  ``password=***``).

A store written from the contract alone does not need any of this; the built-in and bundled
adapters use all of it so they behave the same.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from venomqa.errors import StoreError

_serials = itertools.count(1)
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]+@|(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


class Token(Protocol):
    """What ``TokenStack`` needs of a token: a serial number unique in the process."""

    @property
    def serial(self) -> int: ...


T = TypeVar("T", bound=Token)


def new_serial() -> int:
    """A number no other token of this process has."""
    return next(_serials)


class TokenStack(Generic[T]):
    """The live checkpoint tokens of one store, oldest first."""

    def __init__(self, store: str, token_type: type[T]) -> None:
        self.store = store
        self.token_type = token_type
        self._live: list[T] = []

    def __iter__(self) -> Iterator[T]:
        return iter(self._live)

    def __len__(self) -> int:
        return len(self._live)

    def push(self, token: T) -> T:
        """Make ``token`` live (the newest)."""
        self._live.append(token)
        return token

    def require(self, token: object) -> T:
        """``token`` when it is live; otherwise the contract's StoreError."""
        if isinstance(token, self.token_type) and token in self._live:
            return token
        raise StoreError(
            f"rollback to an unknown or invalidated checkpoint token {token!r} "
            "(tokens taken after the one rolled back to, or released ones, are invalid)",
            store=self.store,
        )

    def rolled_back_to(self, token: T) -> None:
        """``token`` was rolled back to: every later token is invalid now."""
        del self._live[self._live.index(token) + 1 :]

    def release(self, token: object) -> bool:
        """Forget ``token``; False when it was not live."""
        if isinstance(token, self.token_type) and token in self._live:
            self._live.remove(token)
            return True
        return False

    def reset(self, *tokens: T) -> None:
        """Forget every token; ``tokens`` become the live ones."""
        self._live = list(tokens)


def already_set_up(where: str, store: str) -> StoreError:
    """The error for ``setup()`` called twice."""
    return StoreError(f"{where} is already set up; call teardown() first", store=store)


def not_set_up(where: str, store: str) -> StoreError:
    """The error for an operation before ``setup()`` (or after ``teardown()``)."""
    return StoreError(f"{where} is not set up; call setup() first", store=store)


def hide_password(text: str) -> str:
    """``text`` (a URL or a ``key=value`` DSN) with any password replaced by ``***``."""

    def hide(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)}***@"
        return f"{match.group(2)}***"

    return _PASSWORD.sub(hide, text)
