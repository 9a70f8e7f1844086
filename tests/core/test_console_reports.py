"""`venomqa run` and `venomqa demo` tell where each report went; `--report FORMAT` writes
`venomqa-report.EXT` (`FORMAT:-` is stdout); every run ends with each problem's shortest call
sequence; an exception raised by an action or invariant shows the user's file:line and source
line in the console and its frames in the JSON report (redacted); each step says what it changed.

Against a real HTTP API backed by a real SQLite file (tests/core/_support_cli.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_cli import ShopServer, write_project
from click.testing import CliRunner, Result
from venomqa.cli.main import cli

SECRET = "s3cr3t-frame-token-42"

RAISING_MODULE = f"""
from venomqa import action, invariant


@action(requires=lambda ctx: "item_id" not in ctx)
def create_item(api, ctx):
    response = api.post("/items", json={{"name": "widget", "quantity": 1}})
    ctx["item_id"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "item_id" in ctx and "sold" not in ctx)
def sell_item(api, ctx):
    response = api.post(f"/items/{{ctx['item_id']}}/sell")
    ctx["sold"] = {{"token": "{SECRET}"}}["no_such_key"]
    return response


@invariant
def stock_is_known(world):
    return {{"widgets": 1}}["no_such_stock"] if "item_id" in world.ctx else True
"""


@pytest.fixture(autouse=True)
def builtin_plugins_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from venomqa.plugins import reset_plugins

    monkeypatch.setenv("VENOMQA_LOAD_PLUGINS", "")
    reset_plugins()


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopServer]:
    monkeypatch.chdir(tmp_path)  # default report files land here
    server = ShopServer(tmp_path / "shop.db").start()
    try:
        yield server
    finally:
        server.stop()


def venomqa(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_report_without_path_writes_the_default_file_and_says_where(
    tmp_path: Path, shop: ShopServer
) -> None:
    config = write_project(tmp_path, shop.url)
    result = venomqa("run", "-c", str(config), "--report", "json")
    assert result.exit_code == 1, result.output
    written = tmp_path / "venomqa-report.json"
    assert json.loads(written.read_text())["violations"]  # a file, not the console
    assert '"venomqa_report"' not in result.stdout
    lines = result.stdout.splitlines()
    assert "report written: json -> venomqa-report.json" in lines
    assert any(
        line.startswith("report written: json -> ") and line.endswith("reports/venomqa.json")
        for line in lines
    ), result.stdout


def test_dash_means_stdout_and_the_format_path_syntax_still_works(
    tmp_path: Path, shop: ShopServer
) -> None:
    config = write_project(tmp_path, shop.url)
    result = venomqa(
        "run",
        "-c",
        str(config),
        "--no-console",
        "--report",
        "json:-",
        "--report",
        "json:out/r.json",
    )
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["violations"]  # stdout holds the report alone
    assert not (tmp_path / "venomqa-report.json").exists()
    assert json.loads((tmp_path / "out" / "r.json").read_text())["violations"]
    assert "report written: json -> out/r.json" in result.stderr


def test_every_run_ends_with_each_problem_and_its_shortest_call_sequence(
    tmp_path: Path, shop: ShopServer
) -> None:
    config = write_project(tmp_path, shop.url)
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "reports" / "venomqa.json").read_text())
    lines = result.stdout.splitlines()
    count = len(report["violations"])
    heading = (
        f"{count} problem{'s' if count != 1 else ''} found; the shortest call sequence for each:"
    )
    at = lines.index(heading)
    for offset, violation in enumerate(report["violations"], 1):
        calls = " -> ".join(violation["path"])
        assert lines[at + offset].startswith(
            f"  [{violation['severity']}] {violation['invariant']}: {calls}"
        )
    assert lines[at + count + 1].startswith("FAILED:")


def test_a_raising_action_or_invariant_shows_the_users_file_line_and_source(
    tmp_path: Path, shop: ShopServer
) -> None:
    config = write_project(
        tmp_path,
        shop.url,
        source=RAISING_MODULE,
        extra=f"auth: {{type: bearer, token: {SECRET}}}\n",
    )
    source_lines = RAISING_MODULE.splitlines()
    action_line = next(i for i, s in enumerate(source_lines, 1) if "no_such_key" in s)
    invariant_line = next(i for i, s in enumerate(source_lines, 1) if "no_such_stock" in s)
    result = venomqa("run", "-c", str(config))
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert f"raised at shop_checks.py:{action_line} in sell_item" in out
    assert f"raised at shop_checks.py:{invariant_line} in stock_is_known" in out
    assert '{"widgets": 1}["no_such_stock"]' in out
    assert '["no_such_key"]' in out and SECRET not in out  # the source line, redacted

    raw = (tmp_path / "reports" / "venomqa.json").read_text()
    assert SECRET not in raw
    report = json.loads(raw)
    by_kind = {v["kind"]: v for v in report["violations"]}
    frame = by_kind["action_error"]["frames"][-1]
    assert (frame["file"], frame["line"], frame["function"], frame["user"]) == (
        "shop_checks.py",
        action_line,
        "sell_item",
        True,
    )
    assert frame["source"].endswith('["no_such_key"]')
    (invariant,) = [v for v in report["violations"] if v["invariant"] == "stock_is_known"]
    assert invariant["frames"][-1]["line"] == invariant_line


def test_steps_and_states_say_what_they_changed(tmp_path: Path, shop: ShopServer) -> None:
    config = write_project(tmp_path, shop.url)
    assert venomqa("run", "-c", str(config)).exit_code == 1
    report = json.loads((tmp_path / "reports" / "venomqa.json").read_text())
    (violation,) = report["violations"]
    changed = [step["changed"] for step in violation["steps"]]
    assert changed[0] == ["+items#1", "ctx +item_id"]
    assert all(entry == ["items#1: quantity"] for entry in changed[1:])
    origins = report["exploration"]["origins"]
    assert {o["action"] for o in origins.values()} == {"create_item", "sell_item"}
    assert len(origins) == report["states"] - 1  # every state but the initial one


def test_demo_says_where_reports_went_and_summarises_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = venomqa("demo", "--report", "json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "venomqa-report.json").read_text())["violations"]
    assert "report written: json -> venomqa-report.json" in result.stdout.splitlines()
    assert result.stdout.count("the shortest call sequence for each:") == 1
