"""The sources hook (``venomqa_register_sources``): a made-up third-party plugin, installed as a
distribution with an entry point and loaded through the real plugin manager, owns a top-level
section of venomqa.yaml (``recorded:``, a list of recorded calls as a HAR plugin might make) and
contributes actions and an invariant that ``venomqa run`` explores against the demo shop over
real HTTP, beside the user's own module and sharing ctx. Its section reaches it interpolated; a
section without its plugin, a bad section, a name clash and a duplicate source are clear errors.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import venomqa.plugins as plugins
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.demo import init_schema, start_demo_server
from venomqa.errors import DuplicateNameError
from venomqa.testing.server import ApiProcess

SOURCE_PLUGIN = '''
"""A source that turns recorded calls into actions (a stand-in for a HAR or GraphQL plugin)."""
from venomqa import Invariant, hookimpl
from venomqa.errors import ConfigError
from venomqa.models import Action
from venomqa.ports import Contribution

SEEN = []  # (section, config path) per instance: what the plugin was given


class RecordedCalls:
    name = "recorded"

    def __init__(self, section, config):
        SEEN.append((section, str(config.path)))
        if not isinstance(section, dict) or not isinstance(section.get("calls"), list):
            raise ConfigError("expected {calls: [...]}", file=str(config.path), key="recorded")
        self.calls = section["calls"]
        self.max_orders = int(section.get("max_orders", 100))

    def contribute(self):
        made = Contribution()
        for call in self.calls:
            def run(api, ctx, call=call):
                ctx["recorded_calls"] = ctx.get("recorded_calls", 0) + 1
                return api.request(call["method"], call["path"], json=call.get("json"))
            made.actions.append(Action(name=call["name"], fn=run))

        def few_orders(world):
            count = len(world.api.get("/orders").json()["orders"])
            assert count <= self.max_orders, f"{count} orders"
            return True

        name = f"at most {self.max_orders} orders"
        made.invariants.append(Invariant(name=name, check=few_orders))
        return made


@hookimpl
def venomqa_register_sources():
    return [RecordedCalls]
'''

SAME_NAME = """
from venomqa import hookimpl

class Other:
    name = "recorded"
    def __init__(self, section, config): ...
    def contribute(self): ...

@hookimpl
def venomqa_register_sources():
    return [Other]
"""

#: A user's module next to the section: reads the ctx the source's actions write.
USER_MODULE = """
from venomqa import action, invariant

@action(requires=lambda ctx: ctx.get("recorded_calls", 0) >= 1)
def list_again(api, ctx):
    return api.get("/orders")

@invariant
def recorded_calls_counted(world):
    return world.ctx.get("recorded_calls", 0) <= 2
"""

PLUGINS = {"recorded": ("venomqa-recorded", "venomqa_recorded", SOURCE_PLUGIN)}
PLUGINS["samename"] = ("venomqa-samename", "venomqa_samename", SAME_NAME)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The made-up distributions installed on sys.path (entry points included)."""
    folder = tmp_path / "site"
    folder.mkdir()
    for ep_name, (dist, module, source) in PLUGINS.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
        info = folder / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[venomqa]\n{ep_name} = {module}\n")
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "recorded")
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    plugins.reset_plugins()
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        for _, module, _ in PLUGINS.values():
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        plugins.reset_plugins()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[ApiProcess, Path]]:
    db = tmp_path / "shop.db"
    init_schema(str(db))
    with start_demo_server(db) as server:
        yield server, db


def _config(folder: Path, target: str, db: Path, section: str, extra: str = "") -> Path:
    config = folder / "venomqa.yaml"
    config.write_text(
        f"target: {target}\n{section}stores:\n  db: {{adapter: sqlite, path: {db}}}\n"
        "explore: {max_depth: 3}\n" + extra
    )
    return config


RECORDED = (
    "recorded:\n"
    "  max_orders: ${MAX_ORDERS}\n"
    "  calls:\n"
    "    - {name: create_order, method: POST, path: /orders, json: {amount: 10}}\n"
    "    - {name: list_orders, method: GET, path: /orders}\n"
)


def test_a_source_plugin_contributes_actions_and_invariants_to_a_run(
    site: Path, shop: tuple[ApiProcess, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, db = shop
    (tmp_path / "user_checks.py").write_text(USER_MODULE)
    config = _config(tmp_path, server.url, db, RECORDED, "actions: [user_checks]\n")
    monkeypatch.setenv("MAX_ORDERS", "2")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = tmp_path / "report.json"
    args = ["run", "-c", str(config), "--report", f"json:{report}", "--no-console"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    seen = sys.modules["venomqa_recorded"].SEEN
    assert seen[-1][1] == str(config)
    assert seen[-1][0]["max_orders"] == "2"  # the environment was interpolated
    data = json.loads(report.read_text())
    found = {v["invariant"]: v["path"] for v in data["violations"]}
    assert set(found) == {"at most 2 orders", "recorded_calls_counted"}
    # the source's invariant, with the shortest path the source's actions make
    assert found["at most 2 orders"] == ["create_order", "create_order", "create_order"]
    # the user's invariant reads the ctx the source's actions wrote: three recorded calls
    mine = found["recorded_calls_counted"]
    assert len(mine) == 3 and set(mine) <= {"create_order", "list_orders"}, mine
    fired = data["actions"]
    assert fired["create_order"] > 0 and fired["list_orders"] > 0
    assert fired["list_again"] > 0  # enabled by the ctx the source's actions wrote


def test_without_its_plugin_the_section_is_an_unknown_key(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "")
    plugins.reset_plugins()
    config = _config(tmp_path, "http://127.0.0.1:9", tmp_path / "x.db", "recorded: {calls: []}\n")
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert str(config) in result.output and "recorded" in result.output
    assert "unknown" in result.output


def test_a_bad_section_is_the_sources_config_error(site: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9", tmp_path / "x.db", "recorded: [1, 2]\n")
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert str(config) in result.output and "recorded" in result.output
    assert "expected {calls: [...]}" in result.output


def test_a_name_taken_by_the_users_module_is_refused(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clash_checks.py").write_text(
        "from venomqa import action\n\n@action\ndef create_order(api, ctx):\n"
        "    return api.get('/orders')\n"
    )
    monkeypatch.setenv("MAX_ORDERS", "2")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = _config(
        tmp_path, "http://127.0.0.1:9", tmp_path / "x.db", RECORDED, "actions: [clash_checks]\n"
    )
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert "two different actions are named 'create_order'" in result.output
    assert "'recorded' section" in result.output


def test_two_plugins_claiming_one_section_name_both_plugins(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "recorded,samename")
    plugins.reset_plugins()
    with pytest.raises(DuplicateNameError) as caught:
        plugins.sources()
    message = str(caught.value)
    assert "'recorded'" in message
    assert "venomqa-recorded" in message and "venomqa-samename" in message


def test_plugins_list_shows_the_source(site: Path) -> None:
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    [info] = [p for p in json.loads(result.output) if p["name"] == "recorded"]
    assert info["sources"] == ["recorded"] and info["error"] is None
