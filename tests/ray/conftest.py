"""Fixtures of the Ray backend's tests: one real Ray cluster on 127.0.0.1 for the session
(``_support_ray_cluster``), started only if a test asks for it. Without the ray package the
tests skip on a laptop and fail under CI=true. ``tests/core`` and ``tests/postgres`` are
importable: the Ray runs are compared with the helpers of the local workers' tests.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_ray_cluster import RayCluster, local_cluster
from services import require_module

HERE = Path(__file__).resolve().parent
for folder in ("core", "postgres"):
    path = str(HERE.parent / folder)
    if path not in sys.path:
        sys.path.append(path)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    require_module("ray")

    with local_cluster() as cluster:
        yield cluster
