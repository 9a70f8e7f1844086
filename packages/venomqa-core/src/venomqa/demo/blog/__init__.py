"""The blog demo: an API that stores what real APIs store (random ids, timestamps, salted
hashes, JWTs), so no two runs of the same calls leave byte-identical data, with two seeded bugs.

``venomqa demo --api blog`` explores it with no configuration: VenomQA learns which values are
volatile and shows the ``ignore:`` lines that pin them. ``start_blog_server(storage)`` runs it in
a child process (``storage``: ``sqlite:PATH`` or ``MODULE:FUNCTION:ARGUMENT``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from venomqa.testing.server import ApiProcess, start_api_process


def start_blog_server(
    storage: str,
    *,
    port: int = 0,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 15.0,
) -> ApiProcess:
    """Start ``python -m venomqa.demo.blog`` on ``storage`` and wait until it listens."""
    command = [sys.executable, "-m", "venomqa.demo.blog", "--storage", storage]
    command += ["--port", str(port)]
    environment = None if env is None else {**os.environ, **env}
    return start_api_process(
        command, what="blog demo server", startup_timeout=startup_timeout, env=environment
    )


__all__ = ["start_blog_server"]
