"""Console and JSON reporters: the summary text, live progress, and the JSON schema of DESIGN §9."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from venomqa.models import (
    ExplorationResult,
    JourneyResult,
    PathResult,
    Progress,
    RequestRecord,
    RunReport,
    Severity,
    StepRecord,
    StepResult,
    Violation,
)
from venomqa.reporters.console import ConsoleReporter
from venomqa.reporters.json_report import JsonReporter


def sample_run() -> RunReport:
    create = RequestRecord("POST", "http://127.0.0.1:9/items", {"name": "w"}, 201, {"id": 1}, 3.0)
    sell = RequestRecord("POST", "http://127.0.0.1:9/items/1/sell", None, 200, {"q": "x" * 500})
    violation = Violation(
        invariant="quantity_never_negative",
        severity=Severity.CRITICAL,
        path=["create_item", "sell_item", "sell_item"],
        steps=[
            StepRecord("create_item", [create]),
            StepRecord("sell_item", [sell]),
            StepRecord("sell_item", [sell]),
        ],
        message="negative quantity",
    )
    exploration = ExplorationResult(
        states=5,
        transitions=9,
        violations=[violation],
        actions={"create_item": 1, "sell_item": 8},
        never_enabled=["refund"],
        duration_s=0.25,
        max_depth_reached=3,
        target="http://127.0.0.1:9",
    )
    journey = JourneyResult(
        name="checkout",
        steps=[StepResult("login", True, [create]), StepResult("pay", False, error="boom")],
        paths=[PathResult("happy", "cart", [StepResult("confirm", True)])],
        duration_s=0.5,
    )
    return RunReport(exploration=exploration, journeys=[journey], target="http://127.0.0.1:9")


def test_console_summary_lists_totals_coverage_violation_steps_and_journeys() -> None:
    stream = io.StringIO()
    ConsoleReporter(stream=stream).report(sample_run())
    text = stream.getvalue()
    assert "5 states, 9 transitions, depth 3" in text
    assert "create_item  fired 1" in text
    assert "sell_item    fired 8" in text
    assert "refund       never enabled" in text
    assert "1) [CRITICAL] quantity_never_negative: negative quantity" in text
    assert "1. create_item  POST /items -> 201" in text
    assert "3. sell_item  POST /items/1/sell -> 200" in text
    response_line = next(line for line in text.splitlines() if "response:" in line)
    assert response_line.endswith("...") and len(response_line) < 330
    assert "Journey checkout: FAIL" in text
    assert "FAIL pay  (boom)" in text
    assert "path happy (from checkpoint cart): PASS" in text
    assert text.rstrip().endswith("FAILED: 1 violation found, 1 journey failed.")
    assert "\x1b[" not in text, "no colour when the stream is not a terminal"


def test_console_clean_run_and_quiet() -> None:
    stream = io.StringIO()
    ConsoleReporter(stream=stream, quiet=True).report(RunReport(ExplorationResult(states=1)))
    assert stream.getvalue() == "OK: no violations found.\n"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_progress_on_a_terminal_rewrites_one_line() -> None:
    stream = FakeTerminal()
    reporter = ConsoleReporter(stream=stream, color=False)
    for states in (1, 2, 3):
        reporter.on_progress(Progress(states, states * 2, 0, 1, 0.1))
    reporter.on_violation(sample_run().violations[0])
    text = stream.getvalue()
    assert text.count("\r\x1b[2K") == 3
    assert text.count("\n") == 2, "the progress line is closed before the violation line"
    assert "exploring: 3 states, 6 transitions, 0 violations" in text
    assert "violation: quantity_never_negative [CRITICAL] after create_item -> sell_item" in text


def test_console_progress_without_terminal_is_throttled() -> None:
    stream = io.StringIO()
    reporter = ConsoleReporter(stream=stream, interval_s=60)
    for states in range(50):
        reporter.on_progress(Progress(states, states, 0, 1, 0.0))
    assert stream.getvalue().count("exploring:") == 1


def test_console_writes_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "out" / "summary.txt"
    ConsoleReporter(path=str(target)).report(sample_run())
    assert "quantity_never_negative" in target.read_text()


def test_json_report_holds_the_design_schema(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "report.json"
    JsonReporter(str(target)).report(sample_run())
    data = json.loads(target.read_text())
    assert data["states"] == 5
    assert data["transitions"] == 9
    assert data["actions"] == {"create_item": 1, "sell_item": 8}
    assert isinstance(data["duration_s"], float) and data["duration_s"] == pytest.approx(0.75)
    (violation,) = data["violations"]
    assert violation["invariant"] == "quantity_never_negative"
    assert violation["severity"] == "critical"
    assert violation["path"] == ["create_item", "sell_item", "sell_item"]
    first = violation["steps"][0]
    assert first["action"] == "create_item"
    assert first["request"]["method"] == "POST"
    assert first["request"]["url"] == "http://127.0.0.1:9/items"
    assert first["request"]["body"] == {"name": "w"}
    assert first["response"]["status"] == 201
    assert first["response"]["body"] == {"id": 1}
    assert data["journeys"][0]["name"] == "checkout"
    assert target.read_text().startswith("{\n  "), "pretty-printed"


def test_json_report_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    JsonReporter(None).report(RunReport(ExplorationResult(states=2)))
    assert json.loads(capsys.readouterr().out)["states"] == 2


def test_reporters_are_registered_by_the_builtin_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from venomqa.plugins import reporters, reset_plugins

    monkeypatch.setenv("VENOMQA_LOAD_PLUGINS", "")
    reset_plugins()
    known = reporters()
    assert known["console"] is ConsoleReporter
    assert known["json"] is JsonReporter
