"""``target:`` as a mapping in venomqa.yaml: what loads into ``Config.launch``, and every mistake
reported at load time with the file and the key (a misspelt placeholder included)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from venomqa.config import load_config
from venomqa.errors import ConfigError
from venomqa.target import DEFAULT_READY_TIMEOUT_S, TargetSpec

STORES = "stores:\n  db: {adapter: sqlite, path: data/app.db}\n"


def _load(folder: Path, target: str, stores: str = STORES) -> object:
    (folder / "data").mkdir(exist_ok=True)
    path = folder / "venomqa.yaml"
    path.write_text(textwrap.dedent(target) + stores)
    return load_config(path)


def _error(folder: Path, target: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(folder, target)
    assert caught.value.file == str(folder / "venomqa.yaml")
    return caught.value


def test_a_mapping_with_a_command_becomes_the_launch_spec(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """\
        target:
          url: http://127.0.0.1:{port}/api/
          command: [uvicorn, app:app, --port, "{port}", --workers, 2]
          env: {DATABASE: "{stores.db.path}", DEBUG: true}
          ready: /health
        """,
    )
    assert config.target == "http://127.0.0.1:{port}/api"
    assert config.launch == TargetSpec(
        url="http://127.0.0.1:{port}/api",
        command=("uvicorn", "app:app", "--port", "{port}", "--workers", "2"),
        env={"DATABASE": "{stores.db.path}", "DEBUG": "true"},
        ready="/health",
        ready_timeout_s=DEFAULT_READY_TIMEOUT_S,
        cwd=str(tmp_path),  # the file's folder
        file=str(tmp_path / "venomqa.yaml"),
    )
    launch = config.launch.render(port=8123, stores=config.store_options())
    assert launch.url == "http://127.0.0.1:8123/api"
    assert launch.ready_url == "http://127.0.0.1:8123/api/health"
    assert launch.command == ("uvicorn", "app:app", "--port", "8123", "--workers", "2")
    assert launch.env == {"DATABASE": str(tmp_path / "data" / "app.db"), "DEBUG": "true"}


def test_a_shell_string_is_kept_and_its_values_are_quoted(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """\
        target:
          url: http://127.0.0.1:{port}
          command: "cd app && {python} -m app --port {port} --db {stores.db.path} | cat {{x}}"
          ready: http://127.0.0.1:{port}/up
          ready_timeout: 5
          stop_timeout: 0.5
          cwd: data
        """,
        stores="stores:\n  db: {adapter: sqlite, path: data/my app.db}\n",
    )
    assert config.launch is not None
    assert config.launch.ready_timeout_s == 5.0 and config.launch.stop_timeout_s == 0.5
    assert config.launch.cwd == str(tmp_path / "data")
    launch = config.launch.render(port=9, stores=config.store_options(), python="/bin/py")
    db = tmp_path / "data" / "my app.db"
    assert launch.command == f"cd app && /bin/py -m app --port 9 --db '{db}' | cat {{x}}"
    assert launch.ready_url == "http://127.0.0.1:9/up"


def test_a_plain_url_and_a_mapping_without_command_start_nothing(tmp_path: Path) -> None:
    plain = _load(tmp_path, "target: http://127.0.0.1:8000/\n")
    assert (plain.target, plain.launch) == ("http://127.0.0.1:8000", None)
    mapped = _load(tmp_path, "target: {url: 'http://127.0.0.1:8000'}\n")
    assert (mapped.target, mapped.launch) == ("http://127.0.0.1:8000", None)


def test_target_given_as_an_override_replaces_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "venomqa.yaml"
    path.write_text("target: {url: 'http://127.0.0.1:{port}', command: [app, '{port}']}\n")
    config = load_config(path, overrides={"target": "http://127.0.0.1:9000"})
    assert (config.target, config.launch) == ("http://127.0.0.1:9000", None)


@pytest.mark.parametrize(
    ("target", "key", "message"),
    [
        (
            "target: {url: 'http://127.0.0.1:{port}', command: [app, '{port}', '{stores.db.pth}']}",
            "target.command[2]",
            "{stores.db.pth}: store 'db' has no option 'pth' (its options in the file: path)",
        ),
        (
            "target: {url: 'http://127.0.0.1:{port}', command: [app, '{port}', '{foo}']}",
            "target.command[2]",
            "unknown placeholder {foo}; known: {port}, {python}, {stores.KEY.OPTION}",
        ),
        (
            "target:\n  url: http://127.0.0.1:{port}\n  command: app {port}\n"
            "  env: {DATABASE_URL: '{stores.pg.dsn}'}",
            "target.env.DATABASE_URL",
            "{stores.pg.dsn}: there is no store 'pg' (stores: db)",
        ),
        (
            "target: {url: 'http://127.0.0.1:{port}', command: 'app --port {port} {'}",
            "target.command",
            "a lone '{' in 'app --port {port} {'; write {{ for a literal brace",
        ),
        (
            "target: {url: 'http://h/{stores.db}', command: [app]}",
            "target.url",
            "unknown placeholder {stores.db}",
        ),
        ("target: {command: [app]}", "target.url", "missing: expected the API's base URL"),
        ("target: {url: 'ftp://h', command: [app]}", "target.url", "expected an http://"),
        ("target: [http://h]", "target", "expected the API's base URL or a mapping"),
        ("target: {url: 'http://h', command: []}", "target.command", "got a list ([])"),
        ("target: {url: 'http://h', command: '  '}", "target.command", "got an empty string"),
        ("target: {url: 'http://h', command: 7}", "target.command", "expected the program"),
        ("target: {url: 'http://h', command: [app, {a: 1}]}", "target.command[1]", "a string"),
        ("target: {url: 'http://h', command: ['', x]}", "target.command[0]", "the program"),
        ("target: {url: 'http://h', command: null}", "target.command", "needs a command"),
        ("target: {url: 'http://h', command: [app], env: [A]}", "target.env", "a mapping"),
        ("target: {url: 'http://h', command: [app], env: {A: null}}", "target.env.A", "string"),
        ("target: {url: 'http://h', command: [app], ready: health}", "target.ready", "a path"),
        (
            "target: {url: 'http://h', command: [app], ready_timeout: 0}",
            "target.ready_timeout",
            "expected a number of seconds > 0",
        ),
        (
            "target: {url: 'http://h', command: [app], stop_timeout: soon}",
            "target.stop_timeout",
            "expected a number of seconds > 0",
        ),
        ("target: {url: 'http://h', command: [app], cwd: nowhere}", "target.cwd", "not found"),
        (
            "target: {url: 'http://h', command: [app], redy: /}",
            "target.redy",
            "unknown key (did you mean 'ready'?)",
        ),
        ("target: {url: 'http://h', ready: /health}", "target.ready", "needs a command"),
        (
            "target: {url: 'http://127.0.0.1:{port}'}",
            "target.url",
            "placeholders such as {port} need target.command",
        ),
        (
            "target: {url: 'http://127.0.0.1:{port}', command: [app, --port, 8000]}",
            "target.url",
            "uses {port} but neither target.command nor target.env passes {port}",
        ),
    ],
)
def test_mistakes_name_the_file_and_key(
    tmp_path: Path, target: str, key: str, message: str
) -> None:
    error = _error(tmp_path, target + "\n")
    assert error.key == key, str(error)
    assert message in str(error)


def test_a_store_option_that_is_not_a_plain_value_cannot_be_a_placeholder(tmp_path: Path) -> None:
    spec = TargetSpec(url="http://h", command=("app", "{stores.s.tables}"), file="f.yaml")
    with pytest.raises(ConfigError) as caught:
        spec.check({"s": {"tables": ["a", "b"]}})
    assert caught.value.key == "target.command[1]"
    assert "option 'tables' of store 's' is not a plain value" in str(caught.value)


def test_python_is_this_interpreter(tmp_path: Path) -> None:
    spec = TargetSpec(url="http://h:{port}", command=("{python}", "-m", "app", "{port}"))
    launch = spec.render(port=1, stores={})
    assert launch.command == (sys.executable, "-m", "app", "1")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    section = docs.read_text().split("## `target:`", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "venomqa.yaml"
    path.write_text(example + "stores:\n  db: {adapter: postgres, dsn: 'postgresql:///shop'}\n")

    config = load_config(path, adapters=lambda: {"postgres": object})

    assert config.launch is not None
    launch = config.launch.render(port=7, stores=config.store_options())
    assert launch.command == ("uvicorn", "app:app", "--port", "7")
    assert launch.env == {"DATABASE_URL": "postgresql:///shop"}
    assert launch.ready_url == "http://127.0.0.1:7/health"
    assert (config.launch.ready_timeout_s, config.launch.stop_timeout_s) == (30.0, 5.0)
