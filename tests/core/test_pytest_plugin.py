"""The pytest plugin: explorations run as tests of a real API, with real stores.

Each test writes a small project (venomqa.yaml and a test module) with ``pytester`` and runs
pytest on it. The API is the demo shop in its own process on a SQLite file (venomqa.demo), the
store the built-in SQLite store; the shop's seeded bugs give the failing explorations.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from venomqa.demo import init_schema, start_demo_server
from venomqa.testing.server import ApiProcess

pytest_plugins = ["pytester"]

#: One test that passes (reads only), one whose exploration finds the shop's bugs, and one
#: that uses the helper with options of its own.
TESTS = """\
import pytest

from venomqa.demo.checks import (
    create_order, get_order, list_orders, refunds_never_exceed_payment,
)


@pytest.mark.venomqa(
    actions=[create_order, get_order, list_orders],
    invariants=[refunds_never_exceed_payment],
    max_depth=3,
)
def test_reads_are_safe(venomqa_exploration):
    assert venomqa_exploration.states == 2
    assert venomqa_exploration.violations == []


@pytest.mark.venomqa(max_depth=4)
def test_every_sequence():
    pass


def test_depth_first_helper(venomqa_explore):
    venomqa_explore(strategy="dfs", max_depth=4)
"""

REFUND_PATH = "shortest path (4 steps): create_order -> pay_order -> refund_order -> refund_order"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[ApiProcess, Path]]:
    db = tmp_path / "shop.db"
    init_schema(db)
    with start_demo_server(db) as server:
        yield server, db


def _project(pytester: pytest.Pytester, target: str, db: Path, folder: str = ".") -> Path:
    """venomqa.yaml (in ``folder``) for the shop at ``target``, and the test module."""
    where = pytester.path / folder
    where.mkdir(exist_ok=True)
    config = where / "venomqa.yaml"
    config.write_text(
        f"target: {target}\n"
        "actions: [venomqa.demo.checks]\n"
        f"stores:\n  db: {{adapter: sqlite, path: {db}}}\n"
        "explore: {max_depth: 2}\n"
    )
    pytester.makepyfile(test_shop=TESTS)
    return config


def _orders(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM orders").fetchone()[0])


def test_a_clean_exploration_passes_and_violations_fail_with_the_shortest_path(
    pytester: pytest.Pytester, shop: tuple[ApiProcess, Path]
) -> None:
    server, db = shop
    _project(pytester, server.url, db)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    # The marker's failure: every violation, each with its shortest path and its calls.
    result.stdout.fnmatch_lines(
        [
            "*_ test_every_sequence _*",
            "VenomQA found 3 violations (bfs: * states, * transitions, depth 4, stopped: *)",
            "1) [CRITICAL] cancelled_orders_are_never_charged: order 1 was cancelled but is paid",
            "   shortest path (3 steps): create_order -> cancel_order -> pay_order",
            "2) [CRITICAL] refunds_never_exceed_payment: order 1 cost 2500 but 5000 was refunded",
            f"   {REFUND_PATH}",
            f"   1. create_order  POST {server.url}/orders -> 201",
            f"   2. pay_order     POST {server.url}/orders/1/pay -> 200",
            f"   3. refund_order  POST {server.url}/orders/1/refund -> 200",
            f"   4. refund_order  POST {server.url}/orders/1/refund -> 200",
            '      last response: {"id": 1, "amount": 2500, "status": "refunded", *5000*',
        ]
    )
    assert "3) [MEDIUM] order_list_total_matches_orders (seen in 2 states)" in out
    # The helper's own options (dfs) win over the file's (bfs, depth 2).
    result.stdout.fnmatch_lines(["*_ test_depth_first_helper _*", "VenomQA found * (dfs: *"])
    result.stdout.fnmatch_lines(
        ["FAILED test_shop.py::test_every_sequence - Failed: VenomQA found 3 violations*"]
    )
    # No traceback of the plugin's internals: the message is the report.
    assert "pytest_plugin.py" not in out
    assert _orders(db) == 0, "the stores are rolled back after every exploration"


def test_junit_xml_holds_the_shortest_path_and_k_selects_explorations(
    pytester: pytest.Pytester, shop: tuple[ApiProcess, Path]
) -> None:
    server, db = shop
    _project(pytester, server.url, db)
    report = pytester.path / "junit.xml"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--junitxml={report}")
    result.assert_outcomes(passed=1, failed=2)
    cases = {case.get("name"): case for case in ET.parse(report).iter("testcase")}
    assert set(cases) == {"test_reads_are_safe", "test_every_sequence", "test_depth_first_helper"}
    assert cases["test_reads_are_safe"].find("failure") is None
    failure = cases["test_every_sequence"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("Failed: VenomQA found 3 violations (bfs: ")
    assert REFUND_PATH in (failure.text or "")
    assert f"POST {server.url}/orders/1/refund -> 200" in (failure.text or "")

    selected = pytester.runpytest("-p", "no:cacheprovider", "-k", "reads")
    selected.assert_outcomes(passed=1, deselected=2)
    selected = pytester.runpytest("-p", "no:cacheprovider", "-k", "every or helper")
    selected.assert_outcomes(failed=2, deselected=1)


def test_an_unreachable_api_is_an_error_not_a_failure(
    pytester: pytest.Pytester, shop: tuple[ApiProcess, Path]
) -> None:
    server, db = shop
    _project(pytester, server.url, db)
    server.stop()
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "reads or helper")
    result.assert_outcomes(errors=2, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_reads_are_safe _*",
            f"venomqa: TargetUnreachableError: the API under test at {server.url} is unreachable *",
            "*_ ERROR at setup of test_depth_first_helper _*",
            "venomqa: TargetUnreachableError: *",
        ]
    )
    assert "During handling" not in result.stdout.str()


def test_configuration_errors_name_the_file(
    pytester: pytest.Pytester, shop: tuple[ApiProcess, Path]
) -> None:
    server, db = shop
    pytester.makepyfile(test_shop=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "reads")
    result.assert_outcomes(errors=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_reads_are_safe _*",
            f"venomqa: no configuration file at "
            f"{pytester.path / 'venomqa.yaml'}: pass --venomqa-config PATH or set "
            "venomqa_config in the pytest ini file",
        ]
    )
    config = _project(pytester, server.url, db)
    config.write_text(config.read_text().replace("adapter: sqlite", "adapter: sqlight"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "reads")
    result.assert_outcomes(errors=1, deselected=2)
    result.stdout.fnmatch_lines(["venomqa: ConfigError: *venomqa.yaml*stores.db*sqlight*"])


def test_the_configuration_comes_from_the_option_or_the_ini_file(
    pytester: pytest.Pytester, shop: tuple[ApiProcess, Path]
) -> None:
    server, db = shop
    _project(pytester, "http://127.0.0.1:9", db, folder="qa")  # a port nothing listens on
    by_option = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "-k",
        "reads",
        "--venomqa-config",
        "qa/venomqa.yaml",
        "--venomqa-target",
        server.url,
    )
    by_option.assert_outcomes(passed=1, deselected=2)
    pytester.makeini("[pytest]\nvenomqa_config = qa/venomqa.yaml\n")
    by_ini = pytester.runpytest("-p", "no:cacheprovider", "-k", "reads")
    by_ini.assert_outcomes(errors=1, deselected=2)  # the file's target does not answer
    by_ini.stdout.fnmatch_lines(["*TargetUnreachableError*127.0.0.1:9*"])


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    heavy = ["httpx", "yaml", "venomqa.explorer", "venomqa.config", "venomqa.world"]
    code = (
        "import sys, venomqa.pytest_plugin\n"
        f"print([name for name in {heavy!r} if name in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_api_of_target_command_is_started_for_the_session(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    (pytester.path / "venomqa.yaml").write_text(
        "target:\n"
        "  url: http://127.0.0.1:{port}\n"
        '  command: ["{python}", -m, venomqa.demo.server, --db, "{stores.db.path}",'
        ' --port, "{port}"]\n'
        "actions: [venomqa.demo.checks]\n"
        f"stores:\n  db: {{adapter: sqlite, path: {db}}}\n"
        "explore: {max_depth: 2}\n"
    )
    pytester.makepyfile(test_shop=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["   1. create_order  POST http://127.0.0.1:*/orders -> 201"])
    assert "{port}" not in result.stdout.str()
    assert _orders(db) == 0
    running = subprocess.run(["pgrep", "-af", str(db)], capture_output=True, text=True).stdout
    assert [line for line in running.splitlines() if "venomqa.demo.server" in line] == []
