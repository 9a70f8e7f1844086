"""Every report format redacts with the run's secrets, not only with names.

A live Client's credentials (its auth) are masked in texts no record went through: a violation's
message, a step's error, a journey step's error. A value a record carries under a credential's
name (a ``password`` field) is masked where an API echoed it under another name. A learned value
whose field or context key names a credential is listed without the value its reason quotes; a
nondeterminism finding names what differed without a credential's values; JWTs are masked
wherever they appear; a password in the target URL is hidden. What is no secret (a clock reading,
a counter that differed) is still shown. The end-to-end check, a real ``venomqa run`` with every
format at once, is ``tests/core/test_secrets_in_reports.py``.
"""

from __future__ import annotations

import gc
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from venomqa import Severity
from venomqa.client import Client
from venomqa.client.auth import BearerAuth
from venomqa.models import (
    ExplorationResult,
    FindingKind,
    JourneyResult,
    RequestRecord,
    RunReport,
    StepRecord,
    StepResult,
    Violation,
    VolatileFieldInfo,
)
from venomqa.reporters.console import ConsoleReporter
from venomqa.reporters.json_report import JsonReporter
from venomqa_reporters import HtmlReporter, JunitReporter, MarkdownReporter

REDACTED = "***REDACTED***"
#: The live client's bearer token: known only because that client registered it.
TOKEN = "tok_L1ve+Cl13nt/=S3cret"
#: Sent as a ``password`` field; the API echoes it under neutral names.
ECHOED = "pw_Ech0ed+by/the=API"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLWxpdmU"
TARGET_PASSWORD = "tgt_Pa55w0rd"
#: The two session tokens a nondeterminism finding says differed.
OPAQUE = ("opaque-session-AAAA1111", "opaque-session-BBBB2222")
SECRETS = {
    "live client's token": TOKEN,
    "echoed password": ECHOED,
    "JWT": JWT,
    "JWT signature": JWT.rsplit(".", 1)[1],
    "target password": TARGET_PASSWORD,
    "first session": OPAQUE[0],
    "second session": OPAQUE[1],
}
TARGET = f"http://admin:{TARGET_PASSWORD}@127.0.0.1:9"


def _run() -> RunReport:
    login = RequestRecord(
        "POST", f"{TARGET}/login", {"password": ECHOED}, 200, {"token": REDACTED}, 1.0
    )
    echo = RequestRecord(
        "GET", f"{TARGET}/echo", None, 500, {"said": f"you sent {ECHOED}", "raw": ECHOED}, 1.0
    )
    echoed = Violation(
        invariant="no_echo",
        severity=Severity.HIGH,
        path=["login", "echo"],
        steps=[StepRecord("login", [login]), StepRecord("echo", [echo], error=f"Bearer {TOKEN}")],
        message=f"the API answered {TOKEN} and {JWT}",
    )
    differed = Violation(
        invariant="nondeterminism",
        severity=Severity.MEDIUM,
        path=["login"],
        steps=[StepRecord("login", [login])],
        message=(
            "the path ['login'] reached different states on two runs: "
            f"context: session_token is {OPAQUE[0]} in one run and {OPAQUE[1]} in the other; "
            "context: ticket is 1 in one run and 2 in the other"
        ),
        kind=FindingKind.NONDETERMINISM,
    )
    exploration = ExplorationResult(
        states=3,
        transitions=2,
        violations=[echoed, differed],
        actions={"login": 1, "echo": 1},
        invariants=["no_echo"],
        target=TARGET,
        volatile=[
            VolatileFieldInfo(
                "context.ignore", "session_token", f"a token with a timestamp or id: '{JWT[:37]}..."
            ),
            VolatileFieldInfo(
                "stores.db.ignore",
                "users.password_hash",
                "a salted hash: 'pbkdf2:sha256:1000$5a1t$...",
            ),
            VolatileFieldInfo(
                "stores.db.ignore", "posts.created_at", "a clock reading: '2026-12-02'"
            ),
        ],
    )
    journey = JourneyResult(
        "returning_user",
        steps=[StepResult("refused", False, [echo], error=f"refused {TOKEN} / {ECHOED}")],
    )
    return RunReport(exploration=exploration, journeys=[journey], target=TARGET)


@pytest.fixture
def live_client() -> Iterator[Client]:
    """A client whose auth registered TOKEN, alive while the reports are rendered."""
    with Client("http://127.0.0.1:9", auth=BearerAuth(TOKEN)) as client:
        yield client


def _render(fmt: str, run: RunReport) -> str:
    if fmt == "console":
        return ConsoleReporter(color=False).render(run)
    if fmt == "json":
        return JsonReporter().render(run)
    reporter = {"html": HtmlReporter, "junit": JunitReporter, "markdown": MarkdownReporter}[fmt]
    rendered: str = reporter(None).render(run)
    return rendered


def _readable(fmt: str, text: str) -> str:
    """``text`` as written plus as its reader sees it (escapes and entities undone)."""
    if fmt == "json":
        return text + "\n" + "\n".join(_strings(json.loads(text)))
    if fmt == "html":
        return text + "\n" + html.unescape(text)
    if fmt == "junit":
        root = ET.fromstring(text.split("\n", 1)[1])
        pieces = [p for e in root.iter() for p in (e.text, *e.attrib.values()) if p]
        return text + "\n" + "\n".join(pieces)
    if fmt == "markdown":
        return text + "\n" + re.sub(r"\\(.)", r"\1", text)
    return text


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _leaks(text: str) -> list[str]:
    found = []
    for label, secret in SECRETS.items():
        for form in {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}:
            if form in text:
                found.append(f"{label}: {form}")
    return found


FORMATS = ["console", "json", "html", "junit", "markdown"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_of_the_run_appears(fmt: str, live_client: Client) -> None:
    text = _readable(fmt, _render(fmt, _run()))

    assert _leaks(text) == []
    # Where the secrets were, the report says so; what is no secret is still there.
    assert f"you sent {REDACTED}" in text
    assert f"the API answered {REDACTED} and {REDACTED}" in text
    assert f"session_token is {REDACTED} in one run and {REDACTED} in the other" in text
    assert "ticket is 1 in one run and 2 in the other" in text
    assert f"a token with a timestamp or id: {REDACTED}" in text
    assert f"a salted hash: {REDACTED}" in text
    assert "a clock reading: '2026-12-02'" in text
    assert f"admin:{REDACTED}@127.0.0.1:9" in text
    assert "eyJ" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_is_masked_only_while_a_client_knows_it(fmt: str) -> None:
    """Without a live client that registered it, an unnamed token in a message is just text:
    what masks it in the test above is the client's SecretsManager, not a name."""
    gc.collect()  # the clients of earlier tests, and their SecretsManagers, are gone
    text = _readable(fmt, _render(fmt, _run()))

    assert TOKEN in text
    assert ECHOED not in text  # still learned from the run's own password field
