"""Ctrl-C during a journey step that has a timeout (its call runs in a thread of its own): the
signal waits for the call's answer, as it does for any call to the API, so the API has finished
what the call started before the stores are rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import venomqa.client as client_module
import venomqa.stores.sqlite as sqlite_store
from _support_runner import create_database, rows_in, running_server
from venomqa import ExecutionContext, Journey, Step
from venomqa.errors import RunInterrupted
from venomqa.runner import run_journey
from venomqa.world import World

#: How long the slow call's server waits before it writes: long after the signal was handled.
DELAY_S = 0.6


def _create(api: Any, ctx: ExecutionContext) -> Any:
    return api.post("/items", json={"name": "apple"})


def _create_slowly_with_ctrl_c(api: Any, ctx: ExecutionContext) -> Any:
    # Ctrl-C lands while the server works on this call (it sends SIGINT as the call arrives).
    return api.post("/items", json={"name": "late", "delay_s": DELAY_S, "ctrl_c": True})


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_ctrl_c_waits_for_the_steps_call_then_rolls_the_store_back(
    tmp_path: Path, timeout: float | None
) -> None:
    db_path = tmp_path / "items.db"
    create_database(db_path)
    with running_server(db_path) as server:
        client = client_module.Client(server.url, timeout=5.0)
        world = World(client, stores={"db": sqlite_store.SQLiteStore(str(db_path))})
        journey = Journey(
            "interrupted",
            [
                Step(name="first", action=_create),
                Step(name="slow", action=_create_slowly_with_ctrl_c, timeout=timeout),
            ],
        )
        with pytest.raises(RunInterrupted):
            run_journey(world, journey)
        client.close()
        # Both calls were answered before the journey ended, so both rows were rolled back;
        # had the journey not waited, "late" would have been written after the rollback.
        assert server.posted.acquire(timeout=5) and server.posted.acquire(timeout=5)
        assert server.requests_seen == 2
    assert rows_in(db_path) == []
