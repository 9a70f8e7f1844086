"""Per-request overhead of venomqa's Client (recording + redaction) over a bare httpx.Client.

Both clients call the same in-process WSGI app, so the difference is the Client's own work:
building the RequestRecord and redacting headers and URL (bodies are decoded lazily). The last
column is the one-off cost of reading a record's bodies, paid only for records someone reads
(e.g. the steps of a violation). Best of several rounds, to damp machine noise. Run:

    hatch run python bench/bench_client.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from venomqa.client import BearerAuth, Client

SMALL = json.dumps({"id": 7, "status": "paid", "amount": 1999, "token": "t-123"}).encode()
LARGE = json.dumps(
    {"items": [{"id": i, "name": f"item {i}", "password": "x"} for i in range(600)]}
).encode()
PAYLOAD = {"name": "ada", "password": "pw", "nested": {"api_key": "k"}}


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = LARGE if environ["PATH_INFO"] == "/large" else SMALL
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def best_us(action: Callable[[], Any], n: int = 500, rounds: int = 5) -> float:
    for _ in range(50):
        action()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            action()
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


def main() -> None:
    raw = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver")
    api = Client(app=app, auth=BearerAuth("bench-secret-token"))

    def read_bodies() -> None:
        record = api.records_since(api.mark() - 1)[0]
        _ = (record.request_body, record.response_body)

    for path, size in (("/small", len(SMALL)), ("/large", len(LARGE))):
        bare = best_us(lambda path=path: raw.post(path, json=PAYLOAD))
        ours = best_us(lambda path=path: api.post(path, json=PAYLOAD))
        api.clear_history()
        read = best_us(lambda path=path: (api.post(path, json=PAYLOAD), read_bodies()))
        api.clear_history()
        print(
            f"{path:7s} ({size:6d} B response): httpx {bare:7.1f} us/request, "
            f"venomqa Client {ours:7.1f} us/request (+{ours - bare:6.1f} us), "
            f"reading the record's bodies +{read - ours:7.1f} us"
        )
    raw.close()
    api.close()


if __name__ == "__main__":
    main()
