"""The html reporter: one offline page with summary, coverage, violation timelines, the state
graph and journeys; checked as text and as headless Chromium renders it."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from _support_reporters import (
    LEARNED,
    NONDETERMINISM_MESSAGE,
    NONDETERMINISM_PATH,
    PIN,
    REFUND_EXAMPLES,
    REFUND_PATH,
    dump_dom,
    grouped_run,
    screenshot,
    synthetic_exploration,
)
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
from venomqa_reporters import HtmlReporter

STATE_CIRCLE = re.compile(r'<circle class="state[ "]')


def _write(run: RunReport, folder: Path, name: str = "report.html", **options: object) -> Path:
    page = folder / name
    HtmlReporter(str(page), **options).report(run)  # type: ignore[arg-type]
    return page


def test_real_run_page_shows_summary_coverage_violations_graph_and_journeys(
    shop_report: RunReport, out: Path
) -> None:
    page = _write(shop_report, out).read_text(encoding="utf-8")
    exploration = shop_report.exploration
    assert exploration is not None

    assert page.startswith("<!DOCTYPE html>")
    assert "FAILED: 4 violations found, 1 journey failed." in page
    assert f'data-card="states"><div class="value">{exploration.states}<' in page
    for action in exploration.actions:
        assert f'data-action="{action}"' in page
    for number, violation in enumerate(shop_report.violations, 1):
        article = re.search(
            rf'<article class="violation" id="violation-{number}".*?</article>', page, re.S
        )
        assert article is not None, number
        text = article.group(0)
        assert violation.invariant in text
        assert f"path: {' -&gt; '.join(violation.path)}" in text
        assert text.count('<li class="step') == len(violation.path)
        assert "<details><summary>response body</summary>" in text
    assert len(STATE_CIRCLE.findall(page)) == exploration.states
    assert len(re.findall(r'<circle class="[^"]*violating', page)) == len(exploration.violations)
    assert 'data-journey="checkout"' in page and 'data-path="listing_must_fail"' in page
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page and "@import" not in page


def _article(page: str, number: int) -> str:
    found = re.search(
        rf'<article class="violation" id="violation-{number}".*?</article>', page, re.S
    )
    assert found is not None, number
    return found.group(0)


def _examples(article: str) -> list[str]:
    found = re.search(r'<div class="examples">.*?</div>', article, re.S)
    if found is None:
        return []
    return [html.unescape(t) for t in re.findall(r'<li class="path">(.*?)</li>', found.group(0))]


def _row(page: str, attribute: str) -> list[str]:
    """The cells of the invariants-table row marked ``attribute`` (e.g. data-finding="x")."""
    found = re.search(rf"<tr {attribute}>(.*?)</tr>", page, re.S)
    assert found is not None, attribute
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", found[1])]


def test_grouped_findings_nondeterminism_calls_and_learned_values(out: Path) -> None:
    page = _write(grouped_run(), out).read_text(encoding="utf-8")

    assert 'data-card="calls"><div class="value">41<' in page
    assert 'data-card="transitions"><div class="value">27<' in page
    assert '<span class="restarts">restarted 2 times after learning volatile values</span>' in page

    refund = _article(page, 1)
    assert 'data-occurrences="7"' in refund
    assert '<p class="seen">seen in 7 states</p>' in refund
    assert f"path: {' -&gt; '.join(REFUND_PATH)}" in refund
    assert _examples(refund) == [" -> ".join(p) for p in REFUND_EXAMPLES]

    flaky = _article(page, 2)
    assert 'data-kind="nondeterminism" data-occurrences="3"' in flaky
    assert '<span class="tag">nondeterminism</span>' in flaky
    assert '<p class="seen">seen in 3 states</p>' in flaky
    assert html.escape(NONDETERMINISM_MESSAGE) in flaky
    assert f"path: {' -&gt; '.join(NONDETERMINISM_PATH)}" in flaky
    assert _examples(flaky) == ["bulk_orders"]

    crash = _article(page, 3)
    assert 'data-occurrences="1"' in crash
    assert 'class="seen"' not in crash and 'class="examples"' not in crash

    # check, outcome, violations, states
    assert _row(page, 'data-invariant="refunds_never_exceed_payment"')[1:] == ["violated", "1", "7"]
    assert _row(page, 'data-invariant="always_fine"')[1:] == ["held", "0", "0"]
    assert _row(page, 'data-finding="nondeterminism"')[1:] == ["found", "1", "3"]
    assert _row(page, 'data-finding="server_error"')[1:] == ["found", "1", "1"]
    assert _row(page, 'data-finding="action_error"')[1:] == ["held", "0", "0"]
    assert "the same calls from the same state always reached the same state" in page

    section = re.search(r'<section id="learned">.*?</section>', page, re.S)
    assert section is not None
    learned = section.group(0)
    assert "<h2>Learned volatile values (2)</h2>" in learned
    assert "pin them in venomqa.yaml to skip learning" in learned
    rows = re.findall(r'<tr data-learned="([^"]*)"><td>.*?</td><td><code>([^<]*)</code>', learned)
    assert rows == [(info.spec, info.where) for info in LEARNED]  # not the declared orders.id
    assert html.escape(LEARNED[0].reason) in learned
    pin = re.search(r'<pre class="pin">(.*?)</pre>', learned, re.S)
    assert pin is not None and html.unescape(pin.group(1)).splitlines() == PIN

    plain = _write(grouped_run(learned=False), out, "declared_only.html").read_text("utf-8")
    assert 'id="learned"' not in plain and "pin them" not in plain


def test_grouped_page_renders_in_chromium(out: Path, needs_chromium: None) -> None:
    dom = dump_dom(_write(grouped_run(), out))
    assert dom.count('<article class="violation"') == 3
    assert dom.count('<p class="seen">') == 2
    assert dom.count('<li class="path">') == len(REFUND_EXAMPLES) + 1
    assert PIN[0] in dom and PIN[1] in dom


def test_page_opens_offline_in_chromium_with_the_state_graph(
    shop_report: RunReport, out: Path, needs_chromium: None
) -> None:
    page = _write(shop_report, out)
    dom = dump_dom(page)
    exploration = shop_report.exploration
    assert exploration is not None

    svg = re.search(r"<svg[^>]*class=\"graph\".*?</svg>", dom, re.S)
    assert svg is not None, "no state graph in the rendered page"
    assert len(STATE_CIRCLE.findall(svg.group(0))) == exploration.states
    assert len(re.findall(r'class="edge onpath"', svg.group(0))) >= 4
    assert dom.count('<article class="violation"') == len(shop_report.violations)
    for violation in shop_report.violations:
        assert violation.invariant in dom
    assert "FAILED: 4 violations found" in dom

    png = screenshot(page, out / "report.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_everything_from_the_run_is_escaped_and_redacted(out: Path) -> None:
    record = RequestRecord(
        method="POST",
        url="http://127.0.0.1:9/login?api_key=KEY-123&next=</script>",
        request_body={"user": "ann", "password": "hunter2", "note": "</pre><script>alert(1)"},
        response_status=500,
        response_body='{"token": "tok-999", "html": "<img src=x onerror=alert(2)>"}',
        request_headers={"Authorization": "Bearer abc.def", "X-Trace": "<b>"},
    )
    violation = Violation(
        invariant="<script>alert('inv')</script>",
        severity=Severity.LOW,
        path=["log<in>"],
        steps=[StepRecord(action="log<in>", requests=[record], error="boom password=hunter2")],
        message="<i>bad</i> & worse",
        kind="server_error",
        state="s1",
        occurrences=2,
        examples=[["log<in>", "<script>alert('ex')</script>"]],
    )
    exploration = ExplorationResult(
        states=2,
        transitions=1,
        violations=[violation],
        actions={"log<in>": 1},
        initial_state="s0",
        state_edges=[],
        volatile=[
            VolatileFieldInfo("stores.db.ignore", "users.<b>", "a salted hash: password=hunter2"),
        ],
    )
    page = _write(RunReport(exploration=exploration), out).read_text(encoding="utf-8")

    assert page.count("<script>") == 1  # only the page's own
    assert "log&lt;in&gt; -&gt; &lt;script&gt;alert(&#x27;ex&#x27;)&lt;/script&gt;" in page
    assert "stores.db.ignore: [users.&lt;b&gt;]" in page
    assert "<img src=x" not in page and "<i>bad</i>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;inv&#x27;)&lt;/script&gt;" in page
    for secret in ("hunter2", "KEY-123", "tok-999", "abc.def"):
        assert secret not in page, secret
    assert "Authorization: Bearer ***REDACTED***" in page
    assert '<span class="tag status server">500</span>' in page


def test_empty_runs_render(out: Path, needs_chromium: None) -> None:
    nothing = _write(RunReport(), out, "nothing.html").read_text(encoding="utf-8")
    assert "OK: no violations found." in nothing and "explored nothing" in nothing

    clean = RunReport(
        exploration=ExplorationResult(
            states=1, transitions=0, actions={"ping": 0}, never_enabled=["ping"], initial_state="s0"
        ),
        target="http://127.0.0.1:9",
    )
    page = _write(clean, out, "clean.html")
    dom = dump_dom(page)
    assert "No violations found" in dom and "never enabled" in dom
    assert len(STATE_CIRCLE.findall(dom)) == 1


def test_journey_only_run(out: Path) -> None:
    journey = JourneyResult(
        name="signup",
        steps=[
            StepResult("register", True, [RequestRecord("POST", "http://h/users", None, 201)]),
            StepResult("login", False, error="HTTP 503", attempts=3),
        ],
    )
    page = _write(RunReport(journeys=[journey]), out).read_text(encoding="utf-8")
    assert "FAILED: 1 journey failed." in page
    assert 'data-journey="signup"' in page and "HTTP 503" in page
    assert 'id="graph"' not in page


@pytest.mark.slow
def test_a_thousand_states_are_all_drawn_in_a_compact_picture(
    out: Path, needs_chromium: None
) -> None:
    run = synthetic_exploration(1000, fan_out=4, violations=3)
    page = _write(run, out, "big.html")
    text = page.read_text(encoding="utf-8")
    svg = re.search(r"<svg[^>]*>", text)
    assert svg is not None and 'data-summarised="false"' in svg.group(0)
    width = float(re.search(r'width="(\d+)"', svg.group(0)).group(1))  # type: ignore[union-attr]
    height = float(re.search(r'height="(\d+)"', svg.group(0)).group(1))  # type: ignore[union-attr]
    assert width < 4000 and height < 1000, (width, height)
    assert len(STATE_CIRCLE.findall(text)) == 1000
    assert len(re.findall(r'<circle class="[^"]*violating', text)) == 3
    assert page.stat().st_size < 1_500_000

    dom = dump_dom(page)
    assert len(STATE_CIRCLE.findall(dom)) == 1000
    screenshot(page, out / "big.png", size="1400,1600")


@pytest.mark.slow
def test_beyond_the_limit_the_graph_is_summarised_by_depth_layer(
    out: Path, needs_chromium: None
) -> None:
    run = synthetic_exploration(20_000, fan_out=5, violations=2)
    page = _write(run, out, "huge.html")
    text = page.read_text(encoding="utf-8")
    assert 'data-summarised="true"' in text
    layers = [
        int(n) for n in re.findall(r'<g class="layer" data-depth="\d+" data-states="(\d+)"', text)
    ]
    assert sum(layers) == 20_000 and len(layers) == 8
    assert "More than 1,000 states" in text
    assert len(STATE_CIRCLE.findall(text)) < 20  # only the states on the two violation paths
    assert page.stat().st_size < 300_000

    dom = dump_dom(page)
    assert len(re.findall(r'<g class="layer"', dom)) == 8
    assert dom.count('<article class="violation"') == 2
