"""The junit reporter: valid JUnit XML (junitparser and ElementTree read it) with one failing
testcase per violated invariant, carrying the shortest path and its steps."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from _support_reporters import (
    LEARNED,
    NONDETERMINISM_MESSAGE,
    PIN,
    REFUND_EXAMPLES,
    REFUND_PATH,
    grouped_run,
)
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
    VolatileFieldInfo,
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
    assert cases[("exploration", "venomqa.findings", "nondeterminism")] == []
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
    # the invariant, then server_error, action_error and nondeterminism (node_check: not used)
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == ["fine", "server_error", "action_error", "nondeterminism"]
    assert root.get("tests") == "4" and root.get("failures") == "0"
    assert root.find("testsuite/system-out") is None, "nothing learned, nothing to say"


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
    learned = VolatileFieldInfo("stores.db.ignore", "t.<b>\x07", "a salted hash: password=p4ss")
    run = RunReport(
        exploration=ExplorationResult(violations=[violation], invariants=[], volatile=[learned]),
        journeys=[journey],
    )
    target = _write(run, out)
    text = target.read_text(encoding="utf-8")
    assert "SECRET-1" not in text and "p4ss" not in text
    root = ET.parse(target).getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert "no <5xx> & \ufffd bell" in names
    assert root.findtext("testsuite/system-out", "").endswith("stores.db.ignore: [t.<b>\ufffd]")
    xml = JUnitXml.fromfile(str(target))
    assert xml.failures == 2


def test_grouped_findings_nondeterminism_and_learned_values(out: Path) -> None:
    target = _write(grouped_run(), out)
    xml = JUnitXml.fromfile(str(target))
    cases = _cases(xml)
    assert xml.failures == 3 and xml.tests == 5

    (refund,) = cases[("exploration", "venomqa.invariants", "refunds_never_exceed_payment")]
    assert refund.message == (
        f"order 1 cost 2500 but 5000 was refunded (after {' -> '.join(REFUND_PATH)}; "
        "seen in 7 states)"
    )
    lines = (refund.text or "").splitlines()
    assert "seen in 7 states" in lines
    also = [line for line in lines if line.startswith("also seen after: ")]
    assert also == [f"also seen after: {' -> '.join(p)}" for p in REFUND_EXAMPLES]
    assert lines.index("seen in 7 states") < lines.index(also[0])

    (flaky,) = cases[("exploration", "venomqa.findings", "nondeterminism")]
    assert flaky.type == "medium:nondeterminism"
    assert flaky.message == (
        f"{NONDETERMINISM_MESSAGE} (after create_order -> bulk_orders; seen in 3 states)"
    )
    assert "also seen after: bulk_orders" in (flaky.text or "").splitlines()

    (crash,) = cases[("exploration", "venomqa.findings", "server_error")]
    assert crash.message == "GET /orders answered 500 (after list_orders)"
    assert "seen in" not in (crash.text or "") and "also seen after" not in (crash.text or "")
    assert cases[("exploration", "venomqa.findings", "action_error")] == []

    root = ET.parse(target).getroot()
    (suite,) = root.findall("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["calls"] == "41" and props["transitions"] == "27" and props["restarts"] == "2"
    learned = {name: value for name, value in props.items() if name and name.startswith("learned.")}
    assert learned == {f"learned.{info.spec}": f"{info.where}: {info.reason}" for info in LEARNED}
    system_out = suite.find("system-out")
    assert system_out is not None and system_out.text is not None
    assert system_out.text.splitlines() == [
        "Learned volatile values (pin them in venomqa.yaml to skip learning):",
        f"  orders.updated_at (stores.db.ignore): {LEARNED[0].reason}",
        f"  ticket (context.ignore): {LEARNED[1].reason}",
        *(f"  {line}" for line in PIN),
        "The search restarted 2 times after learning volatile values.",
    ]
    # The JUnit schema's order: properties, testcases, then system-out.
    tags = [child.tag for child in suite]
    assert tags == ["properties", *["testcase"] * 5, "system-out"]

    plain = ET.parse(_write(grouped_run(learned=False), out)).getroot()
    out_text = plain.findtext("testsuite/system-out") or ""
    assert out_text == "The search restarted 2 times after learning volatile values."
    assert not [p for p in plain.iter("property") if (p.get("name") or "").startswith("learned.")]
