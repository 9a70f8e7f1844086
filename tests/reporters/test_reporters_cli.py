"""Done when: ``venomqa run --report html:r.html --report junit:j.xml --report markdown:r.md`` on
an API with seeded bugs (the demo shop, a separate server process) writes three files that show
every violation with its path; the HTML opens offline in Chromium with the state graph; the JUnit
file is accepted by a real parser with one failing testcase per violated invariant."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_reporters import SHOP_JOURNEY_MODULE, chromium_available, dump_dom, screenshot
from junitparser import Failure, JUnitXml
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
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("headless Chromium is required on CI (scripts/ensure-chromium.sh)")
        pytest.skip("headless Chromium is not installed; the file checks above passed")
    page = tmp_path / "out" / "r.html"
    dom = dump_dom(page)
    svg = re.search(r'<svg[^>]*class="graph".*?</svg>', dom, re.S)
    assert svg is not None
    assert len(re.findall(r'<circle class="state[ "]', svg.group(0))) == exploration["states"]
    assert dom.count('<article class="violation"') == len(violations)
    screenshot(page, tmp_path / "out" / "r.png")
