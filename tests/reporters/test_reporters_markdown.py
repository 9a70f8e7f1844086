"""The markdown reporter: totals, violations with numbered steps, coverage; safe Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from venomqa.models import (
    ExplorationResult,
    RequestRecord,
    RunReport,
    Severity,
    StepRecord,
    Violation,
)
from venomqa_reporters import MarkdownReporter
from venomqa_reporters._summary import status_text


def test_real_run_summary(shop_report: RunReport, out: Path) -> None:
    target = out / "summary.md"
    MarkdownReporter(str(target)).report(shop_report)
    text = target.read_text(encoding="utf-8")
    exploration = shop_report.exploration
    assert exploration is not None

    assert text.startswith("## ❌ VenomQA: FAILED: 4 violations found, 1 journey failed.")
    assert f"| {exploration.states} | {exploration.transitions} |" in text
    assert "### Violations (4)" in text
    for number, violation in enumerate(shop_report.violations, 1):
        assert f"**{number}. `{violation.invariant}`**" in text
        for index, step in enumerate(violation.steps, 1):
            record = step.requests[-1]
            path = record.url.split("://", 1)[1].split("/", 1)[1]
            assert (
                f"   {index}. `{step.action}` `{record.method} /{path}` → "
                f"**{status_text(record)}**" in text
            )
    for action, count in exploration.actions.items():
        assert f"| `{action}` | {count} | ✅ fired |" in text
    assert "| `checkout` | ❌ fail | 2/2 | 1/2 | 1 |" in text
    assert "path `listing_must_fail`, step `listing`" in text


def test_clean_and_empty_runs(out: Path) -> None:
    clean = RunReport(
        exploration=ExplorationResult(
            states=3, transitions=2, actions={"a": 2, "b": 0}, never_enabled=["b"], invariants=["i"]
        )
    )
    text = MarkdownReporter(None).render(clean)
    assert text.startswith("## ✅ VenomQA: OK: no violations found.")
    assert "| `b` | 0 | ⚠️ never enabled |" in text and "| `i` | ✅ held |" in text
    assert "Nothing was explored" in MarkdownReporter(None).render(RunReport())


def test_markdown_is_escaped_and_secrets_redacted() -> None:
    record = RequestRecord(
        "GET", "http://h/a?api_key=K9&q=1", None, 200, {"secret": "s3", "x": "```"}
    )
    violation = Violation(
        invariant="pipe|`tick`",
        severity=Severity.HIGH,
        path=["a"],
        steps=[StepRecord("a", [record])],
        message="<img src=x> *bold* | cell",
    )
    run = RunReport(exploration=ExplorationResult(violations=[violation], invariants=[]))
    text = MarkdownReporter(None).render(run)
    assert "K9" not in text and "s3" not in text
    assert "\\<img src=x\\> \\*bold\\* \\| cell" in text
    assert "````" in text  # the fence is longer than any run of backticks in the body


def test_appends_to_the_github_step_summary(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = out / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    MarkdownReporter(str(summary)).report(RunReport())
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## ✅ VenomQA")
    other = out / "other.md"
    other.write_text("old\n")
    MarkdownReporter(str(other)).report(RunReport())
    assert not other.read_text().startswith("old")
