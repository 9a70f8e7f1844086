"""ConsoleReporter: live exploration progress and a readable end-of-run summary.

On a terminal the progress is one line rewritten in place; otherwise a line is printed at most
every ``interval_s`` seconds. The summary lists totals (with the action calls they took),
per-action coverage, the volatile values learned while exploring with the ``venomqa.yaml`` lines
that pin them, each journey's steps and paths, each violation with the number of states that
showed it, its numbered reproduction steps (an exception raised by the user's code shows its
file:line and source line) and a few other paths to it, then one line per problem with its
shortest call sequence, and the verdict. The summary is redacted with the run's secrets
(``venomqa.reporters.redaction``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import IO
from urllib.parse import urlsplit

from venomqa.client.redaction import SensitiveDataFilter
from venomqa.json_types import Json
from venomqa.models import (
    ExplorationResult,
    JourneyResult,
    Progress,
    RunReport,
    StepRecord,
    StepResult,
    Violation,
    user_frame,
)
from venomqa.reporters.redaction import report_filter

_BODY_LIMIT = 300
#: Heading of the section listing what was learned.
LEARNED_HEADING = "Learned volatile values (pin them in venomqa.yaml to skip learning):"
_STYLES = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}


class ConsoleReporter:
    """Prints to ``stream`` (default stdout), or writes the summary to ``path`` when given."""

    name = "console"
    #: A report given without a path is written to ``venomqa-report.txt``.
    file_extension = "txt"

    def __init__(
        self,
        path: str | None = None,
        *,
        stream: IO[str] | None = None,
        color: bool | None = None,
        quiet: bool = False,
        interval_s: float = 2.0,
    ) -> None:
        self.path = path if path not in ("", "-") else None
        self.stream: IO[str] = stream if stream is not None else sys.stdout
        self.tty = path is None and _isatty(self.stream)
        if color is None:
            color = self.tty and "NO_COLOR" not in os.environ
        self.color = bool(color) and path is None
        self.quiet = quiet
        self.interval_s = interval_s
        self._last_line_at = 0.0
        self._line_open = False
        self._filter = SensitiveDataFilter()

    # -- live -----------------------------------------------------------------------------------

    def on_progress(self, progress: Progress) -> None:
        if self.quiet or self.path is not None:
            return
        noun = "violation" if progress.violations == 1 else "violations"
        line = (
            f"exploring: {progress.states} states, {progress.transitions} transitions, "
            f"{progress.violations} {noun} (depth {progress.depth}, {progress.elapsed_s:.1f} s)"
        )
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._line_open = True
            self.stream.flush()
            return
        now = time.monotonic()
        if now - self._last_line_at >= self.interval_s:
            self._last_line_at = now
            self.stream.write(line + "\n")
            self.stream.flush()

    def on_violation(self, violation: Violation) -> None:
        if self.quiet or self.path is not None:
            return
        self._close_line()
        path = " -> ".join(violation.path) or "(initial state)"
        label = self._style(f"violation: {violation.invariant}", "red")
        self.stream.write(f"{label} [{violation.severity.name}] after {path}\n")
        self.stream.flush()

    # -- summary --------------------------------------------------------------------------------

    def report(self, run: RunReport) -> None:
        self._close_line()
        text = self.render(run)
        if self.path is not None:
            from pathlib import Path

            target = Path(self.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            return
        self.stream.write(text)
        self.stream.flush()

    def render(self, run: RunReport) -> str:
        """The end-of-run summary as text, redacted."""
        self._filter = report_filter(run)
        lines: list[str] = []
        if not self.quiet:
            if run.exploration is not None:
                lines += self._exploration(run.exploration)
            for journey in run.journeys:
                lines += self._journey(journey)
            violations = run.violations
            if violations:
                lines.append(self._style(f"Violations ({len(violations)}):", "bold"))
                for number, violation in enumerate(violations, 1):
                    lines += self._violation(number, violation)
                lines += self.closing_summary(violations)
        lines.append(self._verdict(run))
        redact = self._filter.redact_text  # line by line: a cut body's open quote ends there
        return "\n".join(redact(line) for line in "\n".join(lines).split("\n")) + "\n"

    def closing_summary(self, violations: list[Violation]) -> list[str]:
        """Each problem on one line with its shortest call sequence (``venomqa run`` and
        ``venomqa demo`` both end with it, just before the verdict)."""
        count = len(violations)
        lines = [
            "",
            self._style(
                f"{count} problem{'s' if count != 1 else ''} found; "
                "the shortest call sequence for each:",
                "bold",
            ),
        ]
        for violation in violations:
            calls = " -> ".join(violation.path) or "(the initial state)"
            more = violation.occurrences - 1
            also = f"  (+{more} more state{'s' if more > 1 else ''})" if more else ""
            label = f"[{violation.severity.value}] {violation.invariant}"
            lines.append(f"  {self._style(label, 'red')}: {calls}{also}")
        return lines

    def _exploration(self, result: ExplorationResult) -> list[str]:
        calls = f"{result.calls} calls, " if result.calls else ""
        stopped = f"stopped: {result.stop_reason}"
        if result.stop_detail:
            stopped += f" ({result.stop_detail})"
        if result.restarts:
            stopped += f"; restarted {_times(result.restarts)} after learning volatile values"
        lines = [
            self._style(f"Exploration ({result.strategy})", "bold")
            + f" of {result.target or 'the API'}: {result.states} states, "
            f"{result.transitions} transitions, {calls}depth {result.max_depth_reached}, "
            f"{result.duration_s:.2f} s ({stopped})"
        ]
        if result.actions or result.never_enabled:
            lines.append("Actions:")
            width = max(len(name) for name in [*result.actions, *result.never_enabled])
            for name, count in result.actions.items():
                lines.append(f"  {name:<{width}}  fired {count}")
            for name in result.never_enabled:
                if name not in result.actions:
                    lines.append(f"  {name:<{width}}  " + self._style("never enabled", "yellow"))
        lines += self._learned(result)
        return lines

    def _learned(self, result: ExplorationResult) -> list[str]:
        learned = result.learned
        if not learned:
            return []
        lines = [self._style(LEARNED_HEADING, "bold")]
        width = max(len(info.spec) for info in learned)
        reason = self._filter.redact_learned
        lines += [f"  {info.spec:<{width}}  {reason(info.spec, info.reason)}" for info in learned]
        lines.append("  venomqa.yaml:")
        lines += [f"    {line}" for line in result.learned_pin_lines()]
        return lines

    def _violation(self, number: int, violation: Violation) -> list[str]:
        head = f"  {number}) [{violation.severity.name}] {violation.invariant}"
        if violation.kind not in ("invariant", violation.invariant):
            head += f" ({violation.kind})"
        if violation.occurrences > 1:
            head += f" (seen in {violation.occurrences} states)"
        if violation.message:
            head += f": {violation.message}"
        lines = [self._style(head, "red")]
        frame = user_frame(violation.frames) or (violation.frames[-1] if violation.frames else None)
        if frame is not None:
            lines.append(f"     raised at {frame.where()}")
            if frame.source:
                lines.append(f"       {frame.source}")
        if not violation.steps and not violation.path:
            lines.append("     (in the initial state, before any action)")
        steps = violation.steps or [StepRecord(action=name) for name in violation.path]
        for index, step in enumerate(steps, 1):
            lines.append(f"     {index}. {_describe_step(step)}")
            if step.error:
                lines.append(f"        error: {step.error}")
            if index == len(steps) and step.requests:
                body = step.requests[-1].response_body
                if body not in (None, ""):
                    lines.append(f"        response: {_shorten(body)}")
        for example in violation.examples:
            lines.append(f"     also: {' -> '.join(example) or '(initial state)'}")
        return lines

    def _journey(self, journey: JourneyResult) -> list[str]:
        verdict = self._style("PASS", "green") if journey.passed else self._style("FAIL", "red")
        lines = [f"Journey {journey.name}: {verdict} ({journey.duration_s:.2f} s)"]
        lines += [self._step(step, "  ") for step in journey.steps]
        for path in journey.paths:
            mark = self._style("PASS", "green") if path.passed else self._style("FAIL", "red")
            lines.append(f"  path {path.name} (from checkpoint {path.checkpoint}): {mark}")
            lines += [self._step(step, "    ") for step in path.steps]
        return lines

    def _step(self, step: StepResult, indent: str) -> str:
        mark = self._style("ok  ", "green") if step.passed else self._style("FAIL", "red")
        line = f"{indent}{mark} {step.name}"
        if step.requests:
            last = step.requests[-1]
            line += f"  {last.method} {_short_url(last.url)} -> {last.response_status}"
        if step.error:
            line += f"  ({step.error})"
        return line

    def _verdict(self, run: RunReport) -> str:
        count = len(run.violations)
        failed = [j.name for j in run.journeys if not j.passed]
        parts = []
        if count:
            parts.append(f"{count} violation{'s' if count != 1 else ''} found")
        if failed:
            parts.append(f"{len(failed)} journey{'s' if len(failed) != 1 else ''} failed")
        if run.stopped is not None:
            found = ", ".join(parts) + " so far" if parts else "no violations found so far"
            return self._style(
                f"INCOMPLETE ({run.stopped}): {found}.", "red" if parts else "yellow"
            )
        if run.ok:
            return self._style("OK: no violations found.", "green")
        return self._style("FAILED: " + ", ".join(parts) + ".", "red")

    # -- helpers --------------------------------------------------------------------------------

    def _close_line(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self._line_open = False

    def _style(self, text: str, style: str) -> str:
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if self.color else text


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _describe_step(step: StepRecord) -> str:
    if not step.requests:
        return f"{step.action}  (no request)"
    last = step.requests[-1]
    status = last.response_status if last.response_status is not None else last.error or "?"
    return f"{step.action}  {last.method} {_short_url(last.url)} -> {status}"


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _shorten(body: Json) -> str:
    text = body if isinstance(body, str) else json.dumps(body, default=repr)
    text = " ".join(text.split())
    return text if len(text) <= _BODY_LIMIT else text[: _BODY_LIMIT - 3] + "..."
