"""The blog's PostgreSQL storage (``_support_postgres_blog``) behind a 50 ms wait per call, as an
API whose database is across a network: a run lasts long enough to be interrupted.

``--storage _support_ray_slow_storage:open_storage:DSN`` (with this folder and tests/postgres on
PYTHONPATH).
"""

from __future__ import annotations

import time
from typing import Any

import _support_postgres_blog

DELAY_S = 0.05


class SlowStorage:
    """Every method of the wrapped storage, called after ``DELAY_S``."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._storage, name)
        if not callable(found):
            return found

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(DELAY_S)
            return found(*args, **kwargs)

        return slow


def open_storage(dsn: str) -> SlowStorage:
    """The ``FUNCTION`` of ``--storage _support_ray_slow_storage:open_storage:DSN``."""
    return SlowStorage(_support_postgres_blog.open_storage(dsn))
