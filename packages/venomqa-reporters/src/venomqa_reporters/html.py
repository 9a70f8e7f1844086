"""HtmlReporter: one self-contained HTML page (inline CSS, script and SVG; no network).

It shows the run's totals, per-action coverage, each invariant's outcome, the volatile values
learned while exploring (with the ``venomqa.yaml`` lines that pin them), every violation and
finding with the number of states that showed it, its shortest path as a timeline of requests and
responses (bodies folded in ``<details>`` but the last response, the evidence; redacted; what each
step changed; where the user's code raised) and a few other paths to it, a picture of the
explored state graph with violating states and paths marked, and each journey with its steps and
branch paths. Everything taken from the run is HTML-escaped.

    venomqa run --report html:reports/venomqa.html
"""

from __future__ import annotations

import datetime as _dt
import os
from html import escape
from typing import Any

from venomqa.models import (
    ExplorationResult,
    JourneyResult,
    RequestRecord,
    RunReport,
    StepRecord,
    StepResult,
    Violation,
    user_frame,
)

from venomqa_reporters._graph import DEFAULT_LIMIT, GraphView, build_graph
from venomqa_reporters._html_assets import CSS, SCRIPT
from venomqa_reporters._output import output_path, write_report
from venomqa_reporters._redact import Redactor
from venomqa_reporters._summary import (
    FINDING_KINDS,
    FIRED,
    LEARNED_HINT,
    NEVER_ENABLED,
    checked_kinds,
    coverage,
    example_texts,
    findings_of_kind,
    invariant_outcomes,
    path_text,
    restarts_text,
    seen_text,
    states_count,
    status_class,
    total_duration,
    verdict,
)
from venomqa_reporters._svg import render_svg


class HtmlReporter:
    """Writes the run as one offline HTML page to ``path`` (stdout without one).

    Options: ``title`` (the page's heading) and ``graph_limit`` (above this many states the state
    graph is drawn as depth layers with counts; default 1000).
    """

    name = "html"
    #: A report given without a path is written to ``venomqa-report.html``.
    file_extension = "html"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        title: str = "VenomQA report",
        graph_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.path = output_path(path)
        self.title = title
        self.graph_limit = graph_limit
        self.redactor = Redactor()

    def report(self, run: RunReport) -> None:
        write_report(self.path, self.render(run), fmt=self.name)

    def render(self, run: RunReport) -> str:
        """The whole page."""
        self.redactor = Redactor.for_run(run)
        numbered = list(enumerate(run.violations, 1))
        exploration = run.exploration
        exploration_violations = numbered[: len(exploration.violations)] if exploration else []
        journey_violations = numbered[len(exploration_violations) :]
        body = [_summary(run)]
        if exploration is not None:
            body.append(_coverage(exploration))
            body.append(_invariants(exploration))
            body.append(_learned(exploration, self.redactor))
        body.append(self._violations(exploration_violations, journey_violations))
        if exploration is not None:
            body.append(self._graph(exploration, exploration_violations))
        if run.journeys:
            body.append(self._journeys(run.journeys, journey_violations))
        if exploration is None and not run.journeys:
            body.append(
                '<section id="empty"><p class="muted">This run explored nothing and ran no '
                "journeys: no actions or journeys were found.</p></section>"
            )
        return _page(self.title, run, "".join(body), self.redactor)

    # -- violations ------------------------------------------------------------------------

    def _violations(
        self,
        exploration: list[tuple[int, Violation]],
        journeys: list[tuple[int, Violation]],
    ) -> str:
        found = exploration + journeys
        if not found:
            return (
                '<section id="violations"><h2>Violations</h2>'
                '<p class="none-found">No violations found: every invariant held in every '
                "state reached.</p></section>"
            )
        parts = [f'<section id="violations"><h2>Violations ({len(found)})</h2>']
        parts += [self._violation(number, v, graph=True) for number, v in exploration]
        parts += [self._violation(number, v, graph=False) for number, v in journeys]
        parts.append("</section>")
        return "".join(parts)

    def _violation(self, number: int, violation: Violation, *, graph: bool) -> str:
        severity = violation.severity.value
        kind = (
            ""
            if violation.kind == "invariant"
            else f' <span class="tag">{escape(violation.kind)}</span>'
        )
        show = (
            f' <button class="show" type="button" data-v="{number}">show in graph</button>'
            if graph
            else ""
        )
        message = self.redactor.text(violation.message)
        parts = [
            f'<article class="violation" id="violation-{number}" '
            f'data-invariant="{escape(violation.invariant)}" data-kind="{escape(violation.kind)}" '
            f'data-occurrences="{violation.occurrences}">',
            f'<h3>#{number} <span class="tag {severity}">{escape(severity.upper())}</span> '
            f'<code class="invariant">{escape(violation.invariant)}</code>{kind}{show}</h3>',
        ]
        if message:
            parts.append(f'<div class="message">{escape(message)}</div>')
        parts.append(self._frames(violation))
        seen = seen_text(violation)
        if seen:
            parts.append(f'<p class="seen">{escape(seen)}</p>')
        parts.append(f'<p class="path">path: {escape(path_text(violation))}</p>')
        if violation.state:
            parts.append(f'<p class="muted">state <code>{escape(violation.state)}</code></p>')
        steps = violation.steps or [StepRecord(action=name) for name in violation.path]
        if steps:
            parts.append('<ol class="timeline">')
            for index, step in enumerate(steps, 1):
                final = index == len(steps)
                last = " last" if final else ""
                body = self._step(step, evidence=final)
                parts.append(f'<li class="step{last}" data-n="{index}">{body}</li>')
            parts.append("</ol>")
        else:
            parts.append('<p class="muted">Violated in the initial state, before any call.</p>')
        examples = example_texts(violation)
        if examples:
            items = "".join(f'<li class="path">{escape(text)}</li>' for text in examples)
            parts.append(f'<div class="examples">Also seen after:<ul>{items}</ul></div>')
        parts.append("</article>")
        return "".join(parts)

    def _frames(self, violation: Violation) -> str:
        """Where the user's code raised: the last frames, innermost last, the user's marked."""
        if not violation.frames:
            return ""
        mine = user_frame(violation.frames)
        items = []
        for frame in violation.frames:
            user = " user" if frame is mine else ""
            source = self.redactor.text(frame.source)
            items.append(
                f'<li class="frame{user}"><code>{escape(self.redactor.text(frame.where()))}</code>'
                + (f"<pre>{escape(source)}</pre>" if source else "")
                + "</li>"
            )
        return (
            '<div class="frames"><div class="muted">raised at (innermost last):</div>'
            f"<ol>{''.join(items)}</ol></div>"
        )

    def _step(self, step: StepRecord, *, evidence: bool = False) -> str:
        """One step of a path; ``evidence``: the violation's last step, its last response shown
        unfolded."""
        parts = [f'<div class="action"><strong>{escape(step.action)}</strong></div>']
        if not step.requests:
            parts.append('<div class="muted">(no request recorded)</div>')
        count = len(step.requests)
        parts += [
            self._request(record, evidence=evidence and i == count - 1)
            for i, record in enumerate(step.requests)
        ]
        if step.error:
            parts.append(f'<div class="error">{escape(self.redactor.text(step.error))}</div>')
        if step.changed:
            changed = self.redactor.text(", ".join(step.changed))
            parts.append(f'<div class="changed">changed: {escape(changed)}</div>')
        return "".join(parts)

    def _request(self, record: RequestRecord, *, evidence: bool = False) -> str:
        redact = self.redactor
        status = record.response_status
        shown = str(status) if status is not None else "no response"
        parts = [
            f'<div class="call"><span class="method">{escape(record.method)}</span> '
            f"{escape(redact.url(record.url))} → "
            f'<span class="tag status {status_class(status)}">{escape(shown)}</span> '
            f'<span class="muted">{record.duration_ms:.1f} ms</span></div>'
        ]
        if record.error:
            parts.append(f'<div class="error">{escape(redact.text(record.error))}</div>')
        parts.append(_folded("request body", redact.body(record.request_body)))
        parts.append(_folded("response body", redact.body(record.response_body), unfold=evidence))
        headers = _headers_text(redact.headers(record.request_headers)) + (
            "\n\n" + _headers_text(redact.headers(record.response_headers))
            if record.response_headers
            else ""
        )
        parts.append(_folded("headers", headers.strip()))
        return "".join(parts)

    # -- graph -----------------------------------------------------------------------------

    def _graph(self, result: ExplorationResult, numbered: list[tuple[int, Violation]]) -> str:
        view = build_graph(result, numbered, limit=self.graph_limit)
        if view is None:
            return (
                '<section id="graph"><h2>State graph</h2>'
                '<p class="muted">No states were recorded.</p></section>'
            )
        for node in view.nodes.values():  # labels are report content: redacted like the rest
            node.changed = tuple(self.redactor.text(entry) for entry in node.changed)
        return (
            '<section id="graph"><h2>State graph</h2>'
            f'<p class="graph-caption">{escape(_graph_caption(view, self.graph_limit))}</p>'
            '<p class="legend"><span><i class="initial"></i>initial state</span>'
            '<span><i></i>state</span><span><i class="violating"></i>violating state</span>'
            '<span><i class="onpath"></i>on a violation\'s path</span>'
            ' <button class="show" type="button" data-v="">show all paths</button></p>'
            f'<div class="graph-wrap">{render_svg(view)}</div></section>'
        )

    # -- journeys --------------------------------------------------------------------------

    def _journeys(
        self, journeys: list[JourneyResult], numbered: list[tuple[int, Violation]]
    ) -> str:
        parts = [f'<section id="journeys"><h2>Journeys ({len(journeys)})</h2>']
        start = 0
        for journey in journeys:
            mine = numbered[start : start + len(journey.violations)]
            start += len(journey.violations)
            parts.append(self._journey(journey, mine))
        parts.append("</section>")
        return "".join(parts)

    def _journey(self, journey: JourneyResult, numbered: list[tuple[int, Violation]]) -> str:
        state = "passed" if journey.passed else "failed"
        tag = "pass" if journey.passed else "fail"
        parts = [
            f'<article class="journey {state}" data-journey="{escape(journey.name)}">',
            f'<h3><span class="tag {tag}">{tag.upper()}</span> journey '
            f"<code>{escape(journey.name)}</code> "
            f'<span class="muted">{journey.duration_s:.2f} s</span></h3>',
            self._step_table(journey.steps),
        ]
        for path in journey.paths:
            mark = "pass" if path.passed else "fail"
            parts.append(
                f'<div class="journey-path" data-path="{escape(path.name)}">'
                f'<h4><span class="tag {mark}">{mark.upper()}</span> path '
                f"<code>{escape(path.name)}</code> "
                f'<span class="muted">from checkpoint {escape(path.checkpoint)}</span></h4>'
                f"{self._step_table(path.steps)}</div>"
            )
        if numbered:
            links = ", ".join(
                f'<a href="#violation-{n}">#{n} {escape(v.invariant)}</a>' for n, v in numbered
            )
            parts.append(f"<p>Invariants violated: {links}</p>")
        parts.append("</article>")
        return "".join(parts)

    def _step_table(self, steps: list[StepResult]) -> str:
        if not steps:
            return '<p class="muted">(no steps)</p>'
        rows = []
        for step in steps:
            mark = "pass" if step.passed else "fail"
            calls = "".join(self._request(record) for record in step.requests)
            error = (
                f'<div class="error">{escape(self.redactor.text(step.error))}</div>'
                if step.error
                else ""
            )
            expect = ' <span class="muted">(expected to fail)</span>' if step.expect_failure else ""
            rows.append(
                f'<tr class="journey-step {mark}"><td><span class="tag {mark}">{mark.upper()}'
                f"</span></td><td><code>{escape(step.name)}</code>{expect}</td>"
                f'<td>{calls}{error}</td><td class="num">{step.attempts}</td>'
                f'<td class="num">{step.duration_ms:.1f}</td></tr>'
            )
        return (
            "<table><tr><th></th><th>step</th><th>calls</th><th>attempts</th><th>ms</th></tr>"
            + "".join(rows)
            + "</table>"
        )


# -- page pieces that need no reporter state ------------------------------------------------


def _page(title: str, run: RunReport, body: str, redactor: Redactor) -> str:
    ok = run.ok and run.complete
    target = redactor.url(run.target or (run.exploration.target if run.exploration else "") or "")
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>"
        f'<div class="target">{escape(target)}</div>'
        f'<div class="verdict {"ok" if ok else "failed"}" id="verdict">'
        f"{escape(verdict(run, redactor.text))}</div></header>"
        f"<main>{body}</main>"
        f"<footer>Generated by venomqa-reporters on {generated}.</footer>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def _summary(run: RunReport) -> str:
    exploration = run.exploration
    cards: list[tuple[str, Any]] = []
    if exploration is not None:
        cards += [
            ("states", f"{exploration.states:,}"),
            ("transitions", f"{exploration.transitions:,}"),
        ]
        if exploration.calls:
            cards.append(("calls", f"{exploration.calls:,}"))
        cards.append(("max depth", exploration.max_depth_reached))
    cards += [
        ("violations", len(run.violations)),
        ("journeys", len(run.journeys)),
        ("duration", f"{total_duration(run):.2f} s"),
    ]
    html_cards = "".join(
        f'<div class="card" data-card="{escape(label)}"><div class="value">{escape(str(value))}'
        f'</div><div class="label">{escape(label)}</div></div>'
        for label, value in cards
    )
    detail = ""
    if exploration is not None:
        restarted = restarts_text(exploration)
        detail = (
            f'<p class="muted">Strategy {escape(exploration.strategy)}, stopped because: '
            f"{escape(exploration.stop_reason)}"
            + (f'; <span class="restarts">{escape(restarted)}</span>' if restarted else "")
            + ".</p>"
        )
    return (
        f'<section id="summary"><h2>Summary</h2><div class="cards">{html_cards}</div>'
        f"{detail}</section>"
    )


def _coverage(result: ExplorationResult) -> str:
    rows = coverage(result)
    if not rows:
        return (
            '<section id="coverage"><h2>Action coverage</h2>'
            '<p class="muted">No actions.</p></section>'
        )
    lines = []
    for row in rows:
        tag = "fired" if row.status == FIRED else "never" if row.status == NEVER_ENABLED else ""
        lines.append(
            f'<tr data-action="{escape(row.action)}"><td><code>{escape(row.action)}</code></td>'
            f'<td class="num">{row.fired}</td><td><span class="tag {tag}">{escape(row.status)}'
            "</span></td></tr>"
        )
    fired = sum(1 for row in rows if row.fired)
    return (
        f'<section id="coverage"><h2>Action coverage ({fired}/{len(rows)} fired)</h2>'
        "<table><tr><th>action</th><th>times fired</th><th>status</th></tr>"
        + "".join(lines)
        + "</table></section>"
    )


def _invariants(result: ExplorationResult) -> str:
    outcomes = invariant_outcomes(result.invariants, result.violations)
    rows = []
    for outcome in outcomes:
        mark = "pass" if outcome.passed else "fail"
        found = len(outcome.violations)
        rows.append(
            f'<tr data-invariant="{escape(outcome.name)}"><td><code>{escape(outcome.name)}</code>'
            f'</td><td><span class="tag {mark}">{"held" if outcome.passed else "violated"}'
            f'</span></td><td class="num">{found}</td>'
            f'<td class="num">{states_count(outcome.violations)}</td></tr>'
        )
    for kind in checked_kinds(result.violations):
        meaning = FINDING_KINDS[kind]
        findings = findings_of_kind(result.violations, kind)
        found = len(findings)
        mark = "pass" if not found else "fail"
        rows.append(
            f'<tr data-finding="{escape(kind)}"><td>{escape(kind)}: <span class="muted">'
            f'{escape(meaning)}</span></td><td><span class="tag {mark}">'
            f'{"held" if not found else "found"}</span></td><td class="num">{found}</td>'
            f'<td class="num">{states_count(findings)}</td></tr>'
        )
    return (
        '<section id="invariants"><h2>Invariants and checks</h2>'
        "<table><tr><th>check</th><th>outcome</th><th>violations</th><th>states</th></tr>"
        + "".join(rows)
        + "</table></section>"
    )


def _learned(result: ExplorationResult, redactor: Redactor) -> str:
    learned = result.learned
    if not learned:
        return ""
    rows = "".join(
        f'<tr data-learned="{escape(info.spec)}"><td><code>{escape(info.spec)}</code></td>'
        f"<td><code>{escape(info.where)}</code></td><td>{escape(redactor.reason(info))}</td></tr>"
        for info in learned
    )
    pin = "\n".join(result.learned_pin_lines())
    return (
        f'<section id="learned"><h2>Learned volatile values ({len(learned)})</h2>'
        "<p>These values differ between runs of the same calls, so they were left out of the "
        f"state; {escape(LEARNED_HINT)}:</p>"
        "<table><tr><th>value</th><th>setting</th><th>why</th></tr>"
        f'{rows}</table><pre class="pin">{escape(pin)}</pre></section>'
    )


def _graph_caption(view: GraphView, limit: int) -> str:
    text = (
        f"{view.states:,} states and {view.transitions:,} transitions in "
        f"{len(view.layers)} depth layers from the initial state."
    )
    if view.summarised:
        text += (
            f" More than {limit:,} states: each depth layer is drawn as one box with its count; "
            "only the states on violation paths are drawn."
        )
    elif view.paths:
        text += " Violating states are red; violation paths are orange."
    return text


def _folded(label: str, text: str, *, unfold: bool = False) -> str:
    if not text:
        return ""
    tag = '<details open class="evidence">' if unfold else "<details>"
    return f"{tag}<summary>{escape(label)}</summary><pre>{escape(text)}</pre></details>"


def _headers_text(headers: dict[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items())
