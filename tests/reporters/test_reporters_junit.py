"""The junit reporter: valid JUnit XML (junitparser and ElementTree read it) with one failing
testcase per violated invariant, carrying the shortest path and its steps."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import Failure, JUnitXml
from venomqa.models import (
    ExplorationResult,
    JourneyResult,
    RequestRecord,
    RunReport,
    Severity,
    StepRecord,
    StepResult,
    Violation,
)
from venomqa_reporters import JunitReporter


def _write(run: RunReport, folder: Path) -> Path:
    target = folder / "junit.xml"
    JunitReporter(str(target)).report(run)
    return target


def _cases(xml: JUnitXml) -> dict[tuple[str, str, str], list[Failure]]:
    return {
        (suite.name, case.classname, case.name): [r for r in case.result if isinstance(r, Failure)]
        for suite in xml
        for case in suite
    }


def test_real_run_one_failing_testcase_per_violated_invariant(
    shop_report: RunReport, out: Path
) -> None:
    target = _write(shop_report, out)
    xml = JUnitXml.fromfile(str(target))
    exploration = shop_report.exploration
    assert exploration is not None
    cases = _cases(xml)

    violated = {v.invariant for v in exploration.violations}
    failing = {name for (suite, cls, name), f in cases.items() if suite == "exploration" and f}
    assert failing == violated
    for invariant in exploration.invariants:
        assert ("exploration", "venomqa.invariants", invariant) in cases
    assert cases[("exploration", "venomqa.findings", "server_error")] == []
    assert cases[("exploration", "venomqa.findings", "action_error")] == []
    for violation in exploration.violations:
        failure = cases[("exploration", "venomqa.invariants", violation.invariant)][0]
        assert " -> ".join(violation.path) in failure.message
        text = failure.text or ""
        for number, step in enumerate(violation.steps, 1):
            record = step.requests[-1]
            assert f"{number}. {step.action}: {record.method} " in text
            assert f"-> {record.response_status}" in text

    journey = cases[("journey checkout", "venomqa.journey.checkout", "path listing_must_fail")]
    assert journey and "expected the step to fail" in journey[0].message
    assert cases[("journey checkout", "venomqa.journey.checkout", "path refund_twice")] == []
    refunds = cases[
        ("journey checkout", "venomqa.journey.checkout.invariants", "refunds_never_exceed_payment")
    ]
    assert refunds and "create -> pay -> refund -> refund_again" in refunds[0].message

    # The counts on every level agree, as ElementTree reads them.
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["exploration", "journey checkout"]
    for suite in suites:
        cases_here = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases_here)
        assert int(suite.get("failures", "-1")) == sum(
            1 for c in cases_here if c.find("failure") is not None
        )
        assert suite.get("errors") == "0" and float(suite.get("time", "-1")) >= 0
    assert int(root.get("tests", "-1")) == sum(int(s.get("tests", "0")) for s in suites)
    assert int(root.get("failures", "-1")) == len(violated) + 2
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["states"] == str(exploration.states)


def test_empty_run_is_valid(out: Path) -> None:
    xml = JUnitXml.fromfile(str(_write(RunReport(), out)))
    assert xml.tests == 0 and xml.failures == 0
    clean = RunReport(exploration=ExplorationResult(states=1, invariants=["fine"]))
    root = ET.parse(_write(clean, out)).getroot()
    assert root.get("tests") == "3" and root.get("failures") == "0"


def test_markup_control_characters_and_secrets_are_made_safe(out: Path) -> None:
    record = RequestRecord(
        "POST",
        "http://h/pay?token=SECRET-1",
        {"password": "p4ss"},
        500,
        "bad \x00 byte <b> & ]]>",
    )
    violation = Violation(
        invariant="no <5xx> & \x07 bell",
        severity=Severity.CRITICAL,
        path=["pay"],
        steps=[StepRecord("pay", [record])],
        message="said \x1b[31m red ]]> password=p4ss",
    )
    journey = JourneyResult(
        name="j<&>", steps=[StepResult("s\x01", False, error="boom <x>")], violations=[]
    )
    run = RunReport(
        exploration=ExplorationResult(violations=[violation], invariants=[]), journeys=[journey]
    )
    target = _write(run, out)
    text = target.read_text(encoding="utf-8")
    assert "SECRET-1" not in text and "p4ss" not in text
    root = ET.parse(target).getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert "no <5xx> & \ufffd bell" in names
    xml = JUnitXml.fromfile(str(target))
    assert xml.failures == 2
