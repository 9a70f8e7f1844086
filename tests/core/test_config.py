"""venomqa.yaml loading: validation errors name the file, key path and expectation."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from venomqa.config import Config, build_stores, describe_store, load_config
from venomqa.discovery import collect, discover, import_modules
from venomqa.errors import ActionDefinitionError, ConfigError


@pytest.fixture(autouse=True)
def builtin_plugins_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from venomqa.plugins import reset_plugins

    monkeypatch.setenv("VENOMQA_LOAD_PLUGINS", "")
    reset_plugins()


def write(tmp_path: Path, text: str, name: str = "venomqa.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    assert str(path) in str(info.value), "every config error names the file"
    return info.value


def test_full_file_loads_with_defaults_and_resolved_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
target: http://127.0.0.1:8000/
actions: [shop_checks]
stores:
  db: {adapter: sqlite, path: ./data/app.db}
explore: {strategy: dfs, max_depth: 3, time_budget_s: 1.5, stop_on_first: true}
reports: [{format: json, path: reports/out.json}, {format: console}]
headers: {X-Tenant: acme}
timeout: 4
""",
    )
    config = load_config(path)
    assert isinstance(config, Config)
    assert config.target == "http://127.0.0.1:8000"
    assert config.actions == ["shop_checks"]
    assert config.folder == tmp_path
    assert config.stores["db"].adapter == "sqlite"
    assert config.stores["db"].options == {"path": str(tmp_path / "data" / "app.db")}
    assert config.explore.strategy == "dfs"
    assert config.explore.max_depth == 3
    assert config.explore.max_states == 10_000
    assert config.explore.time_budget_s == 1.5
    assert config.explore.stop_on_first is True
    assert config.reports[0].path == str(tmp_path / "reports" / "out.json")
    assert config.reports[1].path == str(tmp_path / "venomqa-report.txt")  # as --report console
    assert config.headers == {"X-Tenant": "acme"}
    assert config.client_auth() is None
    assert config.timeout == 4.0


def test_a_report_without_path_goes_to_the_default_file_beside_the_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "target: http://127.0.0.1:8000\nactions: []\n"
        "reports: [{format: json}, {format: json, path: '-'}]\n",
    )
    config = load_config(path)
    assert config.reports[0].path == str(tmp_path / "venomqa-report.json")
    assert config.reports[1].path == "-"  # standard output, as --report json:-


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://x:1\nexplore:\n  max_depth: [1, 2\nactions: []\n")
    error = error_of(path)
    assert "malformed YAML" in str(error)
    assert "line 4" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    error = error_of(tmp_path / "nope.yaml")
    assert "not found" in str(error)


def test_target_is_required_and_must_be_a_url(tmp_path: Path) -> None:
    assert "target: missing" in str(error_of(write(tmp_path, "actions: []\n")))
    error = error_of(write(tmp_path, "target: localhost:8000\n"))
    assert error.key == "target"
    assert "http://" in str(error)


def test_target_override_satisfies_the_requirement(tmp_path: Path) -> None:
    path = write(tmp_path, "explore: {max_depth: 2}\n")
    config = load_config(
        path, overrides={"target": "http://127.0.0.1:9", "explore": {"strategy": "random"}}
    )
    assert config.target == "http://127.0.0.1:9"
    assert (config.explore.strategy, config.explore.max_depth) == ("random", 2)


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ("explore: {max_depth: five}", "explore.max_depth", "expected an integer >= 0"),
        ("explore: {max_depth: true}", "explore.max_depth", "a boolean"),
        ("explore: {max_states: 0}", "explore.max_states", "expected an integer >= 1"),
        ("explore: {strategy: astar}", "explore.strategy", "bfs, dfs, random"),
        ("explore: {time_budget_s: -1}", "explore.time_budget_s", "> 0"),
        ("explore: {stop_on_first: 'yes'}", "explore.stop_on_first", "true or false"),
        ("explore: {max_dept: 3}", "explore.max_dept", "did you mean 'max_depth'"),
        ("explore: [1]", "explore", "expected a mapping"),
        ("colour: red", "colour", "unknown key"),
        ("actions: [shop_checks.py]", "actions[0]", "not a file name"),
        ("actions: [1]", "actions[0]", "non-empty string"),
        ("stores: {db: {path: x.db}}", "stores.db.adapter", "missing"),
        ("stores: {db: sqlite}", "stores.db", "expected a mapping"),
        ("reports: [{format: pdf, path: x.pdf}]", "reports[0].format", "known formats: "),
        ("reports: {format: json}", "reports", "expected a list"),
        ("auth: {type: oauth}", "auth.type", "bearer, api_key, basic"),
        ("auth: {type: bearer}", "auth.token", "non-empty string"),
        ("headers: {X-A: [1]}", "headers.X-A", "expected a string"),
        ("timeout: 0", "timeout", "> 0"),
    ],
)
def test_bad_values_name_the_key_path(tmp_path: Path, body: str, key: str, expected: str) -> None:
    error = error_of(write(tmp_path, f"target: http://127.0.0.1:1\n{body}\n"))
    assert error.key == key
    assert f": {key}: " in str(error)
    assert expected in str(error)


def test_unknown_adapter_lists_the_known_ones(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "target: http://a:1\nstores: {db: {adapter: mongo}}\n"))
    assert error.key == "stores.db.adapter"
    assert "unknown adapter 'mongo'" in str(error)
    assert "known adapters: sqlite" in str(error)


def test_environment_interpolation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "target: ${SHOP_URL:-http://127.0.0.1:1}\n"
        "auth: {type: bearer, token: '${SHOP_TOKEN}'}\n"
        "headers: {X-Cost: '$$5'}\n",
    )
    config = load_config(path, env={"SHOP_TOKEN": "s3cret"})
    assert config.target == "http://127.0.0.1:1"
    assert config.headers == {"X-Cost": "$5"}
    assert sent_headers(config)["Authorization"] == "Bearer s3cret"
    config = load_config(path, env={"SHOP_TOKEN": "t", "SHOP_URL": "http://h:2"})
    assert config.target == "http://h:2"


def test_missing_environment_variable_names_variable_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://a:1\nauth: {type: bearer, token: '${NO_SUCH_VAR}'}\n")
    error = error_of(path, env={})
    assert error.key == "auth.token"
    assert "NO_SUCH_VAR is not set" in str(error)


def test_basic_and_api_key_auth_headers(tmp_path: Path) -> None:
    basic = load_config(
        write(tmp_path, "target: http://a:1\nauth: {type: basic, username: u, password: p}\n")
    )
    assert sent_headers(basic)["Authorization"] == "Basic dTpw"
    key = load_config(
        write(tmp_path, "target: http://a:1\nauth: {type: api_key, key: k, header: X-Key}\n")
    )
    assert sent_headers(key)["X-Key"] == "k"


def sent_headers(config: Any) -> Any:
    """The headers a request carries once the configured authentication has run."""
    import httpx

    auth = config.client_auth()
    assert auth is not None
    return next(auth.auth_flow(httpx.Request("GET", config.target))).headers


def test_build_stores_passes_options_and_reports_bad_ones(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    sqlite3.connect(db).close()
    config = load_config(
        write(tmp_path, "target: http://a:1\nstores: {db: {adapter: sqlite, path: app.db}}\n")
    )
    stores = build_stores(config)
    assert type(stores["db"]).__name__ == "SQLiteStore"
    assert describe_store(config.stores["db"]) == f"adapter sqlite, path {db}"

    bad = load_config(
        write(tmp_path, "target: http://a:1\nstores: {db: {adapter: sqlite, pth: app.db}}\n")
    )
    with pytest.raises(ConfigError) as info:
        build_stores(bad)
    assert info.value.key == "stores.db"
    assert "pth" in str(info.value)


def test_describe_store_hides_passwords() -> None:
    from venomqa.config import StoreConfig

    entry = StoreConfig("db", "postgres", {"dsn": "postgresql://bob:hunter2@db/shop"})
    assert describe_store(entry) == "adapter postgres, dsn postgresql://bob:***@db/shop"


def test_discovery_imports_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "disc_a.py").write_text(
        "from venomqa import action, invariant, Journey, Step, StateGraph\n"
        "@action\ndef first(api, ctx): pass\n"
        "@action\ndef second(api, ctx): pass\n"
        "@invariant\ndef rule(world): return True\n"
        "journey = Journey('j', steps=[Step('s', lambda api, ctx: None)])\n"
        "graph = StateGraph('g')\n"
    )
    (tmp_path / "disc_b.py").write_text(
        "from disc_a import first\nfrom venomqa import action\n@action\ndef third(api, ctx): pass\n"
    )
    found = discover(["disc_a", "disc_b"], tmp_path)
    assert [a.name for a in found.actions] == ["first", "second", "third"]
    assert [i.name for i in found.invariants] == ["rule"]
    assert [j.name for j in found.journeys] == ["j"]
    assert [g.name for g in found.graphs] == ["g"]
    assert str(tmp_path) not in __import__("sys").path


def test_discovery_rejects_two_actions_with_one_name(tmp_path: Path) -> None:
    for name in ("dup_a", "dup_b"):
        (tmp_path / f"{name}.py").write_text(
            "from venomqa import action\n@action\ndef same(api, ctx): pass\n"
        )
    with pytest.raises(ActionDefinitionError, match="'dup_a' and 'dup_b'"):
        collect(import_modules(["dup_a", "dup_b"], tmp_path))


def test_failing_module_is_a_config_error_naming_module_and_key(tmp_path: Path) -> None:
    (tmp_path / "broken_checks.py").write_text("import not_a_real_module_xyz\n")
    with pytest.raises(ConfigError) as info:
        import_modules(["broken_checks"], tmp_path, file="cfg.yaml")
    assert info.value.key == "actions[0]"
    assert "broken_checks" in str(info.value)
    assert "not_a_real_module_xyz" in str(info.value)
    assert str(info.value).startswith("cfg.yaml: actions[0]: ")
    with pytest.raises(ConfigError, match=r"actions\[1\].*no_such_mod"):
        import_modules(["json", "no_such_mod"], tmp_path)


def test_module_is_reimported_fresh(tmp_path: Path) -> None:
    (tmp_path / "fresh_checks.py").write_text(
        "from venomqa import action\n@action\ndef a1(api, ctx): pass\n"
    )
    assert [a.name for a in discover(["fresh_checks"], tmp_path).actions] == ["a1"]
    (tmp_path / "fresh_checks.py").write_text(
        "from venomqa import action\n@action\ndef a22(api, ctx): pass\n"
    )
    assert [a.name for a in discover(["fresh_checks"], tmp_path).actions] == ["a22"]
