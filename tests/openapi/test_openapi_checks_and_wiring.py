"""The built-in checks and the wiring on real planted bugs (the shop in its own process on
SQLite, ``_shop_api.py``): a created item that is not retrievable or not listed and a deleted
one that stays; identities that log in (tokens in the database, so a rollback forgets them and
the client logs in again on 401); OpenAPI links (in a hand-written OpenAPI 3.0 document with
``nullable``) and ``wiring:`` corrections feeding a parameter nothing could be guessed for."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _backends import SqliteBackend
from _support_openapi import ShopProcess
from test_openapi_end_to_end import EXPECTED, findings, run_openapi

HERE = Path(__file__).resolve().parent

#: extra bugs (``--bug``) -> the findings they give, with their shortest paths.
PLANTED = {
    "unlisted+undeleted": {
        "created resource is listed: createItem": ["createItem"],
        "deleted resource is gone: deleteItem": ["createItem", "deleteItem"],
    },
    "unretrievable": {
        "created resource is retrievable: createItem": ["createItem"],
        "created resource is listed: createItem": ["createItem"],
    },
}


@pytest.mark.parametrize("bugs", list(PLANTED))
def test_retrievable_listed_and_deleted_checks_find_planted_bugs(tmp_path: Path, bugs: str) -> None:
    flags = tuple(arg for name in bugs.split("+") for arg in ("--bug", name))
    code, report, output = run_openapi(tmp_path, SqliteBackend(tmp_path), bugs=False, flags=flags)
    assert code == 1, output
    assert findings(report) == PLANTED[bugs], output


LOGINS = (
    "  auth:\n"
    "    alice: {login: {operation: login, body: {name: alice, password: alice-pw},"
    " token: /access_token}}\n"
    "    bob:\n"
    "      login:\n"
    "        operation: login\n"
    "        body: {name: bob, password: bob-pw}\n"
    "        header: Authorization\n"
    '        format: "Bearer {token}"\n'
)


@pytest.mark.parametrize("bugs", [True, False], ids=["buggy", "twin"])
def test_identities_that_log_in(tmp_path: Path, bugs: bool) -> None:
    served: list[int] = []
    code, report, output = run_openapi(
        tmp_path,
        SqliteBackend(tmp_path),
        bugs=bugs,
        flags=("--login",),
        section="openapi:\n  spec: {url}/openapi.json\n" + LOGINS,
        after=lambda url: served.append(httpx.get(f"{url}/_logins").json()["logins"]),
    )
    # the login operation is how identities get tokens, not an action to explore
    assert not any(name.startswith("login") for name in report["actions"])
    if bugs:
        assert code == 1, output
        assert findings(report) == EXPECTED, output
    else:
        assert report["violations"] == [], output  # no 401 went undocumented: re-logins worked
        assert code == 0, output
        assert report["actions"]["getItem as bob"] > 0
    # sessions are rows: a path logs each identity in where it first needs it, and a rollback
    # undoes the session and the token together (no nondeterminism finding above)
    assert served[0] >= 2, served


def test_a_token_the_api_forgot_is_renewed_on_401(tmp_path: Path) -> None:
    from venomqa.client import Client
    from venomqa.context import ExecutionContext
    from venomqa_openapi import build

    backend = SqliteBackend(tmp_path)
    shop = ShopProcess(backend.url, bugs=False, flags=("--login",))
    client = Client(shop.url)
    try:
        login = {"operation": "login", "body": {"name": "alice", "password": "alice-pw"}}
        actions, _ = build(f"{shop.url}/openapi.json", auth={"alice": {"login": login}})
        by_name = {action.name: action for action in actions}
        ctx = ExecutionContext()
        assert by_name["createItem"].fn(client, ctx).status_code == 201
        backend.execute("DELETE FROM sessions")  # the session expired: the API forgot it
        assert by_name["getItem"].fn(client, ctx).status_code == 200
        calls = [
            (r.method, r.url.removeprefix(shop.url), r.response_status) for r in client.history
        ]
        logins = httpx.get(f"{shop.url}/_logins").json()["logins"]
    finally:
        client.close()
        shop.stop()
    item = f"/items/{ctx['/items/{item_id}']}"
    assert calls[0] == ("POST", "/login", 200)  # logged in where first needed
    assert calls[-3:] == [("GET", item, 401), ("POST", "/login", 200), ("GET", item, 200)]
    assert logins == 2


CARTS = ("--carts",)


def test_openapi_links_of_a_3_0_document_wire_the_parameters(tmp_path: Path) -> None:
    spec = HERE / "shop_carts_openapi30.yaml"
    section = f"openapi:\n  spec: {spec}\n  auth: {{alice: {{headers: {{X-User: alice}}}}}}\n"
    code, report, output = run_openapi(
        tmp_path, SqliteBackend(tmp_path), bugs=False, flags=CARTS, section=section
    )
    # note is null (its example): valid only because 3.0's nullable was understood
    assert report["violations"] == [], output
    assert code == 0, output
    assert report["actions"]["getCart"] > 0  # the link fed cart_number
    (tmp_path / "buggy").mkdir()
    code, report, output = run_openapi(
        tmp_path, SqliteBackend(tmp_path / "buggy"), bugs=True, flags=CARTS, section=section
    )
    assert code == 1, output
    assert findings(report)["server_error getCart"] == ["createCart", "getCart"], output


WIRED = (
    "openapi:\n  spec: {url}/openapi.json\n  include: [createCart, getCart]\n"
    "  auth: {alice: {headers: {X-User: alice}}}\n"
)


def test_without_links_or_wiring_the_parameter_stays_empty(tmp_path: Path) -> None:
    _code, report, output = run_openapi(
        tmp_path, SqliteBackend(tmp_path), bugs=True, flags=CARTS, section=WIRED
    )
    assert report["actions"].get("getCart", 0) == 0, output  # never enabled: nothing to guess
    assert "server_error getCart" not in findings(report)


def test_a_wiring_correction_feeds_the_parameter(tmp_path: Path) -> None:
    section = WIRED + '  wiring: {"getCart.cart_number": "createCart#/cart/number"}\n'
    code, report, output = run_openapi(
        tmp_path, SqliteBackend(tmp_path), bugs=True, flags=CARTS, section=section
    )
    assert code == 1, output
    assert report["actions"]["getCart"] > 0
    assert findings(report)["server_error getCart"] == ["createCart", "getCart"], output
