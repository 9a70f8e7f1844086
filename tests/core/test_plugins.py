"""The plugin system, with real distributions on disk found through importlib.metadata.

Each test builds tiny installed distributions (a module plus a ``*.dist-info`` folder with
METADATA and entry_points.txt) in tmp_path, puts that folder on sys.path, and selects which load
with VENOMQA_LOAD_PLUGINS, so plugins installed on this machine cannot change the outcome.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import venomqa.plugins as plugins
from click.testing import CliRunner
from venomqa.cli.plugins_cmd import plugins as plugins_group
from venomqa.errors import DuplicateNameError, PluginError

GOOD = """
from venomqa import hookimpl

CONFIGS = []

class FolderStore:
    name = "folder"
    def __init__(self, path): self.path = path
    def setup(self): pass
    def teardown(self): pass
    def checkpoint(self): return 0
    def rollback(self, token): pass
    def fingerprint(self): return ""
    def observe(self): return {}

class TallyReporter:
    name = "tally"
    def __init__(self, path=None, **options): self.path = path
    def report(self, run): pass

@hookimpl
def venomqa_register_adapters():
    return [FolderStore]

@hookimpl
def venomqa_register_reporters():
    return [TallyReporter]

@hookimpl
def venomqa_register_commands(cli):
    import click

    @cli.command(name="hello")
    def hello():
        click.echo("hello from goodplug")

@hookimpl
def venomqa_configure(config):
    CONFIGS.append(config)
"""

BROKEN = """
raise ImportError("goodbye cruel world: brokenplug needs a missing library")
"""

DUPLICATE = """
from venomqa import hookimpl

class OtherFolderStore:
    name = "folder"
    def setup(self): pass
    def teardown(self): pass
    def checkpoint(self): return 0
    def rollback(self, token): pass
    def fingerprint(self): return ""
    def observe(self): return {}

@hookimpl
def venomqa_register_adapters():
    return [OtherFolderStore]
"""

INCOMPLETE = """
from venomqa import hookimpl

class HalfStore:
    name = "half"
    def setup(self): pass
    def teardown(self): pass
    def checkpoint(self): return 0

@hookimpl
def venomqa_register_adapters():
    return [HalfStore]
"""

MISSPELT = """
from venomqa import hookimpl

@hookimpl
def venomqa_register_adaptors():
    return []
"""

BAD_COMMANDS = """
from venomqa import hookimpl

@hookimpl
def venomqa_register_commands(cli):
    raise RuntimeError("commands exploded")
"""

BAD_SIGNATURE = """
from venomqa import hookimpl

@hookimpl
def venomqa_register_adapters(unknown_argument):
    return []
"""

STRATEGY = """
from collections import deque

from venomqa import hookimpl
from venomqa.explorer import StopReason


class LastMoveFirst:
    \"\"\"Breadth-first, trying each state's moves in reverse order.\"\"\"

    name = "last-move-first"
    shortest_paths = True

    def search(self, search):
        queue = deque([search.root])
        cut = False
        while queue:
            state = queue.popleft()
            for index in reversed(state.enabled):
                arrival = search.fire(state, state.route, index)
                if arrival is None:
                    break
                if arrival.is_new:
                    if len(arrival.route) < search.max_depth:
                        queue.append(arrival.state)
                    elif arrival.state.enabled:
                        cut = True
        return StopReason.MAX_DEPTH if cut else StopReason.EXHAUSTED


class NoSearch:
    name = "no-search"
    shortest_paths = False


@hookimpl
def venomqa_register_strategies():
    return [LastMoveFirst]
"""

BAD_STRATEGY = STRATEGY.replace("return [LastMoveFirst]", "return [NoSearch]")

CRASH_AT_IMPORT = """
raise RuntimeError("crashplug cannot read its settings")
"""

EXIT_AT_IMPORT = """
import sys

sys.exit("exitplug refuses to load")
"""

SYNTAX_ERROR = """
def broken(:
    pass
"""

HOOK_RAISES = """
from venomqa import hookimpl

@hookimpl
def venomqa_register_adapters():
    raise ValueError("adapters exploded")
"""

WRONG_TYPES = """
from venomqa import hookimpl

@hookimpl
def venomqa_register_adapters():
    return "folder"

@hookimpl
def venomqa_register_reporters():
    return [42]
"""

PLUGINS = {
    # entry point name: (distribution, module name, source)
    "goodplug": ("venomqa-goodplug", "venomqa_goodplug", GOOD),
    "brokenplug": ("venomqa-brokenplug", "venomqa_brokenplug", BROKEN),
    "dupplug": ("venomqa-dupplug", "venomqa_dupplug", DUPLICATE),
    "halfplug": ("venomqa-halfplug", "venomqa_halfplug", INCOMPLETE),
    "typoplug": ("venomqa-typoplug", "venomqa_typoplug", MISSPELT),
    "cmdplug": ("venomqa-cmdplug", "venomqa_cmdplug", BAD_COMMANDS),
    "sigplug": ("venomqa-sigplug", "venomqa_sigplug", BAD_SIGNATURE),
    "stratplug": ("venomqa-stratplug", "venomqa_stratplug", STRATEGY),
    "badstrat": ("venomqa-badstrat", "venomqa_badstrat", BAD_STRATEGY),
    "crashplug": ("venomqa-crashplug", "venomqa_crashplug", CRASH_AT_IMPORT),
    "exitplug": ("venomqa-exitplug", "venomqa_exitplug", EXIT_AT_IMPORT),
    "syntaxplug": ("venomqa-syntaxplug", "venomqa_syntaxplug", SYNTAX_ERROR),
    "raiseplug": ("venomqa-raiseplug", "venomqa_raiseplug", HOOK_RAISES),
    "typeplug": ("venomqa-typeplug", "venomqa_typeplug", WRONG_TYPES),
}


def _write_distribution(site: Path, ep_name: str, dist: str, module: str, source: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(f"[venomqa]\n{ep_name} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of installed test plugins on sys.path; removed (with its modules) afterwards."""
    folder = tmp_path / "site"
    folder.mkdir()
    for ep_name, (dist, module, source) in PLUGINS.items():
        _write_distribution(folder, ep_name, dist, module, source)
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "")
    monkeypatch.delenv(plugins.DISABLE_PLUGINS_ENV, raising=False)
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


def _load(monkeypatch: pytest.MonkeyPatch, names: str) -> dict[str, plugins.PluginInfo]:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, names)
    plugins.reset_plugins()
    return {info.name: info for info in plugins.plugin_infos()}


def test_empty_selection_loads_only_the_builtin_plugin(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "")
    assert list(infos) == ["builtin"]
    builtin = infos["builtin"]
    assert builtin.distribution == "venomqa-core"
    assert builtin.version == importlib.metadata.version("venomqa-core")
    assert builtin.entry_point == "venomqa.plugins.builtin"


def test_builtin_plugin_registers_sqlite_and_reporters(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "")
    assert infos["builtin"].error is None, infos["builtin"].error
    from venomqa.reporters.console import ConsoleReporter
    from venomqa.reporters.json_report import JsonReporter
    from venomqa.stores.sqlite import SQLiteStore

    assert plugins.adapters() == {"sqlite": SQLiteStore}
    assert plugins.reporters() == {
        ConsoleReporter.name: ConsoleReporter,
        JsonReporter.name: JsonReporter,
    }
    assert infos["builtin"].adapters == ["sqlite"]


def test_good_third_party_plugin_is_discovered_through_its_entry_point(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "goodplug")
    good = infos["goodplug"]
    assert good.error is None
    assert (good.distribution, good.version, good.entry_point) == (
        "venomqa-goodplug",
        "0.3.1",
        "venomqa_goodplug",
    )
    assert good.adapters == ["folder"]
    assert good.reporters == ["tally"]
    assert good.commands == ["hello"]
    module = sys.modules["venomqa_goodplug"]
    assert plugins.get_plugin_manager().get_plugin("goodplug") is module
    assert plugins.adapters()["folder"] is module.FolderStore
    assert plugins.reporters()["tally"] is module.TallyReporter


def test_broken_plugin_is_recorded_with_its_error_and_others_still_load(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "brokenplug,goodplug")
    broken = infos["brokenplug"]
    assert broken.error is not None
    assert "ImportError" in broken.error and "goodbye cruel world" in broken.error
    assert "venomqa_brokenplug" in broken.error
    assert broken.distribution == "venomqa-brokenplug"
    assert infos["goodplug"].error is None
    assert plugins.get_plugin_manager().get_plugin("brokenplug") is None


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("crashplug", "RuntimeError: crashplug cannot read its settings"),
        ("exitplug", "SystemExit: exitplug refuses to load"),
        ("syntaxplug", "SyntaxError"),
    ],
)
def test_any_failure_at_import_is_recorded_and_the_rest_works(
    site: Path, monkeypatch: pytest.MonkeyPatch, name: str, shown: str
) -> None:
    infos = _load(monkeypatch, f"{name},goodplug")
    error = infos[name].error
    assert error is not None and shown in error and f"venomqa_{name}" in error
    assert infos["goodplug"].error is None
    assert "folder" in plugins.adapters()  # the good plugin still registers its adapter
    listed = CliRunner().invoke(plugins_group, ["list"])
    assert listed.exit_code == 0, listed.output
    assert name in listed.output and "goodplug" in listed.output


def test_a_hook_that_raises_or_returns_the_wrong_type_is_that_plugins_error(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "raiseplug,typeplug,goodplug")
    plugins.reset_plugins()
    with pytest.raises(PluginError) as adapters_error:
        plugins.adapters()
    message = str(adapters_error.value)
    assert "raiseplug" in message and "adapters exploded" in message
    with pytest.raises(PluginError) as reporters_error:
        plugins.reporters()
    assert "typeplug" in str(reporters_error.value) and "42" in str(reporters_error.value)
    infos = {info.name: info for info in plugins.plugin_infos()}
    assert infos["raiseplug"].error is not None and "ValueError" in infos["raiseplug"].error
    typed = infos["typeplug"].error
    assert typed is not None and "must return a list of classes, got str" in typed
    assert "42, which is not a class" in typed
    assert infos["goodplug"].error is None
    listed = CliRunner().invoke(plugins_group, ["list", "--json"])
    assert listed.exit_code == 0, listed.output


def test_duplicate_adapter_name_names_both_plugins(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "goodplug,dupplug")
    for name in ("goodplug", "dupplug"):  # neither wins: both are shown with the clash
        error = infos[name].error
        assert error is not None and "'folder'" in error and "registered twice" in error
    with pytest.raises(DuplicateNameError) as caught:
        plugins.adapters()
    message = str(caught.value)
    assert "'folder'" in message
    assert "goodplug" in message and "venomqa-goodplug" in message
    assert "dupplug" in message and "venomqa-dupplug" in message


def test_adapter_missing_contract_methods_is_a_plugin_error(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "halfplug")
    error = infos["halfplug"].error
    assert error is not None
    for method in ("rollback", "fingerprint", "observe"):
        assert method in error
    with pytest.raises(PluginError) as caught:
        plugins.adapters()
    assert "halfplug" in str(caught.value) and "rollback" in str(caught.value)
    assert not isinstance(caught.value, DuplicateNameError)


def test_misspelt_hook_is_reported_for_that_plugin_not_raised(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "typoplug,goodplug")
    error = infos["typoplug"].error
    assert error is not None and "venomqa_register_adaptors" in error
    assert "venomqa_register_adapters" in error  # the known hooks are listed
    assert infos["goodplug"].error is None
    assert plugins.get_plugin_manager().get_plugin("typoplug") is None


def test_invalid_hookimpl_signature_is_reported(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "sigplug")
    error = infos["sigplug"].error
    assert error is not None and "unknown_argument" in error


def test_requested_plugin_that_is_not_installed_is_shown_as_broken(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "goodplug,nosuchplug")
    assert infos["nosuchplug"].error is not None
    assert "nosuchplug" in infos["nosuchplug"].error
    assert plugins.LOAD_PLUGINS_ENV in infos["nosuchplug"].error


def test_unset_selection_loads_every_entry_point_and_disable_blocks(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(plugins.LOAD_PLUGINS_ENV)
    monkeypatch.setenv(plugins.DISABLE_PLUGINS_ENV, "brokenplug, typoplug")
    plugins.reset_plugins()
    names = {info.name for info in plugins.plugin_infos()}
    assert {"builtin", "goodplug", "dupplug", "halfplug", "cmdplug"} <= names
    assert "brokenplug" not in names and "typoplug" not in names


def test_manager_loads_once_until_reset(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "goodplug")
    first = plugins.get_plugin_manager()
    assert plugins.get_plugin_manager() is first
    assert first.project_name == "venomqa"
    plugins.reset_plugins()
    assert plugins.get_plugin_manager() is not first


def test_register_commands_adds_commands_and_survives_a_failing_plugin(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "cmdplug,goodplug")
    plugins.reset_plugins()
    cli = click.Group("venomqa")
    plugins.register_commands(cli)
    assert "hello" in cli.commands
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0 and "hello from goodplug" in result.output
    infos = {info.name: info for info in plugins.plugin_infos()}
    error = infos["cmdplug"].error
    assert error is not None and "commands exploded" in error


def test_configure_is_historic(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "goodplug")
    plugins.reset_plugins()
    config = object()
    plugins.configure(config)
    assert [config] == sys.modules["venomqa_goodplug"].CONFIGS

    class LatePlugin:
        seen: list[object] = []

        @plugins.hookimpl
        def venomqa_configure(self, config: object) -> None:
            self.seen.append(config)

    late = LatePlugin()
    plugins.get_plugin_manager().register(late, name="late")
    assert late.seen == [config]


def _cli() -> click.Group:
    cli = click.Group("venomqa")
    cli.add_command(plugins_group)
    return cli


def test_plugins_list_json(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "goodplug,brokenplug")
    plugins.reset_plugins()
    result = CliRunner().invoke(_cli(), ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {entry["name"]: entry for entry in json.loads(result.output)}
    assert set(listed) == {"builtin", "goodplug", "brokenplug"}
    keys = {
        "name",
        "distribution",
        "version",
        "entry_point",
        "adapters",
        "reporters",
        "commands",
        "error",
        "strategies",
        "sources",
        "backends",
    }
    assert all(set(entry) == keys for entry in listed.values())
    assert listed["builtin"]["distribution"] == "venomqa-core"
    assert listed["builtin"]["backends"] == ["local", "processes"]
    assert listed["goodplug"] == {
        "name": "goodplug",
        "distribution": "venomqa-goodplug",
        "version": "0.3.1",
        "entry_point": "venomqa_goodplug",
        "adapters": ["folder"],
        "reporters": ["tally"],
        "commands": ["hello"],
        "error": None,
        "strategies": [],
        "sources": [],
        "backends": [],
    }
    assert "goodbye cruel world" in listed["brokenplug"]["error"]


def test_plugins_list_table(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "goodplug,brokenplug")
    plugins.reset_plugins()
    result = CliRunner().invoke(_cli(), ["plugins", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "PROVIDES", "STATUS"]
    good_row = next(line for line in lines if line.startswith("goodplug"))
    assert "venomqa-goodplug" in good_row and "0.3.1" in good_row
    assert "adapters: folder" in good_row and "reporters: tally" in good_row
    assert good_row.rstrip().endswith("ok")
    broken_row = next(line for line in lines if line.startswith("brokenplug"))
    assert "BROKEN" in broken_row
    assert any("brokenplug" in line and "goodbye cruel world" in line for line in lines)
    assert any(line.startswith("builtin") and "venomqa-core" in line for line in lines)


def test_plugins_list_does_not_import_the_http_client(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys, click\n"
        "from venomqa.cli.plugins_cmd import plugins\n"
        "from click.testing import CliRunner\n"
        "g = click.Group('venomqa'); g.add_command(plugins)\n"
        "r = CliRunner().invoke(g, ['plugins', 'list', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = ('httpx', 'venomqa.explorer._engine', 'venomqa.world')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**_clean_env(), plugins.LOAD_PLUGINS_ENV: ""}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("VENOMQA_")}


def test_a_plugin_adds_a_strategy_that_explores_on_the_same_engine(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from _support_explorer import SHOP_ACTIONS, MemoryStore, ShopApp, never_over_refunded
    from venomqa.client import Client
    from venomqa.explorer import explore
    from venomqa.world import World

    infos = _load(monkeypatch, "stratplug")
    assert infos["stratplug"].error is None
    assert infos["stratplug"].strategies == ["last-move-first"]
    assert infos["builtin"].strategies == ["bfs", "dfs", "random"]
    assert sorted(plugins.strategies()) == ["bfs", "dfs", "last-move-first", "random"]

    def run(strategy: str) -> Any:
        store = MemoryStore()
        world = World(Client(app=ShopApp(store)), {"db": store})
        return explore(world, SHOP_ACTIONS, [never_over_refunded], strategy=strategy, max_depth=4)

    plugged, bfs = run("last-move-first"), run("bfs")
    assert plugged.strategy == "last-move-first"
    assert plugged.states == bfs.states
    assert [v.path for v in plugged.violations] == [v.path for v in bfs.violations]
    assert [e.action for e in plugged.state_edges] != [e.action for e in bfs.state_edges]

    config = tmp_path / "venomqa.yaml"
    config.write_text("target: http://127.0.0.1:1\nactions: [shop]\nexplore: {strategy: nope}\n")
    result = CliRunner().invoke(_cli(), ["run", "-c", str(config)])
    assert result.exit_code == 2
    assert "expected one of bfs, dfs, last-move-first, random, got 'nope'" in result.output


def test_a_strategy_without_a_search_method_is_a_plugin_error(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infos = _load(monkeypatch, "badstrat")
    assert "strategy 'no-search' (NoSearch) has no search(search) method" in str(
        infos["badstrat"].error
    )
    with pytest.raises(PluginError, match="no-search"):
        plugins.strategies()


def _cli() -> click.Group:
    from venomqa.cli.main import cli

    return cli
