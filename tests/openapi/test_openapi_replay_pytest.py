"""Generated actions outside ``venomqa run``: ``venomqa replay`` re-runs an openapi finding
through the actions the ``openapi:`` section makes (reproduced on the buggy shop, not on its
bug-free twin), and the pytest plugin explores a venomqa.yaml that has only ``openapi:``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _backends import SqliteBackend
from _support_openapi import ShopProcess, run_venomqa
from test_openapi_end_to_end import EXPECTED, IDENTITIES

pytest_plugins = ["pytester"]


def _config(folder: Path, shop: ShopProcess, backend: SqliteBackend) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "venomqa.yaml"
    config.write_text(
        f"target: {shop.url}\nopenapi:\n  spec: {shop.url}/openapi.json\n{IDENTITIES}"
        f"stores:\n  db: {backend.store}\nexplore: {{max_depth: 3}}\n"
    )
    return config


def test_an_openapi_finding_replays(tmp_path: Path) -> None:
    buggy_db, twin_db = SqliteBackend(tmp_path / "buggy"), SqliteBackend(tmp_path / "twin")
    for backend in (buggy_db, twin_db):
        backend.path.parent.mkdir()
    buggy = ShopProcess(buggy_db.url, bugs=True)
    twin = ShopProcess(twin_db.url, bugs=False)
    try:
        config = _config(tmp_path / "buggy", buggy, buggy_db)
        report = tmp_path / "report.json"
        ran = run_venomqa(tmp_path, "run", "-c", str(config), "--report", f"json:{report}")
        assert ran.returncode == 1, ran.stdout + ran.stderr
        violations = json.loads(report.read_text())["violations"]
        assert len(violations) == len(EXPECTED)
        before = buggy_db.dump()

        replayed = run_venomqa(tmp_path, "replay", str(report), "-c", str(config))
        out = replayed.stdout + replayed.stderr
        assert replayed.returncode == 1, out
        assert f"{len(EXPECTED)} of {len(EXPECTED)} violation(s) reproduced." in out, out
        assert "object-level authorization: getItem is still violated: bob read" in out, out
        assert "createItem [missing name] still gets 500" in out, out
        assert buggy_db.dump() == before  # the replay ran inside a checkpoint

        # the same report against the bug-free twin: nothing reproduces
        fixed = _config(tmp_path / "twin", twin, twin_db)
        replayed = run_venomqa(tmp_path, "replay", str(report), "-c", str(fixed))
        out = replayed.stdout + replayed.stderr
        assert replayed.returncode == 0, out
        assert f"0 of {len(EXPECTED)} violation(s) reproduced." in out, out
        assert "object-level authorization: getItem holds now" in out, out
    finally:
        buggy.stop()
        twin.stop()


MARKED_TEST = """\
import pytest


@pytest.mark.venomqa(max_depth=3)
def test_shop_from_its_openapi_document(venomqa_exploration):
    assert venomqa_exploration.actions["getItem as bob"] > 0
"""


@pytest.mark.parametrize("bugs", [True, False], ids=["buggy", "twin"])
def test_the_pytest_plugin_explores_openapi(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, bugs: bool
) -> None:
    backend = SqliteBackend(pytester.path)
    shop = ShopProcess(backend.url, bugs=bugs)
    try:
        _config(pytester.path, shop, backend)
        pytester.makepyfile(test_shop=MARKED_TEST)
        monkeypatch.setenv("VENOMQA_LOAD_PLUGINS", "openapi")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    finally:
        shop.stop()
    out = result.stdout.str()
    if not bugs:
        result.assert_outcomes(passed=1)
        return
    result.assert_outcomes(failed=1)
    assert f"VenomQA found {len(EXPECTED)} violations" in out, out
    assert "object-level authorization: getItem" in out, out
    assert "createItem -> getItem as bob" in out, out
