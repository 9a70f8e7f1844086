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
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

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
