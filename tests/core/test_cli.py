"""`venomqa run`, `init` and `replay` against a real HTTP API backed by a real SQLite file.

Driven through click's CliRunner and, once, as a real subprocess. Exit codes: 0 clean,
1 violations, 2 usage/config, 3 infrastructure, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_cli import (
    CRASH_MODULE,
    ShopServer,
    free_port_url,
    write_project,
)
from click.testing import CliRunner, Result
from venomqa.cli.main import cli
from venomqa.config import load_config
from venomqa.discovery import discover


@pytest.fixture(autouse=True)
def builtin_plugins_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from venomqa.plugins import reset_plugins

    monkeypatch.setenv("VENOMQA_LOAD_PLUGINS", "")
    reset_plugins()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[ShopServer]:
    server = ShopServer(tmp_path / "shop.db").start()
    try:
        yield server
    finally:
        server.stop()


def venomqa(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def report_of(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "reports" / "venomqa.json").read_text())


# -- venomqa run -----------------------------------------------------------------------------


def test_run_finds_the_violation_with_shortest_path(tmp_path: Path, shop: ShopServer) -> None:
    config = write_project(tmp_path, shop.url)
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 1, result.output
    assert "quantity_never_negative" in result.stdout
    assert "1. create_item  POST /items -> 201" in result.stdout
    report = report_of(tmp_path)
    violation = next(v for v in report["violations"] if v["invariant"] == "quantity_never_negative")
    assert violation["severity"] == "critical"
    assert violation["path"] == ["create_item", "sell_item", "sell_item"]
    assert [s["response"]["status"] for s in violation["steps"]] == [201, 200, 200]
    assert violation["steps"][0]["request"]["body"] == {"name": "widget", "quantity": 1}
    assert report["states"] >= 4 and report["transitions"] >= 4
    assert report["actions"]["create_item"] >= 1
    assert shop.rows() == [], "the store was rolled back to the empty table"


def test_run_is_clean_when_the_bug_is_fixed(tmp_path: Path, shop: ShopServer) -> None:
    shop.bug = False
    config = write_project(tmp_path, shop.url)
    result = venomqa("run", "-c", str(config), "--no-console", "--max-depth", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert report_of(tmp_path)["violations"] == []


def test_run_as_a_real_subprocess(tmp_path: Path, shop: ShopServer) -> None:
    config = write_project(tmp_path, shop.url)
    extra = tmp_path / "extra" / "again.json"
    env = {**os.environ, "VENOMQA_LOAD_PLUGINS": ""}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "venomqa.cli.main", "run", "-c", str(config),
         "--report", f"json:{extra}", "--stop-on-first"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED: 1 violation found" in proc.stdout
    assert json.loads(extra.read_text())["violations"][0]["path"][0] == "create_item"
    assert time.monotonic() - started < 30


def test_unreachable_target_exits_3_naming_the_url(tmp_path: Path) -> None:
    url = free_port_url()
    config = write_project(tmp_path, url)
    (tmp_path / "shop.db").touch()
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ")
    assert url in result.stderr


def test_failing_store_exits_3_naming_store_and_path(tmp_path: Path, shop: ShopServer) -> None:
    config = write_project(tmp_path, shop.url)
    config.write_text(config.read_text().replace("./shop.db", "./missing.db"))
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 3, result.output
    assert "stores.db" in result.stderr
    assert str(tmp_path / "missing.db") in result.stderr


def test_target_option_overrides_the_file(tmp_path: Path, shop: ShopServer) -> None:
    config = write_project(tmp_path, free_port_url())
    result = venomqa("run", "-c", str(config), "--target", shop.url, "--max-depth", "1")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--report", "pdf:out.pdf"], "unknown report format 'pdf'; known formats: console, json"),
        (["--max-depth", "-1"], "-1 is not in the range"),
        (["--strategy", "astar"], "--strategy astar: unknown strategy; use one of bfs, dfs"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    config = write_project(tmp_path, "http://127.0.0.1:1")
    result = venomqa("run", "-c", str(config), *args)
    assert result.exit_code == 2
    assert expected in result.stderr


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t + "explore: {max_depth: [1\n", "while parsing a flow sequence at line 8"),
        (lambda t: t.replace("adapter: sqlite", "adapter: mongo"), "stores.db.adapter: unknown"),
        (lambda t: t.replace("[shop_checks]", "[nope_checks]"), "actions[0]: cannot import"),
        (lambda t: t.replace("max_depth: 4", "max_depth: deep"), "explore.max_depth: expected"),
        (lambda t: t + "retries: 3\n", "retries: unknown key"),
        (lambda t: t.replace("target: ", "target: ${SHOP_URL_UNSET}#"), "SHOP_URL_UNSET"),
    ],
)
def test_config_errors_exit_2_with_file_and_key(tmp_path: Path, edit, expected: str) -> None:
    config = write_project(tmp_path, "http://127.0.0.1:1")
    config.write_text(edit(config.read_text()))
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {config}: ")
    assert expected in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = venomqa("run", "-c", str(tmp_path / "venomqa.yaml"))
    assert result.exit_code == 2
    assert "not found" in result.stderr and "venomqa init" in result.stderr


def test_ctrl_c_rolls_back_and_exits_130(tmp_path: Path, shop: ShopServer) -> None:
    source = (
        "from venomqa import action\n"
        "@action\n"
        "def create_then_interrupt(api, ctx):\n"
        "    api.post('/items', json={'name': 'x', 'quantity': 1})\n"
        "    raise KeyboardInterrupt\n"
    )
    config = write_project(tmp_path, shop.url, module="interrupt_checks", source=source)
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 130
    assert "Interrupted by SIGINT (Ctrl-C); stores rolled back and checked: db." in result.stderr
    assert shop.rows() == []


def test_help_lists_commands() -> None:
    result = venomqa("--help")
    assert result.exit_code == 0
    for name in ("run", "init", "replay", "demo", "plugins"):
        assert f"  {name} " in result.stdout


# -- venomqa init ----------------------------------------------------------------------------


def test_init_writes_a_starter_that_loads(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    result = venomqa("init", str(folder))
    assert result.exit_code == 0, result.output
    config = load_config(folder / "venomqa.yaml", env={})
    assert config.target == "http://127.0.0.1:8000"
    assert config.actions == ["venomqa_checks"]
    assert config.stores == {}
    found = discover(config.actions, config.folder)
    assert [a.name for a in found.actions] == ["create_item", "delete_item"]
    assert [i.name for i in found.invariants] == ["created_item_is_readable"]

    again = venomqa("init", str(folder))
    assert again.exit_code == 2
    assert "already exist" in again.stderr and "--force" in again.stderr
    assert venomqa("init", str(folder), "--force").exit_code == 0


def test_init_starter_runs_against_a_live_api(tmp_path: Path, shop: ShopServer) -> None:
    folder = tmp_path / "project"
    assert venomqa("init", str(folder)).exit_code == 0
    config = folder / "venomqa.yaml"
    text = config.read_text()
    # Enable the commented-out sqlite store, pointing it at the shop's database.
    text = text.replace("# stores:", "stores:")
    text = text.replace(
        "#   db: {adapter: sqlite, path: ./app.db}", f"  db: {{adapter: sqlite, path: {shop.db}}}"
    )
    config.write_text(text)
    result = venomqa("run", "-c", str(config), "--target", shop.url)
    assert result.exit_code == 0, result.output
    assert "create_item  fired" in result.stdout and "delete_item  fired" in result.stdout
    assert (folder / "reports" / "venomqa.json").is_file()


# -- venomqa replay --------------------------------------------------------------------------


def test_replay_reproduces_then_not_after_the_fix(tmp_path: Path, shop: ShopServer) -> None:
    config = write_project(tmp_path, shop.url)
    assert venomqa("run", "-c", str(config), "--no-console").exit_code == 1
    report = str(tmp_path / "reports" / "venomqa.json")

    result = venomqa("replay", report, "-c", str(config), "--violation", "1")
    assert result.exit_code == 1, result.output
    assert "REPRODUCED: quantity_never_negative is still violated" in result.stdout
    assert "3. sell_item  POST /items/1/sell -> 200" in result.stdout
    assert shop.rows() == [], "replay rolls the stores back too"

    shop.bug = False
    result = venomqa("replay", report, "-c", str(config))
    assert result.exit_code == 0, result.output
    assert "not reproduced" in result.stdout


def test_replay_server_error_without_config(
    tmp_path: Path, shop: ShopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_project(tmp_path, shop.url, module="crash_checks", source=CRASH_MODULE)
    assert venomqa("run", "-c", str(config), "--no-console", "--max-depth", "1").exit_code == 1
    report = tmp_path / "reports" / "venomqa.json"
    data = json.loads(report.read_text())
    assert data["violations"][0]["kind"] == "server_error"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = venomqa("replay", str(report), "--target", shop.url)
    assert result.exit_code == 1, result.output
    assert "POST /crash -> 500 (recorded 500)" in result.stdout

    shop.bug = False
    result = venomqa("replay", str(report), "--target", shop.url)
    assert result.exit_code == 0, result.output
    assert "now answers 200 (recorded 500)" in result.stdout


def test_replay_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = venomqa("replay", str(bad))
    assert result.exit_code == 2 and "not a readable JSON report" in result.stderr
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"violations": []}))
    assert venomqa("replay", str(empty)).exit_code == 0
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"violations": [{"invariant": "x", "severity": "high", "path": []}]}))
    result = venomqa("replay", str(one), "--violation", "3")
    assert result.exit_code == 2 and "holds 1 violation" in result.stderr
    result = venomqa("replay", str(one), "--target", "http://127.0.0.1:1")
    assert result.exit_code == 2 and "pass -c" in result.stderr
    assert venomqa("replay", str(tmp_path / "missing.json")).exit_code == 2


def test_run_executes_journeys_and_a_failing_step_exits_1(tmp_path: Path, shop: ShopServer) -> None:
    source = (
        "from venomqa import Journey, Step\n"
        "def create(api, ctx):\n"
        "    return api.post('/items', json={'name': 'j', 'quantity': 1})\n"
        "def must_be_missing(api, ctx):\n"
        "    assert api.get('/items/1').status_code == 404, 'item 1 exists'\n"
        "buy = Journey('buy', steps=[Step('create', create)])\n"
        "check = Journey('check', steps=[Step('create', create), Step('gone', must_be_missing)])\n"
    )
    config = write_project(tmp_path, shop.url, module="journey_checks", source=source)
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 1, result.output
    assert "Journey buy: PASS" in result.stdout
    assert "Journey check: FAIL" in result.stdout
    assert "FAIL gone" in result.stdout and "item 1 exists" in result.stdout
    journeys = report_of(tmp_path)["journeys"]
    assert [(j["name"], j["passed"]) for j in journeys] == [("buy", True), ("check", False)]
    assert shop.rows() == []
