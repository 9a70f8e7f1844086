"""The bundled demo: the shop server as a real subprocess, its seeded bugs, and `venomqa demo`."""

from __future__ import annotations

import json
import socket
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from _support_demo import processes_mentioning
from click.testing import CliRunner
from venomqa.cli.demo import demo
from venomqa.demo import DemoServer, DemoServerError, init_schema, start_demo_server


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[DemoServer, httpx.Client, Path]]:
    db = tmp_path / "shop.db"
    init_schema(str(db))
    with start_demo_server(db) as server, httpx.Client(base_url=server.url) as client:
        yield server, client, db


def test_server_serves_the_shop_over_http_from_a_separate_process(
    shop: tuple[DemoServer, httpx.Client, Path],
) -> None:
    server, client, db = shop
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    created = client.post("/orders", json={"amount": 700})
    assert created.status_code == 201
    assert created.json() == {
        "id": 1,
        "amount": 700,
        "status": "pending",
        "refunded": 0,
        "cancelled": False,
    }
    assert client.get("/orders/1").json()["status"] == "pending"
    assert client.get("/orders/2").status_code == 404
    assert client.post("/orders", json={"amount": -1}).status_code == 400
    assert client.post("/orders", content=b"{not json").status_code == 400
    assert client.put("/orders/1").status_code == 405  # the route exists, not for PUT
    assert client.get("/nowhere").status_code == 404
    # The server wrote the file through its own connection: we read it from ours.
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT id, amount, status FROM orders").fetchall() == [
            (1, 700, "pending")
        ]


def test_each_rule_holds_for_a_single_call(shop: tuple[DemoServer, httpx.Client, Path]) -> None:
    _, client, _ = shop
    client.post("/orders", json={"amount": 100})
    assert client.get("/orders").json()["total"] == 1
    assert client.post("/orders/1/refund").status_code == 409  # not paid yet
    assert client.post("/orders/1/refund", json={"amount": 101}).status_code == 409
    assert client.delete("/orders/1").status_code == 200
    assert client.get("/orders/1").status_code == 404
    assert client.delete("/orders/1").status_code == 404


def test_seeded_bug_cancelled_order_still_counted(
    shop: tuple[DemoServer, httpx.Client, Path],
) -> None:
    _, client, _ = shop
    client.post("/orders", json={"amount": 100})
    client.delete("/orders/1")
    listing = client.get("/orders").json()
    assert listing["orders"] == [] and listing["total"] == 1


def test_seeded_bug_cancelled_order_can_be_paid(
    shop: tuple[DemoServer, httpx.Client, Path],
) -> None:
    _, client, db = shop
    client.post("/orders", json={"amount": 100})
    client.delete("/orders/1")
    assert client.post("/orders/1/pay").status_code == 200
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT status, cancelled FROM orders").fetchall() == [("paid", 1)]


def test_seeded_bug_refunding_twice_over_refunds(
    shop: tuple[DemoServer, httpx.Client, Path],
) -> None:
    _, client, db = shop
    client.post("/orders", json={"amount": 100})
    assert client.post("/orders/1/pay").status_code == 200
    assert client.post("/orders/1/pay").status_code == 409
    assert client.post("/orders/1/refund").json()["refunded"] == 100
    second = client.post("/orders/1/refund")
    assert second.status_code == 200 and second.json()["refunded"] == 200
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT order_id, amount FROM refunds").fetchall() == [
            (1, 100),
            (1, 100),
        ]


def test_stop_terminates_the_process_and_frees_the_port(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    with start_demo_server(db) as server:
        pid, port = server.pid, server.port
        assert server.is_running()
        assert httpx.get(f"{server.url}/orders").status_code == 200
    assert not server.is_running()
    assert server.process.returncode == 0  # SIGTERM leads to a clean shutdown
    assert pid not in processes_mentioning(str(db))
    with socket.socket() as sock, pytest.raises(OSError):
        sock.settimeout(1)
        sock.connect(("127.0.0.1", port))


def test_start_reports_a_server_that_dies(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "shop.db"
    with pytest.raises(DemoServerError, match=r"(?s)exited with code 1.*unable to open database"):
        start_demo_server(missing)
    assert processes_mentioning(str(missing)) == []


@pytest.fixture
def demo_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `venomqa demo` create its temporary folder under this test's tmp_path."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


EXPECTED_PATHS = {
    "order_list_total_matches_orders": ["create_order", "cancel_order"],
    "cancelled_orders_are_never_charged": ["create_order", "cancel_order", "pay_order"],
    "refunds_never_exceed_payment": ["create_order", "pay_order", "refund_order", "refund_order"],
}


def test_demo_finds_the_seeded_bugs_with_shortest_paths(demo_tmp: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "demo.json"
    result = CliRunner().invoke(demo, ["--report", f"json:{out}"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    shortest = {v["invariant"]: v["path"] for v in report["violations"]}
    assert len(shortest) == len(report["violations"])  # one entry per broken invariant
    assert shortest == EXPECTED_PATHS
    refund = next(
        v for v in report["violations"] if v["invariant"] == "refunds_never_exceed_payment"
    )
    assert refund["severity"] == "critical"
    assert [step["action"] for step in refund["steps"]] == EXPECTED_PATHS[refund["invariant"]]
    last = refund["steps"][-1]
    assert last["request"]["method"] == "POST" and last["request"]["url"].endswith("/refund")
    assert last["response"]["status"] == 200 and last["response"]["body"]["refunded"] == 5000
    assert report["states"] > 0 and report["transitions"] >= report["states"] - 1
    assert report["actions"]["create_order"] >= 1 and "duration_s" in report
    # What it printed comes from the run: the intro, each finding and the way forward.
    assert "API under test" in result.output
    for invariant, path in EXPECTED_PATHS.items():
        assert f"{invariant}: {' -> '.join(path)}" in result.output
    assert "venomqa init" in result.output
    # The server is gone and the temporary SQLite file removed.
    assert list(demo_tmp.iterdir()) == []
    assert processes_mentioning(str(demo_tmp)) == []


def test_demo_keep_leaves_the_database(demo_tmp: Path) -> None:
    result = CliRunner().invoke(demo, ["--keep", "--max-depth", "2"])
    assert result.exit_code == 0, result.output
    kept = list(demo_tmp.glob("*/shop.db"))
    assert len(kept) == 1 and str(kept[0]) in result.output
    with closing(sqlite3.connect(kept[0])) as conn:  # rolled back to the empty shop
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)


def test_demo_rejects_an_unknown_report_format(demo_tmp: Path) -> None:
    result = CliRunner().invoke(demo, ["--report", "yaml:x.yaml"])
    assert result.exit_code == 2
    assert "unknown report format 'yaml'" in result.output
    assert list(demo_tmp.iterdir()) == []


def test_blog_demo_learns_what_is_volatile_and_finds_its_bugs(
    demo_tmp: Path, tmp_path: Path
) -> None:
    from blog_model import SEEDED, model_bfs, replay_in_model, shortest_violations

    out = tmp_path / "blog.json"
    result = CliRunner().invoke(demo, ["--api", "blog", "--report", f"json:{out}"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["states"] == len(model_bfs(6))
    lengths = shortest_violations(6)
    assert {v["invariant"] for v in report["violations"]} == SEEDED
    for violation in report["violations"]:
        assert len(violation["path"]) == lengths[violation["invariant"]]
        replay_in_model(violation["path"])
    assert "Learned volatile values (pin them in venomqa.yaml to skip learning):" in result.output
    assert "context.ignore: [alice_token, bob_token]" in result.output
    pinned = next(line for line in report["exploration"]["pin"] if line.startswith("stores.db"))
    for spec in ("users.id", "users.password_hash", "posts.checksum", "sessions.jti"):
        assert spec in pinned
    assert list(demo_tmp.iterdir()) == []
    assert processes_mentioning(str(demo_tmp)) == []
