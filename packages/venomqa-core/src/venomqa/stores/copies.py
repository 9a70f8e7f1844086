"""Names of the copies parallel workers run on (``SupportsClone``), written once for every store.

A worker's copy of a store is named after the original and the worker's label: a file
``<stem>.venomqa-<label><suffix>`` beside the original, a database ``<db>__venomqa_<label>``.
The name is all that marks a copy as VenomQA's (nothing is installed in it), so
``drop_leftover_clones`` finds the copies of one store by name alone, and only names this module
makes match: a label is 1 to 8 letters or digits, and a database name that would exceed the
server's limit keeps a shortened original name plus a hash of the whole of it.

- ``check_label``: a label, or ValueError.
- ``copy_name``/``copy_label``: the copy of ``name`` for a label, and a name's label when it is
  such a copy (else None).
- ``url_with_database``: a URL (``postgresql://``, ``mysql://``) naming another database, every
  other part (user, password, host, query) kept as written.
- ``CopiedByDsn``: ``SupportsClone`` for a store whose copy is another database its ``dsn``
  option names (PostgreSQL, MySQL): the store supplies a ``DatabaseCloner`` and its other
  options; a killed run's leftovers in the original are repaired (setup, teardown) first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol
from urllib.parse import quote

from venomqa.json_types import Json

#: What a label may be: 1 to 8 letters or digits (``w2``, ``w16``).
LABEL = re.compile(r"[A-Za-z0-9]{1,8}")
#: Between a database's name and the label of its copy.
MARK = "__venomqa_"


def check_label(label: str) -> str:
    """``label`` when it is a valid worker label; ValueError saying what one is otherwise."""
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise ValueError(f"a copy's label is 1 to 8 letters or digits (like 'w2'), not {label!r}")
    return label


def copy_prefix(name: str, max_bytes: int) -> str:
    """What the names of ``name``'s copies start with: ``<name>__venomqa_``, or, when a copy's
    name could exceed ``max_bytes`` (UTF-8), a shortened ``name`` plus 8 hex digits of its
    hash, so two long names never share copies."""
    prefix = name + MARK
    if len((prefix + "x" * 8).encode()) <= max_bytes:
        return prefix
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    room = max_bytes - len(MARK) - 8 - 1 - 8  # the hash, its "_", the longest label
    short = name.encode()[:room].decode(errors="ignore")
    return f"{short}_{digest}{MARK}"


def copy_name(name: str, label: str, max_bytes: int = 1 << 30) -> str:
    """The name of ``name``'s copy for worker ``label`` (at most ``max_bytes`` long)."""
    return copy_prefix(name, max_bytes) + check_label(label)


def copy_label(candidate: str, name: str, max_bytes: int = 1 << 30) -> str | None:
    """The label when ``candidate`` is the name of one of ``name``'s copies, else None."""
    prefix = copy_prefix(name, max_bytes)
    if not candidate.startswith(prefix):
        return None
    label = candidate[len(prefix) :]
    return label if LABEL.fullmatch(label) else None


def url_with_database(url: str, database: str) -> str:
    """``url`` with its path (the database) replaced by ``database``, quoted as a URL needs;
    ValueError when ``url`` is not ``scheme://...``. (Done by hand: ``urlunsplit`` drops the
    ``//`` of an empty host, ``postgresql:///db?host=/run/postgresql``.)"""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL: {url!r}")
    host_end = _first(rest, "/?#")
    tail = rest[host_end:]
    path_end = _first(tail, "?#")
    return f"{scheme}://{rest[:host_end]}/{quote(database, safe='')}{tail[path_end:]}"


def _first(text: str, chars: str) -> int:
    """The index of the first of ``chars`` in ``text``, or its length."""
    found = [i for i in (text.find(c) for c in chars) if i >= 0]
    return min(found, default=len(text))


class DatabaseCloner(Protocol):
    """Makes and removes the copies of one database (a store package's ``_clone.Cloner``)."""

    def clone(self, label: str, repair: Callable[[], None]) -> str:
        """Copy the database for ``label``; the copy's dsn. ``repair`` (the original's setup and
        teardown) is called first when a killed run left something in the original."""
        ...

    def drop(self, options: Mapping[str, Json]) -> None:
        """Drop the copy whose store options these are."""
        ...

    def drop_leftovers(self) -> list[str]:
        """Drop the copies no live run uses; one line per copy dropped."""
        ...


class CopiedByDsn:
    """``SupportsClone`` of a store whose copy is another database named by its ``dsn``."""

    #: The tables chosen, and those left out (the store's own options of those names).
    tables: Sequence[str] | None
    exclude: Sequence[str]

    def setup(self) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        raise NotImplementedError

    def copy_options(self, dsn: str) -> dict[str, Json]:
        """The options of the store on the copy at ``dsn``, other than ``tables``/``exclude``."""
        raise NotImplementedError

    @property
    def cloner(self) -> DatabaseCloner:
        raise NotImplementedError

    def clone(self, label: str) -> dict[str, Json]:
        """Copy the database (the store not set up) for worker ``label``: these options with
        the dsn naming ``<db>__venomqa_<label>``; a killed run's leftovers are repaired first."""
        options = self.copy_options(self.cloner.clone(label, repair=self._repair_leftovers))
        if self.tables is not None:
            options["tables"] = list(self.tables)
        if self.exclude:
            options["exclude"] = list(self.exclude)
        return options

    def drop_clone(self, options: Mapping[str, Json]) -> None:
        """Drop the copy ``clone`` made with these options."""
        self.cloner.drop(options)

    def drop_leftover_clones(self) -> list[str]:
        """Drop the copies of the database no live run uses; one line per copy dropped."""
        return self.cloner.drop_leftovers()

    def _repair_leftovers(self) -> None:
        self.setup()
        self.teardown()
