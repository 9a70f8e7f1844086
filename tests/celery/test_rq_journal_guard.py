"""The queue stores' crash journal, around the edges: a second live run on the same queues is
refused (it would "repair" the first one's journal under it), and a journal that cannot be read
is a store error naming the file, with the lock let go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import QUEUE, RQ_URL, journals_left
from venomqa.errors import StoreError
from venomqa_celery import RQStore

pytestmark = [pytest.mark.other_distributions]


def test_a_second_live_run_on_the_same_queues_is_refused(
    rq_redis: Any, private_state_dir: Path
) -> None:
    first = RQStore(url=RQ_URL, queues=[QUEUE])
    first.setup()
    try:
        with pytest.raises(StoreError, match="is in use by another VenomQA run"):
            RQStore(url=RQ_URL, queues=[QUEUE]).setup()
        other = RQStore(url=RQ_URL, queues=[f"{QUEUE}_other"])  # other queues: no conflict
        other.setup()
        other.teardown()
    finally:
        first.teardown()
    assert journals_left(private_state_dir) == []


def test_an_unreadable_journal_is_an_error_naming_the_file(
    rq_redis: Any, private_state_dir: Path
) -> None:
    store = RQStore(url=RQ_URL, queues=[QUEUE])
    store.setup()
    (journal,) = (private_state_dir / "venomqa" / "rq").glob("*.json")
    store.teardown()
    journal.write_text("{not json")
    with pytest.raises(StoreError, match="cannot read the journal an earlier run left at") as e:
        store.setup()
    assert str(journal) in str(e.value) and "delete the file" in str(e.value)
    journal.unlink()
    store.setup()  # the failed setup let its lock go
    store.teardown()
    assert journals_left(private_state_dir) == []
