"""The venomqa Client over real loopback HTTP and in-process apps: records, redaction, retry,
circuit breaker, auth, reachability and history marks."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from collections.abc import Iterator

import httpx
import pytest
from _support_client import (
    AsgiApp,
    FakeClock,
    LoopbackServer,
    closed_port,
    running_server,
    wsgi_app,
)
from venomqa.client import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    CircuitBreaker,
    Client,
    RetryPolicy,
    SecretsManager,
    SensitiveDataFilter,
)
from venomqa.errors import CircuitOpenError, ConfigError, TargetUnreachableError, UsageError
from venomqa.models.results import RequestRecord

REDACTED = "***REDACTED***"


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with running_server() as state:
        yield state


def _dump(records: list[RequestRecord]) -> str:
    return json.dumps([record.to_dict() for record in records])


def _sleeps() -> tuple[list[float], RetryPolicy]:
    slept: list[float] = []
    return slept, RetryPolicy(attempts=3, backoff_base=0.5, backoff_factor=2.0, sleep=slept.append)


# -- records -----------------------------------------------------------------------------------


def test_every_exchange_is_recorded_with_decoded_bodies(server: LoopbackServer) -> None:
    with Client(server.base_url) as api:
        response = api.post("/echo", json={"name": "ada", "qty": 2}, params={"page": "1"})
        assert response.status_code == 200
        text = api.get("/text")
        missing = api.delete("/nowhere")

    assert text.text == "hello, plain text"
    assert missing.status_code == 404  # error statuses are returned, never raised
    first, second, third = api.history
    assert first.method == "POST"
    assert first.url == f"{server.base_url}/echo?page=1"
    assert first.request_body == {"name": "ada", "qty": 2}
    assert first.request_headers["content-type"] == "application/json"
    assert first.response_status == 200
    assert first.response_body["method"] == "POST"
    assert json.loads(first.response_body["body"]) == {"name": "ada", "qty": 2}
    assert first.response_headers["content-type"] == "application/json"
    assert first.duration_ms > 0 and first.error is None
    assert second.response_body == "hello, plain text"
    assert (third.method, third.response_status) == ("DELETE", 404)
    assert third.response_body == {"error": "no route /nowhere"}


def test_large_bodies_are_truncated_not_parsed(server: LoopbackServer) -> None:
    with Client(server.base_url, max_body_bytes=1024) as api:
        api.get("/big/5000")
    body = api.history[0].response_body
    assert isinstance(body, str)
    assert len(body) < 1200 and "truncated: 5029 bytes in total" in body
    assert '"password": "***REDACTED***"' in body and "leak" not in body


def test_mark_and_records_since(server: LoopbackServer) -> None:
    with Client(server.base_url) as api:
        api.get("/status/200")
        mark = api.mark()
        assert api.records_since(mark) == []
        api.get("/status/201")
        api.get("/status/202")
        since = api.records_since(mark)
        assert [r.response_status for r in since] == [201, 202]
        api.clear_history()
        later = api.mark()
        api.get("/status/204")
        assert [r.response_status for r in api.records_since(mark)] == [204]
        assert [r.response_status for r in api.records_since(later)] == [204]
        assert api.records_since(0)[0].response_status == 204


# -- redaction ---------------------------------------------------------------------------------


def test_credentials_in_headers_bodies_and_query_are_redacted(server: LoopbackServer) -> None:
    with Client(server.base_url) as api:
        api.post(
            "/echo",
            json={
                "username": "ada",
                "password": "pw-in-body",
                "nested": {"API_KEY": "key-in-body", "items": [{"creditCard": "4111"}]},
            },
            params={"access_token": "tok-in-query", "q": "shoes"},
            headers={"Authorization": "Bearer hdr-token", "Cookie": "sid=cookie-value"},
        )
        api.post("/echo", data={"user": "ada", "passwd": "form-pw"})
        api.get("/login")

    dumped = _dump(api.history)
    for leaked in (
        "pw-in-body",
        "key-in-body",
        "4111",
        "tok-in-query",
        "hdr-token",
        "cookie-value",
        "form-pw",
        "issued-access-token-123",
        "issued-refresh-token-456",
        "hunter22",
        "server-cookie-value",
    ):
        assert leaked not in dumped, leaked
    echo, form, login = api.history
    assert echo.request_body["username"] == "ada"
    assert echo.request_body["password"] == REDACTED
    assert echo.request_body["nested"]["items"][0]["creditCard"] == REDACTED
    assert echo.request_headers["authorization"] == f"Bearer {REDACTED}"
    assert echo.request_headers["cookie"] == REDACTED
    assert "q=shoes" in echo.url and "access_token=" in echo.url
    assert echo.response_headers["set-cookie"] == REDACTED
    assert form.request_body == f"user=ada&passwd={REDACTED}"
    assert login.response_body["user"]["name"] == "ada"
    assert login.response_body["refreshToken"] == REDACTED
    # The server itself received the real values: redaction only touches records.
    assert server.received[-3]["headers"]["Authorization"] == "Bearer hdr-token"


def test_registered_secret_literals_are_masked_everywhere(server: LoopbackServer) -> None:
    secrets = SecretsManager(environ={"SHOP_TOKEN": "env-secret-value"})
    token = secrets.require("SHOP_TOKEN")
    secrets.register("literal/secret+value")
    redactor = SensitiveDataFilter(secrets=secrets, extra_fields=["tenant"])
    with Client(server.base_url, redactor=redactor) as api:
        api.post(
            f"/echo?note={token}",
            json={"comment": f"my token is {token}", "tenant": "acme"},
            headers={"X-Trace": token},
        )
        api.get("/echo", params={"v": "literal/secret+value"})
    dumped = _dump(api.history)
    assert "env-secret-value" not in dumped
    assert "literal/secret+value" not in dumped and "literal%2Fsecret%2Bvalue" not in dumped
    record = api.history[0]
    assert record.request_body == {"comment": f"my token is {REDACTED}", "tenant": REDACTED}
    assert record.request_headers["x-trace"] == REDACTED


def test_secrets_manager_lookup() -> None:
    secrets = SecretsManager(environ={"DB_PASSWORD": "from-env"})
    secrets.set("API_TOKEN", "from-set")
    assert secrets.get("DB_PASSWORD") == "from-env"
    assert secrets.get("NOPE") is None and secrets.get("NOPE", "dflt") == "dflt"
    assert secrets.require("API_TOKEN") == "from-set"
    assert {"from-env", "from-set"} <= secrets.values
    with pytest.raises(ConfigError, match="MISSING_VAR"):
        secrets.require("MISSING_VAR")
    secrets.register("ab")  # too short to mask as a literal
    assert secrets.mask("ab from-env") == f"ab {REDACTED}"


def test_filter_rules_are_case_insensitive_and_configurable() -> None:
    redactor = SensitiveDataFilter(extra_fields=["ssn_number"], extra_headers=["X-Tenant"])
    assert redactor.is_sensitive_field("Client-Secret")
    assert redactor.is_sensitive_field("REFRESH_TOKEN")
    assert redactor.is_sensitive_field("ssnNumber")
    assert not redactor.is_sensitive_field("username")
    assert not redactor.is_sensitive_field("classname")  # "ssn" is a whole-name rule only
    headers = redactor.redact_headers({"X-Tenant": "acme", "Accept": "json"})
    assert headers == {"X-Tenant": REDACTED, "Accept": "json"}
    url = redactor.redact_url("http://bob:pa55@h/x?apikey=k&page=2")
    assert url == f"http://bob:{REDACTED}@h/x?apikey={REDACTED}&page=2"


# -- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "check"),
    [
        (BearerAuth("bearer-secret-xyz"), ("Authorization", "Bearer bearer-secret-xyz")),
        (ApiKeyAuth("apikey-secret-xyz"), ("X-API-Key", "apikey-secret-xyz")),
        (ApiKeyAuth("hdr-key-xyz", header="X-Token"), ("X-Token", "hdr-key-xyz")),
        (
            BasicAuth("ada", "basic-secret-xyz"),
            ("Authorization", "Basic YWRhOmJhc2ljLXNlY3JldC14eXo="),
        ),
    ],
)
def test_auth_reaches_the_server_and_never_the_history(
    server: LoopbackServer, auth: httpx.Auth, check: tuple[str, str]
) -> None:
    with Client(server.base_url, auth=auth) as api:
        response = api.get("/echo")
    header, value = check
    assert response.json()["headers"][header] == value
    dumped = _dump(api.history)
    secret = value.split(" ")[-1]
    assert secret not in dumped
    assert "secret-xyz" not in dumped and "key-xyz" not in dumped
    assert "secret-xyz" not in repr(auth)


def test_api_key_in_query_param_with_a_neutral_name(server: LoopbackServer) -> None:
    with Client(server.base_url, auth=ApiKeyAuth("query-key-xyz", query_param="k")) as api:
        response = api.get("/echo", params={"page": "3"})
    assert response.json()["query"] == {"page": ["3"], "k": ["query-key-xyz"]}
    assert "query-key-xyz" not in _dump(api.history)
    assert f"k={REDACTED}" in api.history[0].url


def test_credential_default_headers_are_registered_as_secrets(server: LoopbackServer) -> None:
    with Client(server.base_url, headers={"X-Auth-Token": "default-hdr-secret"}) as api:
        response = api.get("/echo")
    assert response.json()["headers"]["X-Auth-Token"] == "default-hdr-secret"
    assert "default-hdr-secret" not in _dump(api.history)


# -- retry -------------------------------------------------------------------------------------


def test_retry_on_503_then_success(server: LoopbackServer) -> None:
    slept, policy = _sleeps()
    with Client(server.base_url, retry=policy) as api:
        response = api.get("/flaky/once/2")
    assert response.status_code == 200
    assert server.hits["/flaky/once/2"] == 3
    assert [r.response_status for r in api.history] == [503, 503, 200]
    assert slept == [0.0, 0.0]  # Retry-After: 0 from the server wins over the backoff


def test_retry_exhausted_returns_the_last_answer(server: LoopbackServer) -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, respect_retry_after=False, sleep=slept.append)
    with Client(server.base_url, retry=policy) as api:
        response = api.get("/flaky/always/99")
    assert response.status_code == 503
    assert server.hits["/flaky/always/99"] == 3
    assert slept == [0.1, 0.2]
    assert policy.delay(10) == policy.backoff_max


def test_no_retry_on_4xx_or_500(server: LoopbackServer) -> None:
    slept, policy = _sleeps()
    with Client(server.base_url, retry=policy) as api:
        assert api.get("/status/404").status_code == 404
        assert api.get("/status/500").status_code == 500
    assert server.hits["/status/404"] == 1 and server.hits["/status/500"] == 1
    assert slept == []


def test_connection_refused_is_retried_recorded_and_raised_as_unreachable() -> None:
    slept, policy = _sleeps()
    base = f"http://127.0.0.1:{closed_port()}"
    with Client(base, retry=policy) as api, pytest.raises(TargetUnreachableError) as info:
        api.post("/orders", json={"password": "pw-x"})
    assert f"{base}/orders" in str(info.value) and "after 3 tries" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert slept == [0.5, 1.0]
    assert len(api.history) == 3
    record = api.history[0]
    assert record.response_status is None and record.error and "ConnectError" in record.error
    assert record.request_body == {"password": REDACTED}


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(UsageError, match="attempts"):
        RetryPolicy(attempts=0)


# -- circuit breaker ---------------------------------------------------------------------------


def test_circuit_opens_after_threshold_and_half_opens_after_timeout(
    server: LoopbackServer,
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=30.0, clock=clock)
    with Client(server.base_url, circuit_breaker=breaker) as api:
        assert api.get("/status/503").status_code == 503
        assert breaker.state == "closed" and breaker.consecutive_failures == 1
        api.get("/status/502")
        assert breaker.state == "open"
        hits_before = server.hits["/status/200"]
        with pytest.raises(CircuitOpenError, match=r"GET .*/status/200"):
            api.get("/status/200")
        assert server.hits["/status/200"] == hits_before  # refused without sending

        clock.now += 31
        assert breaker.state == "half_open"
        assert api.get("/status/504").status_code == 504  # the probe fails: open again
        assert breaker.state == "open"
        with pytest.raises(CircuitOpenError):
            api.get("/status/200")

        clock.now += 31
        assert api.get("/status/200").status_code == 200  # the probe succeeds: closed
        assert breaker.state == "closed" and breaker.consecutive_failures == 0
        assert api.get("/status/200").status_code == 200


def test_half_open_lets_only_one_probe_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    breaker.before_request("first probe")
    with pytest.raises(CircuitOpenError, match="second"):
        breaker.before_request("second")
    breaker.record_success()
    breaker.before_request("now closed")


def test_circuit_counts_connection_failures() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=10, clock=clock)
    with Client(f"http://127.0.0.1:{closed_port()}", circuit_breaker=breaker) as api:
        with pytest.raises(TargetUnreachableError):
            api.get("/x")
        with pytest.raises(CircuitOpenError):
            api.get("/x")
    assert len(api.history) == 1


# -- reachability ------------------------------------------------------------------------------


def test_check_reachable_on_a_closed_port_names_the_url() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with Client(base) as api, pytest.raises(TargetUnreachableError) as info:
        api.check_reachable()
    assert base in str(info.value)
    assert api.history == []


def test_check_reachable_accepts_any_status(server: LoopbackServer) -> None:
    with Client(server.base_url + "/status/500") as api:
        api.check_reachable()
    assert api.history == []


def test_relative_url_without_base_is_a_usage_error() -> None:
    with Client() as api:
        with pytest.raises(UsageError, match="base_url"):
            api.get("/orders")
        with pytest.raises(UsageError):
            api.check_reachable()


# -- in-process apps ---------------------------------------------------------------------------


def test_wsgi_app_in_process() -> None:
    with Client(app=wsgi_app) as api:
        api.check_reachable()
        response = api.post("/items", content=b"hello")
        assert response.json()["method"] == "POST"
        with pytest.raises(RuntimeError, match="exploded"):
            api.get("/boom")
    assert api.base_url == "http://testserver"
    ok, boom = api.history
    assert ok.url == "http://testserver/items" and ok.request_body == "hello"
    assert ok.response_body["secret"] == REDACTED
    assert boom.response_status is None and "RuntimeError: the app exploded" in (boom.error or "")


def test_asgi_app_in_process_runs_on_one_loop() -> None:
    app = AsgiApp()
    with Client(app=app) as api:
        first = api.put("/things/1", json={"token": "asgi-token-value"})
        second = api.get("/things/2")
    assert first.status_code == 201 and first.json()["path"] == "/things/1"
    assert second.json()["method"] == "GET"
    assert app.calls == 2
    assert api.history[0].request_body == {"token": REDACTED}
    assert "asgi-token-value" not in api.history[0].response_body["body"]  # embedded JSON


def test_records_decode_lazily_but_behave_like_plain_records(server: LoopbackServer) -> None:
    with Client(server.base_url) as api:
        api.post("/echo", json={"a": 1, "secret": "x"})
    record = api.history[0]
    plain = RequestRecord.from_dict(record.to_dict())
    plain.duration_ms = record.duration_ms  # to_dict() rounds it
    assert record == plain and plain == record
    assert record.request_body == {"a": 1, "secret": REDACTED}
    clone = copy.deepcopy(record)
    assert type(clone) is RequestRecord and clone == record
    assert pickle.loads(pickle.dumps(record)) == record
    changed = dataclasses.replace(record, error="late")
    assert changed.error == "late" and changed.response_body == record.response_body
