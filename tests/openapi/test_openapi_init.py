"""``venomqa init --openapi SPEC``: the generated actions written as an editable module plus a
venomqa.yaml using it. Edited as a user would (stores added, two identities in OPTIONS, one
action deleted), it runs against the buggy shop to the same findings as ``openapi:``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _backends import SqliteBackend
from _support_openapi import ShopProcess, run_venomqa
from click.testing import CliRunner
from test_openapi_end_to_end import EXPECTED, findings
from venomqa.cli.main import cli

HERE = Path(__file__).resolve().parent
TWO_IDENTITIES = (
    '    "auth": {"alice": {"headers": {"X-User": "alice"}},'
    ' "bob": {"headers": {"X-User": "bob"}}},'
)


def _init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", *args])
    return result.exit_code, result.output


def _explore(folder: Path) -> tuple[int, dict[str, object], str]:
    report = folder / "report.json"
    ran = run_venomqa(folder, "run", "--report", f"json:{report}", "--no-console")
    assert report.is_file(), ran.stdout + ran.stderr
    return ran.returncode, json.loads(report.read_text()), ran.stdout + ran.stderr


def test_the_written_module_runs_to_the_same_findings_as_openapi(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path)
    shop = ShopProcess(backend.url, bugs=True)
    try:
        folder = tmp_path / "project"
        code, output = _init("--openapi", f"{shop.url}/openapi.json", str(folder))
        assert code == 0, output
        module = folder / "openapi_actions.py"
        config = folder / "venomqa.yaml"
        assert f"wrote {module}" in output and f"wrote {config}" in output
        text = module.read_text()
        assert 'name="createItem [missing name]"' in text  # one function per action
        assert 'openapi.invariant("response matches schema: getItem")' in text
        assert f"target: {shop.url}\n" in config.read_text()

        # as a user would: declare the store, name two identities
        with config.open("a") as file:
            file.write(f"stores:\n  db: {backend.store}\n")
        edited = text.replace(
            '    # "auth": {"alice": {"headers": {"X-User": "alice"}}},', TWO_IDENTITIES
        )
        assert edited != text
        module.write_text(edited)
        before = backend.dump()
        code, report, output = _explore(folder)
        assert code == 1, output
        assert findings(report) == EXPECTED, output  # the BOLA probe came from the new OPTIONS
        assert backend.dump() == before

        # a deleted function stays deleted
        start = edited.index('@action(\n    name="deleteItem",')
        end = edited.index("\n\n\n", start)
        module.write_text(edited[:start] + edited[end + 3 :])
        code, report, output = _explore(folder)
        assert "deleteItem" not in report["actions"], output
        assert findings(report) == {
            k: v for k, v in EXPECTED.items() if k != "server_error deleteItem"
        }, output
    finally:
        shop.stop()


def test_a_document_file_is_referred_to_relative_to_the_module(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "carts.yaml"
    spec.parent.mkdir()
    shutil.copy(HERE / "shop_carts_openapi30.yaml", spec)
    code, output = _init("--openapi", str(spec), str(tmp_path / "project"))
    assert code == 0, output
    text = (tmp_path / "project" / "openapi_actions.py").read_text()
    assert 'SPEC = "../specs/carts.yaml"' in text
    assert (
        "target: ${VENOMQA_TARGET:-http://127.0.0.1:8000}"
        in (tmp_path / "project" / "venomqa.yaml").read_text()
    )
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import openapi_actions as m; from venomqa import Action;"
            "print(sorted(v.name for v in vars(m).values() if isinstance(v, Action)))",
        ],
        cwd=tmp_path / "project",
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "'createCart'" in loaded.stdout and "'getCart'" in loaded.stdout


def test_without_the_plugin_or_over_existing_files_init_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = HERE / "shop_carts_openapi30.yaml"
    (tmp_path / "venomqa.yaml").write_text("target: http://x\n")
    code, output = _init("--openapi", str(spec), str(tmp_path))
    assert code == 2 and "already exist" in output, output
    assert (tmp_path / "venomqa.yaml").read_text() == "target: http://x\n"

    from venomqa.plugins import LOAD_PLUGINS_ENV, reset_plugins

    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    reset_plugins()
    code, output = _init("--openapi", str(spec), str(tmp_path / "other"))
    assert code == 2, output
    assert "pip install venomqa-openapi" in output
    assert not (tmp_path / "other").exists()


def test_a_bad_document_is_a_clear_error(tmp_path: Path) -> None:
    code, output = _init("--openapi", str(tmp_path / "missing.yaml"), str(tmp_path / "p"))
    assert code == 2, output
    assert "OpenAPI document not found" in output and "missing.yaml" in output
