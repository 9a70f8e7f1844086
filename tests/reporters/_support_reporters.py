"""Helpers for the reporter tests: real runs of the demo shop, synthetic graphs, Chromium.

``shop_run`` explores the bundled demo shop (a separate server process with three seeded bugs,
on a SQLite file) and runs a journey on it, so the reports render real requests and responses.
``grouped_run`` is a hand-built run with grouped findings, nondeterminism and learned values.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from venomqa import Journey, Severity
from venomqa.models import (
    ExplorationResult,
    FindingKind,
    RequestRecord,
    RunReport,
    StateEdge,
    StepRecord,
    Violation,
    VolatileFieldInfo,
)

CHROMIUM = "/usr/bin/chromium"

#: The journey the shop run executes: one path hits the refund bug, one step must fail.
SHOP_JOURNEY_MODULE = '''
"""A scripted journey on the demo shop, with branches from a paid order."""

from venomqa import Branch, Checkpoint, Journey, Path, Step


def create(api, ctx):
    response = api.post("/orders", json={"amount": 2500})
    ctx["order"] = response.json()["id"]
    return response


def pay(api, ctx):
    return api.post(f"/orders/{ctx['order']}/pay")


def refund(api, ctx):
    return api.post(f"/orders/{ctx['order']}/refund")


def listing(api, ctx):
    return api.get("/orders")


checkout = Journey(
    name="checkout",
    steps=[
        Step("create", create),
        Step("pay", pay),
        Checkpoint("paid"),
        Branch(
            "paid",
            [
                Path("refund_twice", [Step("refund", refund), Step("refund_again", refund)]),
                Path("listing_must_fail", [Step("listing", listing, expect_failure=True)]),
            ],
        ),
    ],
)
'''


#: Actions for the demo shop that are not deterministic: ``take_ticket`` puts a new number in the
#: context on every call (learned as ``context.ignore: [ticket]``), ``bulk_orders`` opens one
#: order on odd calls and two on even ones (a nondeterminism finding no field explains).
FLAKY_MODULE = '''
"""Actions whose outcome differs between two runs from the same state."""

import itertools

from venomqa import action

_tickets = itertools.count(100)
_bulk = itertools.count()


@action(requires=lambda ctx: "ticket" not in ctx)
def take_ticket(api, ctx):
    ctx["ticket"] = next(_tickets)
    return api.get("/orders")


@action(requires=lambda ctx: "bulk" not in ctx)
def bulk_orders(api, ctx):
    ctx["bulk"] = True
    for _ in range(next(_bulk) % 2 + 1):
        response = api.post("/orders", json={"amount": 100})
    return response
'''

#: grouped_run's paths: the refund bug's shortest path and two other paths to it.
REFUND_PATH = ["create_order", "pay_order", "refund_order", "refund_order"]
REFUND_EXAMPLES = [
    ["create_order", "pay_order", "refund_order", "get_order", "refund_order"],
    ["create_order", "get_order", "pay_order", "refund_order", "refund_order"],
]
NONDETERMINISM_PATH = ["create_order", "bulk_orders"]
NONDETERMINISM_MESSAGE = (
    "the path ['create_order', 'bulk_orders'] reached different states on two runs: "
    "store 'db': orders: 1 changed record(s) in one run and 2 in the other (e.g. (3,))"
)
#: grouped_run's volatile values: one declared, two learned.
DECLARED = VolatileFieldInfo("stores.db.ignore", "orders.id", "declared", declared=True)
LEARNED = [
    VolatileFieldInfo(
        "stores.db.ignore", "orders.updated_at", "a clock reading: '2026-12-02 01:00'"
    ),
    VolatileFieldInfo("context.ignore", "ticket", "differed between two runs of 'take_ticket'"),
]
#: The venomqa.yaml lines that pin LEARNED (the declared field is on the same setting).
PIN = ["stores.db.ignore: [orders.id, orders.updated_at]", "context.ignore: [ticket]"]


def _shop_steps(path: list[str]) -> list[StepRecord]:
    urls = {
        "create_order": ("POST", "/orders", 201),
        "pay_order": ("POST", "/orders/1/pay", 200),
        "refund_order": ("POST", "/orders/1/refund", 200),
        "get_order": ("GET", "/orders/1", 200),
        "bulk_orders": ("POST", "/orders", 201),
        "list_orders": ("GET", "/orders", 500),
    }
    steps = []
    for name in path:
        method, url, status = urls[name]
        body = {"id": 1, "refunded": 5000} if name == "refund_order" else {"id": 1}
        record = RequestRecord(method, f"http://127.0.0.1:9{url}", None, status, body, 2.0)
        steps.append(StepRecord(name, [record]))
    return steps


def grouped_run(*, learned: bool = True) -> RunReport:
    """A run whose refund bug was seen in 7 states (two example paths besides the shortest),
    with a nondeterminism finding seen in 3 states, a server error seen once, 41 calls for 27
    transitions, 2 restarts and (with ``learned``) two learned volatile values."""
    refund = Violation(
        invariant="refunds_never_exceed_payment",
        severity=Severity.CRITICAL,
        path=list(REFUND_PATH),
        steps=_shop_steps(REFUND_PATH),
        message="order 1 cost 2500 but 5000 was refunded",
        state="s4",
        occurrences=7,
        examples=[list(p) for p in REFUND_EXAMPLES],
    )
    flaky = Violation(
        invariant="nondeterminism",
        severity=Severity.MEDIUM,
        path=list(NONDETERMINISM_PATH),
        steps=_shop_steps(NONDETERMINISM_PATH),
        message=NONDETERMINISM_MESSAGE,
        kind=FindingKind.NONDETERMINISM,
        state="s1",
        occurrences=3,
        examples=[["bulk_orders"]],
    )
    crash = Violation(
        invariant="server_error",
        severity=Severity.HIGH,
        path=["list_orders"],
        steps=_shop_steps(["list_orders"]),
        message="GET /orders answered 500",
        kind=FindingKind.SERVER_ERROR,
        state="s0",
    )
    exploration = ExplorationResult(
        states=7,
        transitions=27,
        calls=41,
        restarts=2,
        violations=[refund, flaky, crash],
        actions={name: 4 for name in ("create_order", "pay_order", "refund_order", "get_order")}
        | {"bulk_orders": 3, "list_orders": 4},
        invariants=["refunds_never_exceed_payment", "always_fine"],
        max_depth_reached=5,
        duration_s=0.5,
        initial_state="s0",
        state_edges=[
            StateEdge("s0", "create_order", "s1"),
            StateEdge("s1", "pay_order", "s2"),
            StateEdge("s2", "refund_order", "s3"),
            StateEdge("s3", "refund_order", "s4"),
        ],
        volatile=[DECLARED, *(LEARNED if learned else [])],
        target="http://127.0.0.1:9",
    )
    return RunReport(exploration=exploration, target="http://127.0.0.1:9")


def shop_journey() -> Journey:
    """The checkout journey of SHOP_JOURNEY_MODULE, as objects."""
    namespace: dict[str, Any] = {}
    exec(compile(SHOP_JOURNEY_MODULE, "shop_journey", "exec"), namespace)
    journey = namespace["checkout"]
    assert isinstance(journey, Journey)
    return journey


def shop_run(tmp: Path, *, max_depth: int = 4) -> RunReport:
    """Explore the demo shop over real HTTP and run the checkout journey; the RunReport."""
    from venomqa.demo import init_schema, start_demo_server
    from venomqa.demo.checks import ACTIONS, INVARIANTS
    from venomqa.runtime import run_session
    from venomqa.stores.sqlite import SQLiteStore

    db = tmp / "shop.db"
    init_schema(str(db))
    with start_demo_server(db) as server:
        return run_session(
            target=server.url,
            actions=list(ACTIONS),
            invariants=list(INVARIANTS),
            journeys=[shop_journey()],
            graphs=[],
            stores={"db": SQLiteStore(str(db))},
            explore_options={"strategy": "bfs", "max_depth": max_depth},
            reporters=[],
        )


def synthetic_exploration(states: int, *, fan_out: int = 4, violations: int = 2) -> RunReport:
    """A RunReport whose state graph is a tree of ``states`` states (plus back edges).

    State ``i``'s parent is ``(i - 1) // fan_out``; every state also has an edge back to the
    root. The last ``violations`` states violate an invariant along their tree path.
    """
    keys = [f"{i:016x}" for i in range(states)]
    edges = [
        StateEdge(keys[(i - 1) // fan_out], f"a{(i - 1) % fan_out}", keys[i])
        for i in range(1, states)
    ]
    edges += [StateEdge(keys[i], "reset", keys[0]) for i in range(1, states, 7)]
    found = []
    for index in range(states - violations, states):
        actions, cursor = [], index
        while cursor:
            actions.append(f"a{(cursor - 1) % fan_out}")
            cursor = (cursor - 1) // fan_out
        actions.reverse()
        steps = [
            StepRecord(
                action=name,
                requests=[
                    RequestRecord("POST", f"http://127.0.0.1:1/{name}", None, 200, {"ok": True})
                ],
            )
            for name in actions
        ]
        found.append(
            Violation(
                invariant=f"rule_{index}",
                severity=Severity.HIGH,
                path=actions,
                steps=steps,
                message=f"state {index} is bad",
                state=keys[index],
            )
        )
    exploration = ExplorationResult(
        states=states,
        transitions=len(edges),
        violations=found,
        actions={f"a{k}": states // fan_out for k in range(fan_out)} | {"reset": states // 7},
        invariants=[v.invariant for v in found] + ["always_fine"],
        initial_state=keys[0],
        state_edges=edges,
        max_depth_reached=max(len(v.path) for v in found) if found else 0,
        target="http://127.0.0.1:1",
    )
    return RunReport(exploration=exploration, target="http://127.0.0.1:1")


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def chromium(page: Path, *extra: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``page`` (a local file) with ``extra`` flags; no network."""
    binary = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium") or CHROMIUM
    with tempfile.TemporaryDirectory(prefix="venomqa-chromium-") as profile:
        return subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                *extra,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def dump_dom(page: Path) -> str:
    """The page's DOM after its script ran, as Chromium serialises it."""
    result = chromium(page, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<svg" in result.stdout or "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def screenshot(page: Path, target: Path, size: str = "1300,2000") -> Path:
    """A PNG screenshot of ``page``."""
    result = chromium(page, "--hide-scrollbars", f"--window-size={size}", f"--screenshot={target}")
    assert result.returncode == 0 and target.exists(), result.stderr[-2000:]
    return target
