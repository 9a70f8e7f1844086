"""Done when: ``venomqa run`` against a real API process, with every report format requested at
once (console on stdout and in a file, JSON, and HTML, JUnit and Markdown when venomqa-reporters
is installed), leaves none of the run's secrets in any output, in any form it could take.

The secrets: a bearer token, an API key and HTTP Basic credentials configured in ``auth:``, a
header value configured through ``${VAR}``, a password sent in JSON request bodies, a key sent in a
query string, the session tokens (JWTs) the API hands out at sign-in and the actions keep in the
context (so the explorer learns ``session_token`` as a volatile value, with a reason), and the
password in a store's DSN. The API echoes every credential it was sent in plain fields of a 500
answer (a server-error finding), an invariant quotes that answer in its message, an action raises
with the raw request headers in its error, and a journey step fails quoting a token: each report
shows all of these, so each is scanned.

Each output is scanned as written and as a reader sees it (JSON strings decoded, HTML entities
and Markdown escapes undone, XML parsed) for each secret as is, percent-encoded, JSON-escaped, as
Python's repr shows it, HTML-escaped and base64-encoded, and for any 8-character piece of one
(what a partial mask would leave); for tokens, also their payload and signature alone.
``test_the_scan_finds_every_form_in_every_format`` proves the scan finds each of those forms, and
each run's test finds every secret, with the same scan, in what the API received (or in the
configuration file), so a leak cannot go unnoticed.
"""

from __future__ import annotations

import base64
import gc
import html
import importlib.util
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from services import require_module
from venomqa.client.redaction import SensitiveDataFilter
from venomqa.client.secrets import SecretsManager, secrets_in_use
from venomqa.testing.server import start_api_process

REDACTED = "***REDACTED***"

# Each secret holds characters that change when percent-encoded, JSON-escaped, HTML-escaped,
# escaped in Markdown or shown by repr().
BEARER = "brr_T0k3n+/=&7Qx*9Zp~L2"
API_KEY = "akey_9f8e!7d6c+5b4a/3210#x"
BASIC_USER = "vault-admin"
BASIC_PASSWORD = "b4sic_Pa55:w/rd=x&y'z<>"
BASIC_CREDENTIALS = f"{BASIC_USER}:{BASIC_PASSWORD}"
BASIC_ENCODED = base64.b64encode(BASIC_CREDENTIALS.encode()).decode()
#: Configured as ``X-Tenant-Secret: ${VQA_TENANT_SECRET}`` in ``headers:``.
HEADER_SECRET = "hdr_V4r\\S3cr3t+/=abc"
#: Configured as ``X-Tenant: ${VQA_TENANT}``: a header whose name gives nothing away.
NEUTRAL_HEADER_SECRET = "tnt_9Qz+Vw3/Lk7"
#: Sent as ``{"password": ...}`` in request bodies.
BODY_PASSWORD = "b0dy_Pa55'w0rd\"+/=<q>\\é"
#: Sent as ``?access_token=...`` and ``?api_key=...``.
QUERY_SECRET = "qry_S3cret+/=&zz9 é~*"
DSN_PASSWORD = "dsn_Pa55+w/rd=x"

AUTH = {
    "bearer": {"type": "bearer", "token": BEARER},
    "api_key": {"type": "api_key", "key": API_KEY},
    "basic": {"type": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD},
}
#: The secrets each kind of ``auth:`` puts on the wire.
AUTH_SECRETS = {
    "bearer": {"bearer token": BEARER},
    "api_key": {"API key": API_KEY},
    "basic": {
        "basic password": BASIC_PASSWORD,
        "basic user:password": BASIC_CREDENTIALS,
        "basic header value": BASIC_ENCODED,
    },
}
ALWAYS = {
    "${VAR} header value": HEADER_SECRET,
    "${VAR} in a neutrally named header": NEUTRAL_HEADER_SECRET,
    "password in a JSON body": BODY_PASSWORD,
    "query-string secret": QUERY_SECRET,
}

REPORTERS_INSTALLED = importlib.util.find_spec("venomqa_reporters") is not None
#: FORMAT -> file, every format requested at once (plus the console on stdout).
REPORTS = {
    "console": "console.txt",
    "json": "report.json",
    **(
        {"html": "report.html", "junit": "junit.xml", "markdown": "report.md"}
        if REPORTERS_INSTALLED
        else {}
    ),
}

VAULT_API = '''
"""The vault API: sign-up, sign-in (JWTs), a search, and an endpoint echoing every credential
it was sent (with a 500). Every request is logged to --received, every token to --issued."""

import base64
import hashlib
import json
import secrets
import sqlite3
import time

from venomqa.testing.server import JsonApi

api = JsonApi("vault")
api.argument("--db", required=True)
api.argument("--received", required=True)
api.argument("--issued", required=True)
CREDENTIAL_HEADERS = (
    "authorization", "x-api-key", "x-tenant-secret", "x-tenant", "x-session-token"
)


@api.setup
def setup(options):
    return options


def log(request):
    seen = {k: v for k, v in request.headers.items() if k in CREDENTIAL_HEADERS}
    entry = {"path": request.path, "headers": seen, "query": request.query, "body": request.body}
    with open(request.state.received, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\\n")
    return seen


def part(data):
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@api.route("GET", r"/")
def root(request):
    return 200, {"ok": True}


@api.route("POST", r"/users")
def sign_up(request):
    log(request)
    salt = secrets.token_hex(4)
    digest = hashlib.sha256((salt + request.body["password"]).encode()).hexdigest()
    with sqlite3.connect(request.state.db) as conn:
        cursor = conn.execute(
            "INSERT INTO users (name, password_hash) VALUES (?, ?)",
            (request.body["name"], f"{salt}${digest}"),
        )
    return 201, {"id": cursor.lastrowid, "name": request.body["name"]}


@api.route("POST", r"/login")
def sign_in(request):
    log(request)
    claims = {"sub": request.body["name"], "iat": int(time.time()), "jti": secrets.token_hex(6)}
    token = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(32)}"
    with open(request.state.issued, "a", encoding="utf-8") as out:
        out.write(token + "\\n")
    with sqlite3.connect(request.state.db) as conn:
        conn.execute("INSERT INTO sessions (user_name) VALUES (?)", (request.body["name"],))
    return 200, {"token": token, "user": request.body["name"]}


@api.route("GET", r"/search")
def search(request):
    log(request)
    return 200, {"results": [], "q": request.query.get("q")}


@api.route("POST", r"/echo")
def echo(request):
    seen = log(request)
    body = request.body if isinstance(request.body, dict) else {}
    values = [*seen.values(), *request.query.values(), *(str(v) for v in body.values())]
    return 500, {
        "error": "echo: " + " ".join(values),
        "headers": seen,
        "values": values,
        "query": request.query,
        "body": body,
    }


if __name__ == "__main__":
    api.main()
'''

VAULT_ACTIONS = '''
"""Actions, an invariant and a journey on the vault API that carry every kind of secret."""

import os

from venomqa import Journey, Severity, Step, action, invariant

BODY_PASSWORD = os.environ["VQA_BODY_PASSWORD"]
QUERY_SECRET = os.environ["VQA_QUERY_SECRET"]


@action(requires=lambda ctx: "user_id" not in ctx)
def sign_up(api, ctx):
    response = api.post("/users", json={"name": "alice", "password": BODY_PASSWORD})
    ctx["user_id"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "user_id" in ctx and "session_token" not in ctx)
def sign_in(api, ctx):
    response = api.post("/login", json={"name": "alice", "password": BODY_PASSWORD})
    ctx["session_token"] = response.json()["token"]
    return response


@action(requires=lambda ctx: "session_token" in ctx and "searched" not in ctx)
def search(api, ctx):
    ctx["searched"] = True
    return api.get(
        "/search",
        params={"access_token": QUERY_SECRET, "q": "x"},
        headers={"X-Session-Token": ctx["session_token"]},
    )


@action(requires=lambda ctx: "searched" in ctx and "echo_text" not in ctx)
def echo(api, ctx):
    response = api.post(
        "/echo",
        params={"api_key": QUERY_SECRET},
        json={"password": BODY_PASSWORD, "token": ctx["session_token"]},
        headers={"X-Session-Token": ctx["session_token"]},
    )
    ctx["echo_text"] = response.text
    return response


@action(requires=lambda ctx: "echo_text" in ctx and "audited" not in ctx)
def audit(api, ctx):
    ctx["audited"] = True
    response = api.get("/search", params={"access_token": QUERY_SECRET, "q": "audit"})
    sent = dict(response.request.headers)
    raise RuntimeError(
        f"audit: sent {sent} to {response.request.url} with token {ctx['session_token']!r} "
        f"and {{'password': {BODY_PASSWORD!r}}}"
    )


@invariant(severity=Severity.HIGH)
def no_credentials_echoed(world):
    echoed = world.ctx.get("echo_text")
    assert echoed is None, f"the API echoed the credentials: {echoed}"


def bob_signs_up(api, ctx):
    return api.post("/users", json={"name": "bob", "password": BODY_PASSWORD})


def bob_signs_in(api, ctx):
    response = api.post("/login", json={"name": "bob", "password": BODY_PASSWORD})
    ctx["bob_token"] = response.json()["token"]
    return response


def bob_is_refused(api, ctx):
    response = api.get("/search", params={"access_token": QUERY_SECRET, "q": "bob"})
    raise AssertionError(
        f"refused {ctx['bob_token']} and password={BODY_PASSWORD} at {response.request.url}"
    )


returning_user = Journey(
    name="returning_user",
    steps=[
        Step("bob_signs_up", bob_signs_up),
        Step("bob_signs_in", bob_signs_in),
        Step("bob_is_refused", bob_is_refused),
    ],
)
'''

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, password_hash TEXT);
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, user_name TEXT);
"""


# -- running it ---------------------------------------------------------------------------------


@dataclass
class Run:
    """One ``venomqa run``: its exit code, every output, and what the API saw."""

    exit_code: int
    #: Output name (``stdout``, ``stderr``, a report file name) -> text as written.
    outputs: dict[str, str]
    #: Every request the API logged: path, credential headers, query, body.
    received: list[dict[str, object]] = field(default_factory=list)
    #: Every session token the API handed out.
    tokens: list[str] = field(default_factory=list)

    def report(self, fmt: str) -> str:
        return self.outputs[REPORTS[fmt]]

    def json(self) -> Any:
        return json.loads(self.report("json"))


def _yaml(value: object) -> str:
    """``value`` as YAML flow text (JSON is YAML; strings are double-quoted and escaped)."""
    return json.dumps(value, ensure_ascii=False)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "VQA_TENANT_SECRET": HEADER_SECRET,
        "VQA_TENANT": NEUTRAL_HEADER_SECRET,
        "VQA_BODY_PASSWORD": BODY_PASSWORD,
        "VQA_QUERY_SECRET": QUERY_SECRET,
        "PYTHONIOENCODING": "utf-8",
    }


def _vault(folder: Path) -> None:
    """Write the API, its actions and its database into ``folder``."""
    (folder / "vault_api.py").write_text(textwrap.dedent(VAULT_API), encoding="utf-8")
    (folder / "vault_actions.py").write_text(textwrap.dedent(VAULT_ACTIONS), encoding="utf-8")
    with closing(sqlite3.connect(folder / "vault.db")) as conn, conn:
        conn.executescript(SCHEMA)


def venomqa_run(
    folder: Path, *, auth: str, store: str | None = None, explore: str = "{max_depth: 6}"
) -> Run:
    """Serve the vault API, then ``venomqa run`` on it with every report format at once."""
    _vault(folder)
    command = [sys.executable, str(folder / "vault_api.py"), "--db", str(folder / "vault.db")]
    command += ["--received", str(folder / "received.jsonl"), "--issued", str(folder / "issued")]
    with start_api_process(command, what="vault API") as server:
        stores = store or "{db: {adapter: sqlite, path: vault.db}}"
        (folder / "venomqa.yaml").write_text(
            f"target: {server.url}\n"
            "actions: [vault_actions]\n"
            f"stores: {stores}\n"
            f"auth: {_yaml(AUTH[auth])}\n"
            "headers:\n"
            "  X-Tenant-Secret: ${VQA_TENANT_SECRET}\n"
            "  X-Tenant: ${VQA_TENANT}\n"
            f"explore: {explore}\n",
            encoding="utf-8",
        )
        args = [f"{fmt}:out/{name}" for fmt, name in REPORTS.items()]
        result = subprocess.run(
            [sys.executable, "-m", "venomqa", "run", *(f"--report={a}" for a in args)],
            cwd=folder,
            env=_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    for name in REPORTS.values():
        path = folder / "out" / name
        if path.exists():
            outputs[name] = path.read_text(encoding="utf-8")
    received_file, issued = folder / "received.jsonl", folder / "issued"
    received = [json.loads(line) for line in _lines(received_file)]
    return Run(result.returncode, outputs, received, _lines(issued))


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


# -- scanning -----------------------------------------------------------------------------------


def forms(secret: str) -> set[str]:
    """Every way ``secret`` can be written in an output."""
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        html.escape(secret),
        base64.b64encode(secret.encode()).decode(),
    }


#: A piece of a secret this long found in an output is a leak too (what a partial mask leaves).
FRAGMENT = 8
#: Secrets scanned whole only: Basic's user part is no secret (its password is scanned alone).
WHOLE_ONLY = {BASIC_CREDENTIALS}


def fragments(secret: str) -> set[str]:
    """Every ``FRAGMENT``-character piece of ``secret``, as is and as repr() shows it."""
    pieces = {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}
    return pieces | {repr(piece)[1:-1] for piece in pieces}


def token_secrets(tokens: list[str]) -> dict[str, str]:
    """Each session token, and its payload and signature alone (the header is no secret)."""
    found: dict[str, str] = {}
    for number, token in enumerate(tokens, 1):
        _, payload, signature = token.split(".")
        found[f"session token #{number}"] = token
        found[f"session token #{number} payload"] = payload
        found[f"session token #{number} signature"] = signature
    return found


def readable(name: str, text: str) -> Iterator[str]:
    """``text`` as written, then as a reader of its format sees it."""
    yield text
    if name.endswith(".json"):
        yield "\n".join(_strings(json.loads(text)))
    elif name.endswith(".html"):
        yield html.unescape(text)
    elif name.endswith(".xml"):
        root = ET.fromstring(text)
        yield "\n".join(
            piece
            for element in root.iter()
            for piece in (element.text, element.tail, *element.attrib.values())
            if piece
        )
    elif name.endswith(".md"):
        yield re.sub(r"\\(.)", r"\1", text)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def leaks(outputs: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """``secret name: form in output`` for every form of every secret, and every fragment of
    one (see ``WHOLE_ONLY``), found in an output."""
    found = []
    for where, text in outputs.items():
        views = list(readable(where, text))
        for label, secret in secrets.items():
            pieces = forms(secret) if secret in WHOLE_ONLY else forms(secret) | fragments(secret)
            for piece in sorted(pieces):
                if any(piece in view for view in views):
                    found.append(f"{label}: {piece!r} in {where}")
    return sorted(set(found))


def secrets_of(run: Run, auth: str) -> dict[str, str]:
    return {**AUTH_SECRETS[auth], **ALWAYS, **token_secrets(run.tokens)}


# -- the tests ----------------------------------------------------------------------------------


def test_the_scan_finds_every_form_in_every_format() -> None:
    """The scan fails a test for any form of a secret, written in any format's own escaping."""
    secret = BODY_PASSWORD
    for form in forms(secret):
        data = {"message": f"got {form} back", form: 1}
        cases = {
            "stdout": f"error: {form}",
            "report.json": json.dumps(data),
            "report.html": f"<p>{html.escape(f'got {form} back')}</p>",
            "report.md": "got " + re.sub(r"([\\`*_{}\[\]<>|#!~])", r"\\\1", form),
            "junit.xml": ET.tostring(ET.Element("failure", message=f"got {form}"), "unicode"),
        }
        for where, text in cases.items():
            assert leaks({where: text}, {"the secret": secret}), (where, form)
    assert not leaks({"stdout": f"got {REDACTED}"}, {"the secret": secret})
    partly = f"{{'password': '{REDACTED}{repr(secret)[9:-1]}'}}"  # masked up to a quote
    assert leaks({"stdout": partly}, {"the secret": secret})
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlMTIz"
    assert set(token_secrets([token]).values()) == {token, "eyJzdWIiOiJhIn0", "c2lnbmF0dXJlMTIz"}


@pytest.mark.parametrize("auth", ["bearer", "api_key", "basic"])
def test_no_secret_appears_in_any_report(tmp_path: Path, auth: str) -> None:
    run = venomqa_run(tmp_path, auth=auth)

    assert run.exit_code == 1, run.outputs["stderr"]
    assert set(run.outputs) == {"stdout", "stderr", *REPORTS.values()}
    _assert_the_api_got_every_secret(run, auth)
    assert leaks(run.outputs, secrets_of(run, auth)) == []
    # The same scan finds every secret in what the API received.
    received = {"received.jsonl": (tmp_path / "received.jsonl").read_text(encoding="utf-8")}
    found = {leak.split(": ")[0] for leak in leaks(received, secrets_of(run, auth))}
    assert {*AUTH_SECRETS[auth], *ALWAYS} - {"basic password"} <= found  # only encoded
    assert any(label.startswith("session token") for label in found)
    # The secrets were there to leak: every report shows the echo, the quoting invariant, the
    # raising action and the failed journey step, with redactions where the secrets were.
    data = run.json()
    found = {(v["invariant"], v["kind"]) for v in data["violations"]}
    assert {
        ("server_error", "server_error"),
        ("no_credentials_echoed", "invariant"),
        ("action_error", "action_error"),
    } <= found
    (journey,) = data["journeys"]
    assert journey["name"] == "returning_user" and not journey["passed"]
    for fmt in REPORTS:
        text = run.report(fmt)
        assert REDACTED in text.replace("\\*", "*"), fmt
        for name in ("no_credentials_echoed", "audit", "bob_is_refused", "session_token"):
            assert name in text.replace("\\_", "_"), (fmt, name)
    assert REDACTED in run.outputs["stdout"]


def _assert_the_api_got_every_secret(run: Run, auth: str) -> None:
    headers = [entry["headers"] for entry in run.received]
    sent = {value for seen in headers if isinstance(seen, dict) for value in seen.values()}
    expected = {
        "bearer": f"Bearer {BEARER}",
        "api_key": API_KEY,
        "basic": f"Basic {BASIC_ENCODED}",
    }[auth]
    assert expected in sent
    assert HEADER_SECRET in sent
    assert NEUTRAL_HEADER_SECRET in sent
    assert any(token in sent for token in run.tokens)  # a token handed out came back
    assert any(
        isinstance(e["body"], dict) and e["body"].get("password") == BODY_PASSWORD
        for e in run.received
    )
    assert any(
        isinstance(e["query"], dict) and QUERY_SECRET in e["query"].values() for e in run.received
    )


def test_the_learned_session_token_is_listed_without_its_value(tmp_path: Path) -> None:
    """The explorer learns ``session_token`` from the JWTs it holds; its reason names the kind
    of value but quotes none of it, in every format, next to the pin line."""
    run = venomqa_run(tmp_path, auth="bearer")

    assert leaks(run.outputs, secrets_of(run, "bearer")) == []
    exploration = run.json()["exploration"]
    learned = {v["spec"]: v for v in exploration["volatile"] if not v["declared"]}
    reason = "a token with a timestamp or id (JWT): " + REDACTED
    assert learned["session_token"] == {
        "where": "context.ignore",
        "spec": "session_token",
        "reason": reason,
        "declared": False,
    }
    (pin,) = [line for line in exploration["pin"] if line.startswith("context.ignore: [")]
    assert "session_token" in pin
    assert reason in run.outputs["stdout"]
    for fmt in REPORTS:
        readable_text = "\n".join(readable(REPORTS[fmt], run.report(fmt)))
        assert reason in readable_text, fmt
        assert "eyJ" not in readable_text, fmt  # not even the token's header
        assert pin in readable_text, fmt


def test_a_nondeterminism_finding_does_not_quote_the_tokens_that_differed(tmp_path: Path) -> None:
    """Without learning, the tokens in the context make replays reach other states: the
    finding names what differed (the token, the password hash) without the values."""
    run = venomqa_run(tmp_path, auth="bearer", explore="{max_depth: 6, learn: false}")

    assert run.exit_code == 1, run.outputs["stderr"]
    assert leaks(run.outputs, secrets_of(run, "bearer")) == []
    messages = [v["message"] for v in run.json()["violations"] if v["kind"] == "nondeterminism"]
    assert messages
    assert any(
        f"context: session_token is {REDACTED} in one run and {REDACTED} in the other" in m
        for m in messages
    ), messages
    assert all("eyJ" not in m for m in messages)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://vault:{password}@127.0.0.1:{port}/vault",
        "host=127.0.0.1 port={port} user=vault password={password} dbname=vault",
    ],
    ids=["url", "key-value"],
)
@pytest.mark.other_distributions
def test_a_store_dsn_password_stays_out_of_the_error(tmp_path: Path, dsn: str) -> None:
    """A PostgreSQL store on a closed port fails the run; the error names the store, the
    server and the user, never the password."""
    require_module("venomqa_postgres")  # the core-only environment deselects this test
    password = quote(DSN_PASSWORD, safe="") if dsn.startswith("postgresql:") else DSN_PASSWORD
    store = {
        "db": {"adapter": "postgres", "dsn": dsn.format(password=password, port=_closed_port())}
    }
    run = venomqa_run(tmp_path, auth="bearer", store=_yaml(store))

    assert run.exit_code == 3, run.outputs
    stderr = run.outputs["stderr"]
    assert "store 'db' (postgres): cannot connect to 127.0.0.1:" in stderr
    assert "/vault as user vault" in stderr
    secrets = {"DSN password": DSN_PASSWORD, "bearer token": BEARER}
    assert leaks(run.outputs, secrets) == []
    config = {"venomqa.yaml": (tmp_path / "venomqa.yaml").read_text(encoding="utf-8")}
    assert {leak.split(": ")[0] for leak in leaks(config, secrets)} == set(secrets)


# -- the pieces reports rely on -------------------------------------------------------------------


def test_the_filter_learns_every_value_it_redacts_by_name() -> None:
    """What a name gives away is learned, so reports mask it where no name does."""
    data_filter = SensitiveDataFilter(secrets=SecretsManager(environ={}))
    encoded = base64.b64encode(b"carol:basic-pw-1").decode()
    data_filter.redact_headers(
        {
            "Authorization": f"Basic {encoded}",
            "Cookie": "theme=dark; session=cookie-value-1",
            "X-Api-Key": "header-key-1",
            "Accept": "not-a-secret",
        }
    )
    data_filter.redact_url("http://dave:url-pw-1@h/x?access_token=query-tok-1&q=plain-value")
    data_filter.redact_value({"user": {"password": "body-pw-1"}, "note": "plain-text-1"})
    data_filter.redact_form("name=erin&passwd=form-pw-1")
    data_filter.redact_text('failed: secret=text-secret-1 and {"api_key": "json-key-1"}')

    assert data_filter.secrets.learned == {
        encoded,
        "carol:basic-pw-1",
        "basic-pw-1",
        "cookie-value-1",
        "header-key-1",
        "url-pw-1",
        "query-tok-1",
        "body-pw-1",
        "form-pw-1",
        "text-secret-1",
        "json-key-1",
    }
    assert data_filter.secrets.values == set()  # records are not masked with learned values
    assert data_filter.secrets.mask("body-pw-1") == "body-pw-1"


def test_reports_mask_what_the_managers_in_use_registered_or_learned() -> None:
    manager = SecretsManager(environ={})
    manager.register("registered-1")
    manager.learn("learned-value-1")
    manager.learn("short")  # too short to mask in every text
    text = "registered-1 / learned-value-1 / short / " + quote("learned-value-1", safe="")

    assert secrets_in_use().mask(text) == f"{REDACTED} / {REDACTED} / short / {REDACTED}"
    del manager
    gc.collect()
    assert secrets_in_use().mask(text) == text


def test_many_secrets_are_masked_in_every_form() -> None:
    """Past a few hundred forms the manager replaces each in turn instead of one big regex."""
    manager = SecretsManager(environ={})
    values = [f"tok/{n:04d}+{'x' * 8}'\"" for n in range(300)]
    for value in values:
        manager.register(value)
    text = " | ".join(f"{v} {quote(v, safe='')} {json.dumps(v)} {v!r}" for v in values[::37])

    masked = manager.mask(text)
    assert not any(v[:12] in masked or quote(v, safe="")[:12] in masked for v in values)
    assert masked.count(REDACTED) == 4 * len(values[::37])
