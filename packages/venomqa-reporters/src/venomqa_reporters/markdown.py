"""MarkdownReporter: a run summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Totals, every violation with the number of states that showed it, its shortest path as numbered
steps (method, URL, status), the last response folded in ``<details>`` and a few other paths to
it, the per-action coverage table, the volatile values learned while exploring with the
``venomqa.yaml`` lines that pin them, and each journey's outcome.
Written to ``$GITHUB_STEP_SUMMARY`` it appends (that file collects every step's summary).

    venomqa run --report markdown:reports/venomqa.md
    venomqa run --report "markdown:$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import os
import re

from venomqa.models import ExplorationResult, JourneyResult, RunReport, StepResult, Violation

from venomqa_reporters._output import is_step_summary, output_path, write_report
from venomqa_reporters._redact import Redactor
from venomqa_reporters._summary import (
    FINDING_KINDS,
    coverage,
    example_texts,
    findings_of_kind,
    frame_lines,
    invariant_outcomes,
    last_request,
    restarts_text,
    seen_text,
    states_count,
    step_lines,
    total_duration,
    verdict,
)

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~])")


class MarkdownReporter:
    """Writes the run as GitHub-flavoured Markdown to ``path`` (stdout without one).

    Options: ``title``; ``max_violations`` (default 50: more are counted, not listed, so the
    summary stays within GitHub's size limits); ``append`` (default: only for the file named by
    ``$GITHUB_STEP_SUMMARY``).
    """

    name = "markdown"
    #: A report given without a path is written to ``venomqa-report.md``.
    file_extension = "md"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        title: str = "VenomQA",
        max_violations: int = 50,
        append: bool | None = None,
    ) -> None:
        self.path = output_path(path)
        self.title = title
        self.max_violations = max_violations
        self.append = is_step_summary(self.path) if append is None else append
        self.redactor = Redactor()

    def report(self, run: RunReport) -> None:
        write_report(self.path, self.render(run), fmt=self.name, append=self.append)

    def render(self, run: RunReport) -> str:
        """The Markdown text."""
        self.redactor = Redactor.for_run(run)
        icon = "✅" if run.ok and run.complete else "❌"
        lines = [f"## {icon} {text(self.title)}: {text(verdict(run, self.redactor.text))}", ""]
        lines += _totals(run, self.redactor)
        violations = run.violations
        if violations:
            lines += [f"### Violations ({len(violations)})", ""]
            for number, violation in enumerate(violations[: self.max_violations], 1):
                lines += self._violation(number, violation)
            hidden = len(violations) - self.max_violations
            if hidden > 0:
                lines += [f"_… and {hidden} more; see the HTML or JSON report._", ""]
        if run.exploration is not None:
            lines += _coverage(run.exploration)
            lines += _checks(run.exploration)
            lines += _learned(run.exploration, self.redactor)
        if run.journeys:
            lines += self._journeys(run.journeys)
        if run.exploration is None and not run.journeys:
            lines += ["_Nothing was explored and no journey ran._", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    def _violation(self, number: int, violation: Violation) -> list[str]:
        kind = (
            ""
            if violation.kind in ("invariant", violation.invariant)
            else f" ({text(violation.kind)})"
        )
        lines = [
            f"**{number}. `{code(violation.invariant)}`** — {violation.severity.name}{kind}",
        ]
        seen = seen_text(violation)
        if seen:
            lines[0] += f" _({text(seen)})_"
        message = self.redactor.text(violation.message)
        if message:
            lines[0] += f": {text(message)}"
        lines.append("")
        frames = frame_lines(violation, self.redactor)
        if frames:
            fence = _fence("\n".join(frames))
            lines += ["   Raised at (innermost last):", "", f"   {fence}"]
            lines += [f"   {row}" for row in frames] + [f"   {fence}", ""]
        steps = step_lines(violation, self.redactor)
        examples = [f"`{code(example)}`" for example in example_texts(violation)]
        also = ["", f"   Also seen after: {', '.join(examples)}.", ""] if examples else [""]
        if not steps:
            lines.append("   In the initial state, before any call.")
            return lines + also
        for line in steps:
            call = (
                f"`{code(line.method)} {code(line.url)}` → **{text(line.status)}**"
                if line.method
                else "_(no request)_"
            )
            lines.append(f"   {line.number}. `{code(line.action)}` {call}")
            if line.error:
                lines.append(f"      error: {text(line.error)}")
        last = last_request(violation.steps[-1]) if violation.steps else None
        if last is not None and last.response_body not in (None, ""):
            body = self.redactor.body(last.response_body, limit=2000)
            fence = _fence(body)
            lines += [
                "",
                "   <details><summary>last response</summary>",
                "",
                f"   {fence}",
                *(f"   {row}" for row in body.splitlines()),
                f"   {fence}",
                "",
                "   </details>",
            ]
        return lines + also

    def _journeys(self, journeys: list[JourneyResult]) -> list[str]:
        lines = [
            f"### Journeys ({len(journeys)})",
            "",
            "| Journey | Result | Steps | Paths | Violations |",
            "| --- | --- | --- | --- | --- |",
        ]
        for journey in journeys:
            passed_steps = sum(1 for step in journey.steps if step.passed)
            passed_paths = sum(1 for path in journey.paths if path.passed)
            lines.append(
                f"| `{cell(code(journey.name))}` | {'✅ pass' if journey.passed else '❌ fail'} "
                f"| {passed_steps}/{len(journey.steps)} | {passed_paths}/{len(journey.paths)} "
                f"| {len(journey.violations)} |"
            )
        lines.append("")
        for journey in journeys:
            failed: list[tuple[str | None, StepResult]] = [
                (None, step) for step in journey.steps if not step.passed
            ]
            for path in journey.paths:
                failed += [(path.name, step) for step in path.steps if not step.passed]
            if not failed:
                continue
            lines += [f"Failed steps of `{code(journey.name)}`:", ""]
            lines += [self._failed_step(path, step) for path, step in failed]
            lines.append("")
        return lines

    def _failed_step(self, path: str | None, step: StepResult) -> str:
        where = f"path `{code(path)}`, " if path else ""
        call = ""
        if step.requests:
            record = step.requests[-1]
            status = record.response_status if record.response_status is not None else "-"
            url = self.redactor.short_url(record.url)
            call = f" `{code(record.method)} {code(url)}` → **{status}**"
        error = f": {text(self.redactor.text(step.error))}" if step.error else ""
        return f"- {where}step `{code(step.name)}`{call}{error}"


def _totals(run: RunReport, redactor: Redactor) -> list[str]:
    exploration = run.exploration
    header, values = ["Violations"], [str(len(run.violations))]
    if exploration is not None:
        header = ["States", "Transitions", "Calls", "Max depth", *header]
        values = [
            f"{exploration.states:,}",
            f"{exploration.transitions:,}",
            f"{exploration.calls:,}",
            str(exploration.max_depth_reached),
            *values,
        ]
    header += ["Journeys", "Duration"]
    values += [str(len(run.journeys)), f"{total_duration(run):.2f} s"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        "| " + " | ".join(values) + " |",
        "",
    ]
    if exploration is not None:
        target = f" `{code(redactor.url(run.target))}`" if run.target else ""
        restarted = restarts_text(exploration)
        lines += [
            f"Explored{target} with {text(exploration.strategy)}; stopped: "
            f"{text(exploration.stop_reason)}"
            + (f"; {text(restarted)}" if restarted else "")
            + ".",
            "",
        ]
    return lines


def _coverage(result: ExplorationResult) -> list[str]:
    rows = coverage(result)
    if not rows:
        return []
    fired = sum(1 for row in rows if row.fired)
    lines = [
        f"### Coverage ({fired}/{len(rows)} actions fired)",
        "",
        "| Action | Fired | Status |",
        "| --- | ---: | --- |",
    ]
    for row in rows:
        mark = "✅" if row.fired else "⚠️"
        lines.append(f"| `{cell(code(row.action))}` | {row.fired} | {mark} {row.status} |")
    return [*lines, ""]


def _checks(result: ExplorationResult) -> list[str]:
    outcomes = invariant_outcomes(result.invariants, result.violations)
    lines = ["### Invariants", "", "| Check | Outcome |", "| --- | --- |"]
    for outcome in outcomes:
        mark = "✅ held" if outcome.passed else f"❌ violated ({_states(outcome.violations)})"
        lines.append(f"| `{cell(code(outcome.name))}` | {mark} |")
    for kind, meaning in FINDING_KINDS.items():
        found = findings_of_kind(result.violations, kind)
        if found:
            lines.append(
                f"| {text(kind)}: {text(meaning)} | ❌ found ({len(found)}; {_states(found)}) |"
            )
    return [*lines, ""]


def _states(violations: list[Violation]) -> str:
    count = states_count(violations)
    return f"seen in {count} state{'s' if count != 1 else ''}"


def _learned(result: ExplorationResult, redactor: Redactor) -> list[str]:
    learned = result.learned
    if not learned:
        return []
    lines = [f"### Learned volatile values ({len(learned)})", ""]
    lines += [
        f"- `{code(info.spec)}` (`{code(info.where)}`): {text(redactor.reason(info))}"
        for info in learned
    ]
    pin = result.learned_pin_lines()
    fence = _fence("\n".join(pin))
    lines += ["", "Pin them in `venomqa.yaml` to skip learning:", "", f"{fence}yaml"]
    return [*lines, *pin, fence, ""]


def text(value: str) -> str:
    """Plain text safe in Markdown: special characters escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(value.split()))


def code(value: str) -> str:
    """Text for inside a single-backtick code span (backticks cannot be escaped there)."""
    return " ".join(value.replace("`", "'").split())


def cell(value: str) -> str:
    """Text for a table cell: pipes escaped."""
    return value.replace("|", "\\|")


def _fence(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)
