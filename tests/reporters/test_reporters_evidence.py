"""Every report shows where the user's code raised (its last frames, redacted); the HTML page
unfolds the violation's last response (the evidence), labels states by the action that reached
them and what it changed (not a hash), labels self-loops, draws graph text at 13 px or more with
edge labels beside the lines, and shows what each step of a violation's path changed.

A real run: the demo shop (a separate server process, on a SQLite file) explored with its
seeded bugs plus an action that raises on a line holding a configured secret.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from venomqa import action
from venomqa.demo import checks, init_schema, start_demo_server
from venomqa.models import RunReport
from venomqa.reporters.json_report import JsonReporter
from venomqa.runtime import run_session
from venomqa.stores.sqlite import SQLiteStore
from venomqa_reporters import HtmlReporter, JunitReporter, MarkdownReporter

SECRET = "s3cr3t-evidence-token-77"


@action(requires=lambda ctx: "orders" in ctx and "looked" not in ctx)
def look_up_total(api, ctx):  # type: ignore[no-untyped-def]
    response = api.get("/orders")
    ctx["looked"] = {"token": SECRET, "total": 1}["no_such_key" if response else SECRET]
    return response


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    db = tmp_path_factory.mktemp("evidence") / "shop.db"
    init_schema(str(db))
    with start_demo_server(db) as server:
        return run_session(
            target=server.url,
            actions=[*checks.ACTIONS, look_up_total],
            invariants=list(checks.INVARIANTS),
            journeys=[],
            graphs=[],
            stores={"db": SQLiteStore(str(db))},
            explore_options={"strategy": "bfs", "max_depth": 3},
            reporters=[],
            secrets=[SECRET],
        )


def _outputs(run: RunReport, folder: Path) -> dict[str, str]:
    reporters = {
        "html": HtmlReporter(str(folder / "r.html")),
        "md": MarkdownReporter(str(folder / "r.md")),
        "xml": JunitReporter(str(folder / "r.xml")),
        "json": JsonReporter(str(folder / "r.json")),
    }
    for reporter in reporters.values():
        reporter.report(run)
    return {ext: (folder / f"r.{ext}").read_text(encoding="utf-8") for ext in reporters}


def test_every_report_shows_the_frame_that_raised_redacted(run: RunReport, tmp_path: Path) -> None:
    (error,) = [v for v in run.violations if v.kind == "action_error"]
    frame = error.frames[-1]
    assert frame.function == "look_up_total" and frame.user
    assert frame.file.endswith("test_reporters_evidence.py") and "no_such_key" in frame.source
    outputs = _outputs(run, tmp_path)
    for ext, text in outputs.items():
        assert SECRET not in text, ext
        where = f'"line": {frame.line},\n' if ext == "json" else f":{frame.line} in look_up_total"
        assert where in text and "look_up_total" in text and "no_such_key" in text, ext
    failures = ET.fromstring(outputs["xml"]).iter("failure")
    assert any("raised at (innermost last):" in (f.text or "") for f in failures)


def _article(page: str, number: int) -> str:
    found = re.search(
        rf'<article class="violation" id="violation-{number}".*?</article>', page, re.S
    )
    assert found is not None
    return found.group(0)


def test_html_unfolds_the_evidence_and_shows_what_each_step_changed(
    run: RunReport, tmp_path: Path
) -> None:
    page = _outputs(run, tmp_path)["html"]
    for number, violation in enumerate(run.violations, 1):
        article = _article(page, number)
        steps = re.findall(r'<li class="step.*?</li>', article, re.S)
        assert len(steps) == len(violation.path)
        for step in steps[:-1]:
            assert "<details open" not in step  # only the evidence is unfolded
        last = violation.steps[-1].requests
        if last and last[-1].response_body not in (None, ""):
            assert '<details open class="evidence"><summary>response body</summary>' in steps[-1]
        for step, record in zip(steps, violation.steps, strict=True):
            if record.changed:
                assert f"changed: {', '.join(record.changed)}" in step.replace("&#x27;", "'")
    charged = next(v for v in run.violations if v.invariant == "cancelled_orders_are_never_charged")
    assert [s.changed for s in charged.steps] == [
        ["+orders#1", "ctx +orders"],
        ["orders#1: cancelled"],
        ["orders#1: status"],
    ]


def _attributes(tag: str) -> dict[str, str]:
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def test_html_graph_labels_states_by_change_labels_self_loops_and_keeps_labels_off_lines(
    run: RunReport, tmp_path: Path
) -> None:
    page = _outputs(run, tmp_path)["html"]
    exploration = run.exploration
    assert exploration is not None
    labels = re.findall(r'<text class="state-label"[^>]*>([^<]*)</text>', page)
    assert len(labels) == exploration.states
    actions = {*exploration.actions, "initial"}
    assert all(label in actions for label in labels), labels
    assert not any(re.fullmatch(r"[0-9a-f]{8}", label) for label in labels)
    assert "+orders#1, ctx +orders" in page  # what create_order changed, under its state

    font = re.search(r"svg\.graph \{[^}]*font:(\d+)px", page)
    assert font is not None and int(font.group(1)) >= 13

    edges = re.findall(
        r'(<path class="edge[^"]*"[^>]*>)<title>([^<]*)</title></path>(<text[^>]*>)?', page
    )
    loops = [e for e in edges if " 1,1 " in e[0]]  # the arc drawn for a self-loop
    assert loops and all(e[2].startswith('<text class="edge-label"') for e in loops)
    straight = [e for e in edges if re.search(r'd="M[\d.]+,[\d.]+L', e[0]) and e[2]]
    assert straight
    for path, _title, text in straight:
        x1, y1, x2, y2 = map(float, re.findall(r"[\d.]+", _attributes(path)["d"]))
        label = _attributes(text)
        px, py = float(label["x"]), float(label["y"])
        distance = abs((x2 - x1) * (y1 - py) - (x1 - px) * (y2 - y1)) / math.hypot(x2 - x1, y2 - y1)
        assert distance >= 6, (path, text)  # beside the line, not on it
