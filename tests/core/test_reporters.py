"""Console and JSON reporters: the summary text, live progress, the JSON schema (docs/reports.md);
grouped findings (states seen, example paths), nondeterminism, calls and learned volatile values."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from venomqa.models import (
    ExplorationResult,
    FindingKind,
    JourneyResult,
    PathResult,
    Progress,
    RequestRecord,
    RunReport,
    Severity,
    StepRecord,
    StepResult,
    Violation,
    VolatileFieldInfo,
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


REFUND_PATH = ["create_order", "pay_order", "refund_order", "refund_order"]
REFUND_EXAMPLES = [
    ["create_order", "pay_order", "refund_order", "get_order", "refund_order"],
    ["create_order", "get_order", "pay_order", "refund_order", "refund_order"],
]
NONDETERMINISM_MESSAGE = (
    "the path ['create_order', 'bulk_orders'] reached different states on two runs: "
    "store 'db': orders: 1 changed record(s) in one run and 2 in the other (e.g. (3,))"
)
DECLARED = VolatileFieldInfo("stores.db.ignore", "orders.id", "declared", declared=True)
LEARNED = [
    VolatileFieldInfo("stores.db.ignore", "orders.updated_at", "a clock reading: '2026-12-02'"),
    VolatileFieldInfo("context.ignore", "ticket", "differed between two runs of 'take_ticket'"),
]


def grouped_run(*, learned: bool = True, restarts: int = 2) -> RunReport:
    """The refund bug seen in 7 states (two other paths), nondeterminism seen in 3 states, a
    server error seen once; 27 transitions took 41 calls; two values learned, one declared."""
    refund = Violation(
        invariant="refunds_never_exceed_payment",
        severity=Severity.CRITICAL,
        path=list(REFUND_PATH),
        steps=[StepRecord(name) for name in REFUND_PATH],
        message="order 1 cost 2500 but 5000 was refunded",
        occurrences=7,
        examples=[list(p) for p in REFUND_EXAMPLES],
    )
    flaky = Violation(
        invariant="nondeterminism",
        severity=Severity.MEDIUM,
        path=["create_order", "bulk_orders"],
        message=NONDETERMINISM_MESSAGE,
        kind=FindingKind.NONDETERMINISM,
        occurrences=3,
        examples=[["bulk_orders"]],
    )
    crash = Violation(
        invariant="server_error",
        severity=Severity.HIGH,
        path=["list_orders"],
        message="GET /orders answered 500",
        kind=FindingKind.SERVER_ERROR,
    )
    exploration = ExplorationResult(
        states=7,
        transitions=27,
        calls=41,
        restarts=restarts,
        violations=[refund, flaky, crash],
        actions={"create_order": 9, "bulk_orders": 3},
        max_depth_reached=5,
        duration_s=0.5,
        volatile=[DECLARED, *(LEARNED if learned else [])],
        target="http://127.0.0.1:9",
    )
    return RunReport(exploration=exploration, target="http://127.0.0.1:9")


def _block(lines: list[str], head: str) -> list[str]:
    """The line starting with ``head`` and the more indented lines under it."""
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("     ")), len(lines)
    )
    return lines[start:end]


def test_console_shows_states_seen_examples_calls_restarts_and_learned_values() -> None:
    lines = ConsoleReporter(stream=io.StringIO()).render(grouped_run()).splitlines()

    assert lines[0] == (
        "Exploration (bfs) of http://127.0.0.1:9: 7 states, 27 transitions, 41 calls, depth 5, "
        "0.50 s (stopped: exhausted; restarted 2 times after learning volatile values)"
    )
    start = lines.index("Learned volatile values (pin them in venomqa.yaml to skip learning):")
    assert lines[start + 1 : start + 7] == [
        "  orders.updated_at  a clock reading: '2026-12-02'",
        "  ticket             differed between two runs of 'take_ticket'",
        "  venomqa.yaml:",
        "    stores.db.ignore: [orders.id, orders.updated_at]",
        "    context.ignore: [ticket]",
        "Violations (3):",
    ]
    assert _block(lines, "  1) ") == [
        "  1) [CRITICAL] refunds_never_exceed_payment (seen in 7 states): "
        "order 1 cost 2500 but 5000 was refunded",
        *(f"     {n}. {name}  (no request)" for n, name in enumerate(REFUND_PATH, 1)),
        *(f"     also: {' -> '.join(path)}" for path in REFUND_EXAMPLES),
    ]
    assert _block(lines, "  2) ") == [
        f"  2) [MEDIUM] nondeterminism (seen in 3 states): {NONDETERMINISM_MESSAGE}",
        "     1. create_order  (no request)",
        "     2. bulk_orders  (no request)",
        "     also: bulk_orders",
    ]
    assert _block(lines, "  3) ") == [
        "  3) [HIGH] server_error: GET /orders answered 500",
        "     1. list_orders  (no request)",
    ]
    assert lines[-1] == "FAILED: 3 violations found."


def test_console_without_learning_restarts_or_calls_says_nothing_of_them() -> None:
    text = ConsoleReporter(stream=io.StringIO()).render(grouped_run(learned=False, restarts=0))
    assert "Learned volatile values" not in text and "venomqa.yaml" not in text
    assert "orders.id" not in text, "a declared field is not news"
    assert "(stopped: exhausted)" in text and "restarted" not in text
    assert "27 transitions, 41 calls, depth 5" in text
    once = ConsoleReporter(stream=io.StringIO()).render(grouped_run(restarts=1))
    assert "(stopped: exhausted; restarted once after learning volatile values)" in once
    legacy = ConsoleReporter(stream=io.StringIO()).render(sample_run())
    assert "9 transitions, depth 3" in legacy and " calls" not in legacy


def test_json_report_of_grouped_findings_and_learned_values(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    JsonReporter(str(target)).report(grouped_run())
    data = json.loads(target.read_text())

    refund, flaky, crash = data["violations"]
    assert refund["invariant"] == "refunds_never_exceed_payment"
    assert refund["path"] == REFUND_PATH and refund["severity"] == "critical"
    assert refund["occurrences"] == 7 and refund["examples"] == REFUND_EXAMPLES
    assert flaky["kind"] == "nondeterminism" and flaky["severity"] == "medium"
    assert flaky["occurrences"] == 3 and flaky["examples"] == [["bulk_orders"]]
    assert flaky["message"] == NONDETERMINISM_MESSAGE
    assert crash["kind"] == "server_error"
    assert crash["occurrences"] == 1 and crash["examples"] == []

    exploration = data["exploration"]
    assert exploration["violations"] == data["violations"]
    assert (exploration["transitions"], exploration["calls"], exploration["restarts"]) == (
        27,
        41,
        2,
    )
    assert exploration["volatile"] == [
        {"where": "stores.db.ignore", "spec": "orders.id", "reason": "declared", "declared": True},
        {
            "where": "stores.db.ignore",
            "spec": "orders.updated_at",
            "reason": "a clock reading: '2026-12-02'",
            "declared": False,
        },
        {
            "where": "context.ignore",
            "spec": "ticket",
            "reason": "differed between two runs of 'take_ticket'",
            "declared": False,
        },
    ]
    assert exploration["pin"] == [
        "stores.db.ignore: [orders.id, orders.updated_at]",
        "context.ignore: [ticket]",
    ]
    # Read back, the grouping survives (venomqa replay reads these files).
    again = Violation.from_dict(refund)
    assert (again.occurrences, again.examples) == (7, REFUND_EXAMPLES)
    assert Violation.from_dict(flaky).kind is FindingKind.NONDETERMINISM


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
