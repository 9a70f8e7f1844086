"""``openapi:`` and ``auth:`` alone, against the FastAPI shop in its own process on SQLite and on
PostgreSQL: every planted bug is found with its shortest path, the database is left as it was
(rows and id counters), and the bug-free twin gives no findings. A hand-written invariant next
to ``openapi:`` sees the generated ctx."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _backends import Backend
from _support_openapi import ShopProcess, run_venomqa

IDENTITIES = "  auth:\n    alice: {headers: {X-User: alice}}\n    bob: {headers: {X-User: bob}}\n"

#: finding (invariant or kind+action) -> shortest path.
EXPECTED = {
    "no mass assignment: createUser": ["createUser [with is_admin]"],
    "object-level authorization: getItem": ["createItem", "getItem as bob"],
    "response matches schema: getItem": ["createItem", "getItem"],
    "server_error listItems [oversized limit]": ["listItems [oversized limit]"],
    "server_error createItem [missing name]": ["createItem [missing name]"],
    "server_error deleteItem": ["createItem", "deleteItem"],
}


def run_openapi(
    tmp_path: Path,
    backend: Backend,
    *,
    bugs: bool,
    extra: str = "",
    section: str | None = None,
    flags: tuple[str, ...] = (),
    after: Callable[[str], object] | None = None,
) -> tuple[int, dict[str, Any], str]:
    """Run ``venomqa run`` with ``openapi:`` (``section``, default: the shop's document and two
    header identities; ``{url}`` is the shop's URL) on the shop started with ``flags``; assert the
    database is unchanged; call ``after(url)`` before the shop stops; (exit, report, output)."""
    shop = ShopProcess(backend.url, bugs=bugs, flags=flags)
    try:
        # some data before the run
        backend.execute("INSERT INTO items (name, price, owner) VALUES ('seed', 5, 'carol')")
        before = backend.dump()
        openapi = (section or "openapi:\n  spec: {url}/openapi.json\n" + IDENTITIES).replace(
            "{url}", shop.url
        )
        config = tmp_path / "venomqa.yaml"
        config.write_text(
            f"target: {shop.url}\n{openapi}"
            f"stores:\n  db: {backend.store}\n"
            "explore: {max_depth: 3}\n" + extra
        )
        out = tmp_path / "report.json"
        args = ("run", "-c", str(config), "--report", f"json:{out}", "--no-console")
        result = run_venomqa(tmp_path, *args, plugins=backend.plugins)
        assert backend.dump() == before  # rolled back: rows and id counters
        if after is not None:
            after(shop.url)
    finally:
        shop.stop()
    assert out.is_file(), result.stdout + result.stderr
    return result.returncode, json.loads(out.read_text()), result.stdout + result.stderr


def findings(report: dict[str, Any]) -> dict[str, list[str]]:
    """invariant (or ``KIND ACTION`` for 5xx/exceptions) -> shortest path."""
    found = {}
    for violation in report["violations"]:
        name = violation["invariant"]
        if violation["kind"] != "invariant":
            name = f"{violation['kind']} {violation['path'][-1]}"
        found[name] = violation["path"]
    return found


def test_every_planted_bug_is_found_with_its_shortest_path(
    tmp_path: Path, backend: Backend
) -> None:
    code, report, output = run_openapi(tmp_path, backend, bugs=True)
    assert code == 1, output
    assert findings(report) == EXPECTED, output
    [drift] = [v for v in report["violations"] if v["invariant"].startswith("response matches")]
    assert "$.price" in drift["message"] and "integer" in drift["message"]
    [bola] = [v for v in report["violations"] if v["invariant"].startswith("object-level")]
    assert bola["steps"][-1]["response"]["status"] == 200


def test_the_bug_free_twin_gives_no_findings(tmp_path: Path, backend: Backend) -> None:
    code, report, output = run_openapi(tmp_path, backend, bugs=False)
    assert report["violations"] == [], output
    assert code == 0, output
    fired = report["actions"]
    assert fired["getItem as bob"] > 0 and fired["deleteItem"] > 0  # the wiring enabled them
    assert fired["listItems [oversized limit]"] > 0


HAND_WRITTEN = '''
from venomqa import invariant

@invariant
def item_ids_stay_below_4(world):
    """Sees the id the generated createItem put into ctx."""
    item = world.ctx.get("/items/{item_id}")
    if item is not None:
        assert isinstance(item, int), item
    return item is None or item < 4
'''


def test_a_hand_written_invariant_sees_the_generated_context(
    tmp_path: Path, backend: Backend
) -> None:
    (tmp_path / "my_checks.py").write_text(HAND_WRITTEN)
    code, report, output = run_openapi(
        tmp_path, backend, bugs=False, extra="actions: [my_checks]\n"
    )
    assert code == 1, output
    [mine] = [v for v in report["violations"] if v["invariant"] == "item_ids_stay_below_4"]
    # the seeded row is id 1: the third item created gets id 4
    assert mine["path"] == ["createItem", "createItem", "createItem"], mine["path"]
