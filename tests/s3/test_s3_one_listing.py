"""One bucket listing per explorer step: the world's "unchanged since your last call" notice lets
the view, the checkpoint and the next rollback of a state share a listing; an action, a request
through the API client, or the store's own writes make the next call list again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import venomqa_s3.store as s3_store
from _support_s3 import SeaweedFS, bucket_content
from venomqa import World
from venomqa.evaluation import run_action
from venomqa_s3 import S3Store


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every bucket listing the store makes (the real one, counted) is appended to the list."""
    calls: list[str] = []
    real = s3_store.list_current

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("list")
        return real(*args, **kwargs)

    monkeypatch.setattr(s3_store, "list_current", counted)
    return calls


def _writer_app(s3: Any, bucket: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI API whose every request writes an object: a request is a possible write."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        s3.put_object(Bucket=bucket, Key=f"api{environ['PATH_INFO']}", Body=b"by the API")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def test_one_listing_serves_view_checkpoint_and_rollback(
    seaweed: SeaweedFS, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"doc/{i}", Body=b"seed")
    store = S3Store(bucket=bucket, endpoint_url=seaweed.endpoint_url)
    world = World(_writer_app(s3, bucket), stores={"files": store})
    with world.session() as start:
        before = bucket_content(s3, bucket)
        lists = _counting(monkeypatch)

        def upload(api: Any, ctx: Any) -> None:  # writes without any HTTP request
            s3.put_object(Bucket=bucket, Key="doc/0", Body=b"changed")

        run_action(world, "upload", upload)
        view = world.view()
        token = world.checkpoint()
        fingerprint = world.fingerprint()
        assert len(lists) == 1, "the checkpoint and fingerprint re-listed an unchanged bucket"
        assert [c.identity for c in view.stores["files"]] == [("doc/0",)]  # type: ignore[union-attr]

        run_action(world, "upload again", upload)
        s3.put_object(Bucket=bucket, Key="doc/1", Body=b"changed too")
        world.view()
        assert len(lists) == 2, "an action ran: the view must list again"
        assert world.fingerprint() != fingerprint

        world.api.get("/written")  # a request the API answered by writing: no reuse
        assert world.fingerprint() != fingerprint and len(lists) == 3

        world.rollback(token)  # reuses the fingerprint's listing, then deletes versions
        assert len(lists) == 3
        assert world.fingerprint() == fingerprint and len(lists) == 4  # its own write: re-list
        world.rollback(start)
        assert bucket_content(s3, bucket) == before


def test_the_store_forgets_its_listing_after_its_own_writes(
    seaweed: SeaweedFS, s3: Any, bucket: str
) -> None:
    store = S3Store(bucket=bucket, endpoint_url=seaweed.endpoint_url)
    store.setup()
    try:
        empty = store.fingerprint()
        store.unchanged_since_last_call()
        store.put("doc/a", b"by an invariant")
        assert store.fingerprint() != empty
        store.unchanged_since_last_call()
        store.delete("doc/a")
        assert store.fingerprint() == empty
        s3.put_object(Bucket=bucket, Key="doc/b", Body=b"by another writer")
        assert store.fingerprint() != empty  # no notice: always a fresh listing
    finally:
        store.teardown()
