"""JunitReporter: JUnit XML as Jenkins, GitLab and GitHub test-report readers take it.

    <testsuites name="venomqa" tests= failures= errors= time=>
      <testsuite name="exploration" ...>       one per run: the exploration
        <properties>  totals, calls, restarts, coverage, learned.SPEC per learned volatile value
        <testcase classname="venomqa.invariants" name=INVARIANT>   one per invariant checked
          <failure message= type=SEVERITY>the shortest path and its steps</failure>
        <testcase classname="venomqa.findings"
                  name=server_error|action_error|nondeterminism|node_check>
        <system-out>  the learned volatile values and the venomqa.yaml lines that pin them
      <testsuite name="journey NAME" ...>      one per journey
        <testcase classname="venomqa.journey.NAME" name="step S" | "path P">
        <testcase classname="venomqa.journey.NAME.invariants" name=INVARIANT>

A violated invariant is exactly one failing testcase however many states violate it; its
failure says in how many states it was seen, shows the shortest reproduction and lists a few
other paths to it.

    venomqa run --report junit:reports/venomqa.xml
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from venomqa.models import (
    ExplorationResult,
    JourneyResult,
    PathResult,
    RunReport,
    StepResult,
    Violation,
)

from venomqa_reporters._output import output_path, write_report
from venomqa_reporters._redact import Redactor
from venomqa_reporters._summary import (
    LEARNED_HINT,
    checked_kinds,
    coverage,
    example_texts,
    findings_of_kind,
    frame_lines,
    invariant_outcomes,
    path_text,
    restarts_text,
    seen_text,
    step_lines,
)

# Characters XML 1.0 cannot hold at all, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class JunitReporter:
    """Writes the run as JUnit XML to ``path`` (stdout without one).

    Option ``suite_name`` names the ``<testsuites>`` element (default ``venomqa``).
    """

    name = "junit"
    #: A report given without a path is written to ``venomqa-report.xml``.
    file_extension = "xml"

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, suite_name: str = "venomqa"
    ) -> None:
        self.path = output_path(path)
        self.suite_name = suite_name
        self.redactor = Redactor()

    def report(self, run: RunReport) -> None:
        write_report(self.path, self.render(run), fmt=self.name)

    def render(self, run: RunReport) -> str:
        """The XML document."""
        self.redactor = Redactor.for_run(run)
        root = ET.Element("testsuites", name=_clean(self.suite_name))
        stamp = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        if run.exploration is not None:
            root.append(self._exploration(run.exploration, run.target, stamp))
        for journey in run.journeys:
            root.append(self._journey(journey, stamp))
        if run.stopped is not None:  # an error CI shows: the findings are only those so far
            case = _case("venomqa.run", "complete", 0.0)
            error = ET.SubElement(case, "error", type="incomplete")
            error.set(
                "message", _clean(f"the run stopped early: {self.redactor.text(run.stopped)}")
            )
            root.append(_suite("venomqa.run", [case], 0.0, stamp))
        elif run.exploration is None and not run.journeys:
            root.append(_suite("venomqa", [], 0.0, stamp))
        _total(root)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"

    # -- exploration -----------------------------------------------------------------------

    def _exploration(self, result: ExplorationResult, target: str | None, stamp: str) -> ET.Element:
        cases = []
        for outcome in invariant_outcomes(result.invariants, result.violations):
            case = _case("venomqa.invariants", outcome.name, 0.0)
            if outcome.violations:
                case.append(self._failure(outcome.violations))
            cases.append(case)
        for kind in checked_kinds(result.violations):
            found = findings_of_kind(result.violations, kind)
            case = _case("venomqa.findings", kind, 0.0)
            if found:
                case.append(self._failure(found))
            cases.append(case)
        suite = _suite("exploration", cases, result.duration_s, stamp)
        properties = ET.Element("properties")
        values = {
            "target": self.redactor.url(target or result.target or ""),
            "strategy": result.strategy,
            "stop_reason": result.stop_reason,
            "states": str(result.states),
            "transitions": str(result.transitions),
            "calls": str(result.calls),
            "restarts": str(result.restarts),
            "max_depth_reached": str(result.max_depth_reached),
        }
        for row in coverage(result):
            values[f"action.{row.action}"] = f"{row.status} ({row.fired})"
        for info in result.learned:
            values[f"learned.{info.spec}"] = f"{info.where}: {self.redactor.reason(info)}"
        for name, value in values.items():
            ET.SubElement(properties, "property", name=_clean(name), value=_clean(value))
        suite.insert(0, properties)
        out = _learned_text(result, self.redactor)
        if out:
            ET.SubElement(suite, "system-out").text = _clean(out)
        return suite

    def _failure(self, violations: list[Violation]) -> ET.Element:
        """One <failure> for an invariant: the shortest violation's path and steps."""
        shortest = violations[0]
        message = self.redactor.text(shortest.message) or f"{shortest.invariant} violated"
        seen = seen_text(shortest)
        failure = ET.Element(
            "failure",
            message=_clean(f"{message} (after {path_text(shortest)}{'; ' + seen if seen else ''})"),
            type=_clean(f"{shortest.severity.value}:{shortest.kind}"),
        )
        lines = [
            f"{shortest.invariant} [{shortest.severity.name}] ({shortest.kind})",
            f"message: {message}",
            f"shortest path ({len(shortest.path)} steps): {path_text(shortest)}",
        ]
        if seen:
            lines.append(seen)
        if shortest.state:
            lines.append(f"state: {shortest.state}")
        frames = frame_lines(shortest, self.redactor)
        if frames:
            lines += ["raised at (innermost last):", *frames]
        lines += self._steps(shortest)
        lines += [f"also seen after: {example}" for example in example_texts(shortest)]
        if len(violations) > 1:
            others = ", ".join(path_text(v) for v in violations[1:6])
            more = f" and {len(violations) - 6} more" if len(violations) > 6 else ""
            lines.append(f"also violated after {len(violations) - 1} other path(s): {others}{more}")
        failure.text = _clean("\n".join(lines))
        return failure

    def _steps(self, violation: Violation) -> list[str]:
        lines = []
        records = violation.steps
        for line in step_lines(violation, self.redactor):
            call = f"{line.method} {line.url} -> {line.status}" if line.method else "(no request)"
            lines.append(f"  {line.number}. {line.action}: {call}")
            if line.error:
                lines.append(f"     error: {line.error}")
            if line.number == len(records) and records[-1].requests:
                body = self.redactor.one_line(records[-1].requests[-1].response_body, 500)
                if body:
                    lines.append(f"     response: {body}")
        return lines

    # -- journeys --------------------------------------------------------------------------

    def _journey(self, journey: JourneyResult, stamp: str) -> ET.Element:
        classname = f"venomqa.journey.{journey.name}"
        cases = [self._step_case(classname, f"step {step.name}", step) for step in journey.steps]
        cases += [self._path_case(classname, path) for path in journey.paths]
        checked = sorted({v.invariant for v in journey.violations})
        for outcome in invariant_outcomes(checked, journey.violations):
            case = _case(f"{classname}.invariants", outcome.name, 0.0)
            case.append(self._failure(outcome.violations))
            cases.append(case)
        return _suite(f"journey {journey.name}", cases, journey.duration_s, stamp)

    def _step_case(self, classname: str, name: str, step: StepResult) -> ET.Element:
        case = _case(classname, name, step.duration_ms / 1000)
        if not step.passed:
            failure = ET.SubElement(
                case,
                "failure",
                message=_clean(self.redactor.text(step.error) or f"{step.name} failed"),
                type="step",
            )
            failure.text = _clean("\n".join(self._step_result_lines([step])))
        return case

    def _path_case(self, classname: str, path: PathResult) -> ET.Element:
        seconds = sum(step.duration_ms for step in path.steps) / 1000
        case = _case(classname, f"path {path.name}", seconds)
        if not path.passed:
            failed = next(step for step in path.steps if not step.passed)
            failure = ET.SubElement(
                case,
                "failure",
                message=_clean(
                    f"step {failed.name} failed: {self.redactor.text(failed.error) or 'failed'}"
                ),
                type="path",
            )
            lines = [f"path {path.name} from checkpoint {path.checkpoint}:"]
            failure.text = _clean("\n".join(lines + self._step_result_lines(path.steps)))
        return case

    def _step_result_lines(self, steps: Iterable[StepResult]) -> list[str]:
        lines = []
        for number, step in enumerate(steps, 1):
            mark = "ok" if step.passed else "FAILED"
            call = ""
            if step.requests:
                record = step.requests[-1]
                status = record.response_status if record.response_status is not None else "-"
                call = f": {record.method} {self.redactor.short_url(record.url)} -> {status}"
            lines.append(f"  {number}. {step.name}{call} [{mark}]")
            if step.error:
                lines.append(f"     error: {self.redactor.text(step.error)}")
        return lines


def _learned_text(result: ExplorationResult, redactor: Redactor) -> str:
    """What was learned, for the suite's system-out: each value and why, then the pin lines."""
    lines = []
    restarted = restarts_text(result)
    if result.learned:
        lines.append(f"Learned volatile values ({LEARNED_HINT}):")
        lines += [
            f"  {info.spec} ({info.where}): {redactor.reason(info)}" for info in result.learned
        ]
        lines += [f"  {line}" for line in result.learned_pin_lines()]
    if restarted:
        lines.append(f"The search {restarted}.")
    return "\n".join(lines)


def _case(classname: str, name: str, seconds: float) -> ET.Element:
    return ET.Element(
        "testcase", classname=_clean(classname), name=_clean(name), time=f"{seconds:.3f}"
    )


def _suite(name: str, cases: list[ET.Element], seconds: float, stamp: str) -> ET.Element:
    failures = sum(1 for case in cases if case.find("failure") is not None)
    errors = sum(1 for case in cases if case.find("error") is not None)
    suite = ET.Element(
        "testsuite",
        name=_clean(name),
        tests=str(len(cases)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{seconds:.3f}",
        timestamp=stamp,
        hostname=_clean(socket.gethostname()),
    )
    suite.extend(cases)
    return suite


def _total(root: ET.Element) -> None:
    suites = root.findall("testsuite")
    for attribute in ("tests", "failures", "errors"):
        root.set(attribute, str(sum(int(s.get(attribute, "0")) for s in suites)))
    root.set("time", f"{sum(float(s.get('time', '0')) for s in suites):.3f}")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)
