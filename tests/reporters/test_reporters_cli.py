"""Done when: ``venomqa run --report html:r.html --report junit:j.xml --report markdown:r.md`` on
an API with seeded bugs (the demo shop, a separate server process) writes three files that show
every violation with its path; the HTML opens offline in Chromium with the state graph; the JUnit
file is accepted by a real parser with one failing testcase per violated invariant. With actions
that are not deterministic, every report (console included) shows how many states showed each
problem, the other paths to it, the nondeterminism finding, and the values learned with the
venomqa.yaml lines that pin them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from _support_reporters import (
    FLAKY_MODULE,
    SHOP_JOURNEY_MODULE,
    chromium_available,
    dump_dom,
    screenshot,
)
from junitparser import Failure, JUnitXml
from services import require_service
from venomqa.demo import DemoServer, init_schema, start_demo_server

MAX_DEPTH = 4


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[DemoServer, Path]]:
    db = tmp_path / "shop.db"
    init_schema(str(db))
    with start_demo_server(db) as server:
        yield server, db


def _venomqa(args: list[str], cwd: Path, plugins: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VENOMQA_LOAD_PLUGINS": plugins}
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_plugin_registers_the_three_formats(tmp_path: Path) -> None:
    result = _venomqa(["plugins", "list", "--json"], tmp_path, "reporters")
    assert result.returncode == 0, result.stderr
    (info,) = [p for p in json.loads(result.stdout) if p["name"] == "reporters"]
    assert info["distribution"] == "venomqa-reporters"
    assert "html" in json.dumps(info) and "junit" in json.dumps(info)
    assert "markdown" in json.dumps(info) and not info.get("error")


def test_venomqa_run_writes_three_reports_showing_every_violation(
    shop: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    server, db = shop
    (tmp_path / "shop_journey.py").write_text(textwrap.dedent(SHOP_JOURNEY_MODULE))
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        "actions: [venomqa.demo.checks, shop_journey]\n"
        "stores:\n"
        f"  db: {{adapter: sqlite, path: {db.name}}}\n"
        f"explore: {{strategy: bfs, max_depth: {MAX_DEPTH}}}\n"
        "reports: [{format: json, path: out/r.json}]\n"
    )
    reports = ["html:out/r.html", "junit:out/j.xml", "markdown:out/r.md"]
    options = [flag for spec in reports for flag in ("--report", spec)]
    result = _venomqa(["run", "-c", str(config), *options], tmp_path, "reporters")
    assert result.returncode == 1, result.stdout + result.stderr

    data = json.loads((tmp_path / "out" / "r.json").read_text())
    violations = data["violations"]
    exploration = data["exploration"]
    assert len(violations) >= 4 and exploration["states"] >= 5
    html = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "out" / "r.md").read_text(encoding="utf-8")
    junit_text = (tmp_path / "out" / "j.xml").read_text(encoding="utf-8")

    for number, violation in enumerate(violations, 1):
        arrow_path = " -> ".join(violation["path"])
        # HTML: the violation, its path, and one timeline entry per step with its status.
        article = re.search(rf'id="violation-{number}".*?</article>', html, re.S)
        assert article is not None
        assert violation["invariant"] in article.group(0)
        assert arrow_path.replace(">", "&gt;") in article.group(0)
        statuses = re.findall(r'class="tag status \w+">(\d+)<', article.group(0))
        assert statuses == [str(s["response"]["status"]) for s in violation["steps"]]
        # Markdown: the numbered steps with method, URL and status.
        assert f"**{number}. `{violation['invariant']}`**" in markdown
        for index, step in enumerate(violation["steps"], 1):
            method, status = step["request"]["method"], step["response"]["status"]
            assert re.search(
                rf"   {index}\. `{step['action']}` `{method} /[^`]*` → \*\*{status}\*\*", markdown
            )
        # JUnit: the path in a failure.
        assert arrow_path.replace(">", "&gt;") in junit_text

    xml = JUnitXml.fromfile(str(tmp_path / "out" / "j.xml"))
    failing = {
        case.name
        for suite in xml
        if suite.name == "exploration"
        for case in suite
        if any(isinstance(r, Failure) for r in case.result)
    }
    assert failing == {v["invariant"] for v in exploration["violations"]}

    if not chromium_available():
        require_service("headless Chromium is not installed (scripts/ensure-chromium.sh)")
    page = tmp_path / "out" / "r.html"
    dom = dump_dom(page)
    svg = re.search(r'<svg[^>]*class="graph".*?</svg>', dom, re.S)
    assert svg is not None
    assert len(re.findall(r'<circle class="state[ "]', svg.group(0))) == exploration["states"]
    assert dom.count('<article class="violation"') == len(violations)
    screenshot(page, tmp_path / "out" / "r.png")


def test_venomqa_run_reports_grouped_findings_nondeterminism_and_learned_values(
    shop: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    server, db = shop
    (tmp_path / "flaky.py").write_text(textwrap.dedent(FLAKY_MODULE))
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        "actions: [venomqa.demo.checks, flaky]\n"
        "stores:\n"
        f"  db: {{adapter: sqlite, path: {db.name}}}\n"
        "explore: {strategy: bfs, max_depth: 3}\n"
    )
    reports = ["json:out/r.json", "html:out/r.html", "junit:out/j.xml", "markdown:out/r.md"]
    options = [flag for spec in reports for flag in ("--report", spec)]
    result = _venomqa(["run", "-c", str(config), *options], tmp_path, "reporters")
    assert result.returncode == 1, result.stdout + result.stderr

    data = json.loads((tmp_path / "out" / "r.json").read_text())
    exploration = data["exploration"]
    violations = data["violations"]
    # What this run must have found for the checks below to mean anything.
    assert [v["invariant"] for v in violations if v["kind"] == "nondeterminism"] == [
        "nondeterminism"
    ]
    assert any(v["occurrences"] > 1 and v["examples"] for v in violations)
    assert any(v["occurrences"] == 1 for v in violations)
    assert exploration["calls"] > exploration["transitions"] > 0
    learned = [v for v in exploration["volatile"] if not v["declared"]]
    assert [(v["where"], v["spec"]) for v in learned] == [("context.ignore", "ticket")]
    assert exploration["pin"] == ["context.ignore: [ticket]"]

    console = result.stdout
    assert (
        f"{exploration['states']} states, {exploration['transitions']} transitions, "
        f"{exploration['calls']} calls, depth {exploration['max_depth_reached']}" in console
    )
    console_lines = console.splitlines()
    heading = console_lines.index(
        "Learned volatile values (pin them in venomqa.yaml to skip learning):"
    )
    assert console_lines[heading + 1 : heading + 4] == [
        f"  ticket  {learned[0]['reason']}",
        "  venomqa.yaml:",
        "    context.ignore: [ticket]",
    ]

    html = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "out" / "r.md").read_text(encoding="utf-8")
    junit = ET.parse(tmp_path / "out" / "j.xml").getroot()
    failures = {
        case.get("name"): case.find("failure")
        for case in junit.iter("testcase")
        if case.get("classname") in ("venomqa.invariants", "venomqa.findings")
    }
    for number, violation in enumerate(violations, 1):
        count, examples = violation["occurrences"], violation["examples"]
        seen = f"seen in {count} states" if count > 1 else None
        shown = [" -> ".join(path) for path in examples]
        # Console: the head line and one "also:" line per example, in order.
        head = next(line for line in console_lines if line.startswith(f"  {number}) ["))
        assert head.startswith(
            f"  {number}) [{violation['severity'].upper()}] {violation['invariant']}"
            + (f" ({seen})" if seen else "")
            + ":"
        ), head
        block = console_lines[console_lines.index(head) + 1 :]
        block = block[: next(i for i, line in enumerate(block) if not line.startswith("     "))]
        assert [line for line in block if line.startswith("     also: ")] == [
            f"     also: {path}" for path in shown
        ]
        # HTML: the count, and the examples in order.
        article = re.search(rf'id="violation-{number}".*?</article>', html, re.S)
        assert article is not None
        assert f'data-occurrences="{count}"' in article.group(0)
        assert (f'<p class="seen">{seen}</p>' in article.group(0)) == bool(seen)
        items = re.findall(r'<li class="path">(.*?)</li>', article.group(0))
        assert [unescape(item) for item in items] == shown
        # Markdown: the count in the heading, the examples below.
        md_head = next(line for line in markdown.splitlines() if line.startswith(f"**{number}. "))
        assert (f"_({seen})_" in md_head) == bool(seen), md_head
        if shown:
            listed = ", ".join(f"`{path}`" for path in shown)
            assert f"   Also seen after: {listed}." in markdown
        # JUnit: the failing testcase of this invariant or finding kind.
        failure = failures[violation["invariant"]]
        assert failure is not None
        assert (seen is not None and failure.get("message", "").endswith(f"; {seen})")) or (
            seen is None and "seen in" not in failure.get("message", "")
        )
        also = [
            line for line in (failure.text or "").splitlines() if line.startswith("also seen after")
        ]
        assert also == [f"also seen after: {path}" for path in shown]

    nondeterminism = next(v for v in violations if v["kind"] == "nondeterminism")
    assert '<tr data-finding="nondeterminism">' in html
    assert f"| ❌ found (1; seen in {nondeterminism['occurrences']} state" in markdown
    assert failures["nondeterminism"] is not None
    assert failures["nondeterminism"].get("type") == "medium:nondeterminism"
    assert "action 'bulk_orders' reached different states on two runs" in (
        failures["nondeterminism"].get("message", "")
    )
    assert re.search(r'<tr data-learned="ticket"><td><code>ticket</code></td>', html)
    assert '<pre class="pin">context.ignore: [ticket]</pre>' in html
    assert "```yaml\ncontext.ignore: [ticket]\n```" in markdown
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props["calls"] == str(exploration["calls"])
    assert props["learned.ticket"] == f"context.ignore: {learned[0]['reason']}"
    assert "  context.ignore: [ticket]" in (junit.findtext("testsuite/system-out") or "")


DYING_MODULE = """
from venomqa import action, invariant


@action
def create_order(api, ctx):
    return api.post("/orders", json={"amount": 100})


@invariant
def no_order_yet(world):
    return not world.stores["db"].query("SELECT id FROM orders")
"""


def test_a_run_whose_api_dies_writes_every_report_marked_incomplete(tmp_path: Path) -> None:
    """The API process is killed after the first violation: the run aborts (exit 3), and every
    format says the run is incomplete, why, and keeps the violation found."""
    db = tmp_path / "shop.db"
    init_schema(str(db))
    (tmp_path / "dying_checks.py").write_text(DYING_MODULE)
    server = start_demo_server(db)
    try:
        (tmp_path / "venomqa.yaml").write_text(
            f"target: {server.url}\nactions: [dying_checks]\n"
            "stores:\n  db: {adapter: sqlite, path: shop.db}\n"
            "explore: {max_depth: 5000, max_states: 100000}\n"
        )
        args = ["run", "--report", "html:r.html", "--report", "junit:j.xml"]
        process = subprocess.Popen(
            [sys.executable, "-m", "venomqa", *args, "--report", "markdown:r.md"],
            cwd=tmp_path,
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": "reporters"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("violation: no_order_yet"):
                break
        server.process.kill()
        _, stderr = process.communicate(timeout=60)
    finally:
        server.stop()

    assert process.returncode == 3, stderr
    page = unescape((tmp_path / "r.html").read_text())
    assert "INCOMPLETE (aborted: " in page and "no_order_yet" in page
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.startswith("## ❌ ") and "INCOMPLETE (aborted: " in markdown
    xml = JUnitXml.fromfile(str(tmp_path / "j.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    [error] = [r for r in cases["complete"].result if r._tag == "error"]
    assert error.type == "incomplete" and "the run stopped early: aborted: " in error.message
    assert any(isinstance(r, Failure) for r in cases["no_order_yet"].result)
