"""The markdown reporter: totals, violations with numbered steps, coverage; safe Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support_reporters import PIN, REFUND_EXAMPLES, grouped_run
from venomqa.models import (
    ExplorationResult,
    RequestRecord,
    RunReport,
    Severity,
    StepRecord,
    Violation,
    VolatileFieldInfo,
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
    assert (
        f"| {exploration.states} | {exploration.transitions} | {exploration.calls} "
        f"| {exploration.max_depth_reached} | 4 |" in text
    )
    assert exploration.calls > exploration.transitions
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


def _block(text: str, start: str, end: str) -> list[str]:
    """The lines from the one starting with ``start`` up to (not including) one with ``end``."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if i > first and line.startswith(end))
    return lines[first:last]


def test_grouped_findings_nondeterminism_and_learned_values() -> None:
    text = MarkdownReporter(None).render(grouped_run())
    lines = text.splitlines()

    assert "| 7 | 27 | 41 | 5 | 3 | 0 | 0.50 s |" in lines
    assert (
        "Explored `http://127.0.0.1:9` with bfs; stopped: exhausted; "
        "restarted 2 times after learning volatile values." in lines
    )
    refund = _block(text, "**1. ", "**2. ")
    assert refund[0] == (
        "**1. `refunds_never_exceed_payment`** — CRITICAL _(seen in 7 states)_: "
        "order 1 cost 2500 but 5000 was refunded"
    )
    examples = ", ".join(f"`{' -> '.join(p)}`" for p in REFUND_EXAMPLES)
    assert f"   Also seen after: {examples}." in refund
    flaky = _block(text, "**2. ", "**3. ")
    assert flaky[0].startswith(
        "**2. `nondeterminism`** — MEDIUM _(seen in 3 states)_: the path "
        "\\['create\\_order', 'bulk\\_orders'\\] reached different states on two runs"
    )
    assert "   Also seen after: `bulk_orders`." in flaky
    crash = _block(text, "**3. ", "### Coverage")
    assert crash[0] == "**3. `server_error`** — HIGH: GET /orders answered 500"
    assert not [line for line in crash if "seen" in line]

    assert "| `refunds_never_exceed_payment` | ❌ violated (seen in 7 states) |" in lines
    assert "| `always_fine` | ✅ held |" in lines
    nondeterminism = next(line for line in lines if line.startswith("| nondeterminism: "))
    assert nondeterminism.endswith("| ❌ found (1; seen in 3 states) |")
    server = next(line for line in lines if line.startswith("| server\\_error: "))
    assert server.endswith("| ❌ found (1; seen in 1 state) |")

    assert _block(text, "### Learned", "```yaml") == [
        "### Learned volatile values (2)",
        "",
        "- `orders.updated_at` (`stores.db.ignore`): a clock reading: '2026-12-02 01:00'",
        "- `ticket` (`context.ignore`): differed between two runs of 'take\\_ticket'",
        "",
        "Pin them in `venomqa.yaml` to skip learning:",
        "",
    ]
    pin = lines[lines.index("```yaml") + 1 :]
    assert pin[: len(PIN) + 1] == [*PIN, "```"]

    plain = MarkdownReporter(None).render(grouped_run(learned=False))
    assert "### Learned" not in plain and "```yaml" not in plain


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
        occurrences=2,
        examples=[["a", "b`c"]],
    )
    learned = VolatileFieldInfo("context.ignore", "t```k", "salted <b>: secret=s3")
    run = RunReport(
        exploration=ExplorationResult(violations=[violation], invariants=[], volatile=[learned])
    )
    text = MarkdownReporter(None).render(run)
    assert "K9" not in text and "s3" not in text
    assert "   Also seen after: `a -> b'c`." in text
    assert "- `t'''k` (`context.ignore`): salted \\<b\\>: secret=" in text
    assert "````yaml\ncontext.ignore: [t```k]\n````" in text  # a fence longer than ```
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
