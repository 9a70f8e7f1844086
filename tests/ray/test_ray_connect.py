"""Connecting for a run (``venomqa_ray._connect``): a ``ray://`` connection whose per-driver
server failed to start is tried again, other failures are not, and the last failure is an
InfrastructureError naming the address. Ray's own client proxy cannot be made to fail on demand,
so ``ray.init`` here is a stand-in that fails as the proxy does (the message Ray raises)."""

from __future__ import annotations

import types
from typing import Any

import pytest
from venomqa.errors import InfrastructureError
from venomqa_ray import _connect

PROXY_FAILURE = (
    "Initialization failure from server: RuntimeError: Starting Ray client server failed. "
    "See ray_client_server_23000.err for detailed logs."
)


class StandInRay(types.SimpleNamespace):
    """``init`` raises the queued errors, one per call, then connects."""

    def __init__(self, errors: list[Exception]) -> None:
        super().__init__(calls=[], shutdowns=0, errors=list(errors), connected=False)

    def is_initialized(self) -> bool:
        return bool(self.connected)

    def init(self, address: str, **options: Any) -> None:
        self.calls.append(address)
        if self.errors:
            raise self.errors.pop(0)
        self.connected = True

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.connected = False


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_connect.time, "sleep", lambda _s: None)
    monkeypatch.setattr(_connect, "probe", lambda _a: None)


def connect(ray: StandInRay, address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_connect, "import_ray", lambda: ray)
    with _connect.connected(address):
        assert ray.connected


def test_a_client_server_that_failed_to_start_is_tried_again(
    no_waiting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = StandInRay([ConnectionAbortedError(PROXY_FAILURE)])
    connect(ray, "ray://127.0.0.1:10001", monkeypatch)
    assert ray.calls == ["ray://127.0.0.1:10001"] * 2


def test_it_gives_up_after_the_last_attempt_naming_the_address(
    no_waiting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = StandInRay([ConnectionAbortedError(PROXY_FAILURE)] * _connect.CLIENT_ATTEMPTS)
    with pytest.raises(InfrastructureError, match=r"ray://127\.0\.0\.1:10001.*client server"):
        connect(ray, "ray://127.0.0.1:10001", monkeypatch)
    assert len(ray.calls) == _connect.CLIENT_ATTEMPTS


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("127.0.0.1:6379", ConnectionAbortedError(PROXY_FAILURE)),  # not through the proxy
        ("ray://127.0.0.1:10001", ConnectionError("connection refused")),  # not transient
    ],
)
def test_other_failures_are_not_tried_again(
    no_waiting: None, monkeypatch: pytest.MonkeyPatch, address: str, error: Exception
) -> None:
    ray = StandInRay([error, error])
    with pytest.raises(InfrastructureError, match="cannot connect to the Ray cluster"):
        connect(ray, address, monkeypatch)
    assert ray.calls == [address]
