"""Messages for a misnamed adapter, a plugin that fails to load, and typed ``${VAR}`` values.

The broken plugin is a real installed distribution (a ``.dist-info`` folder on ``PYTHONPATH``)
and ``venomqa run`` runs in its own process, as a user would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from venomqa.config import load_config
from venomqa.errors import ConfigError


def write(folder: Path, text: str) -> Path:
    path = folder / "venomqa.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return caught.value


def known(*names: str) -> Callable[[], dict[str, type]]:
    """A registry of ``names`` (the loader checks names only)."""
    return lambda: dict.fromkeys(names, object)


def test_misspelt_adapter_gets_did_you_mean_not_an_install_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://a:1\nstores: {db: {adapter: postgress}}\n")
    error = error_of(path, adapters=known("postgres", "redis", "s3", "sqlite"))
    assert error.key == "stores.db.adapter"
    assert "unknown adapter 'postgress' (did you mean 'postgres'?)" in str(error)
    assert "venomqa-postgress" not in str(error)
    assert "known adapters: postgres, redis, s3, sqlite" in str(error)


def test_an_adapter_nothing_resembles_still_says_what_to_install(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://a:1\nstores: {db: {adapter: mongo}}\n")
    error = error_of(path, adapters=known("postgres", "sqlite"))
    assert "install the package that provides it, e.g. venomqa-mongo" in str(error)


def test_misspelt_report_format_gets_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://a:1\nreports: [{format: jsn, path: r.json}]\n")
    error = error_of(path, reporters=known("json", "console"))
    assert "unknown report format 'jsn' (did you mean 'json'?)" in str(error)


BROKEN_PLUGIN = """
import venomqa_folder_helpers  # not installed: the plugin cannot import
"""


def install_broken_folder_plugin(site: Path) -> None:
    site.mkdir(parents=True)
    (site / "venomqa_folder.py").write_text(BROKEN_PLUGIN, encoding="utf-8")
    info = site / "venomqa_folder-0.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: venomqa-folder\nVersion: 0.2.0\n")
    (info / "entry_points.txt").write_text("[venomqa]\nfolder = venomqa_folder\n")


def test_run_says_the_plugin_is_installed_but_failed_to_load(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_broken_folder_plugin(site)
    project = tmp_path / "project"
    project.mkdir()
    config = write(
        project,
        """\
        target: http://127.0.0.1:1
        actions: [checks]
        stores:
          files: {adapter: folder, path: ./data}
        """,
    )
    (project / "checks.py").write_text("from venomqa import action\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENOMQA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "venomqa", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    message = done.stderr
    assert "stores.files.adapter" in message
    assert "adapter 'folder' is not available" in message
    assert "the distribution venomqa-folder 0.2.0 (entry point 'folder')" in message
    assert "installed but failed to load" in message
    assert "ModuleNotFoundError" in message and "venomqa_folder_helpers" in message
    assert "install" not in message.replace("installed", "").replace("reinstall", "")


def test_whole_scalar_substitutions_take_the_declared_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        target: http://a:1
        timeout: ${TIMEOUT:-2.5}
        explore:
          max_depth: ${DEPTH:-6}
          max_states: ${STATES}
          stop_on_first: ${STOP:-false}
        """,
    )
    config = load_config(path, env={"DEPTH": "3", "STATES": " 40 ", "STOP": "yes"})
    assert config.explore.max_depth == 3
    assert config.explore.max_states == 40
    assert config.explore.stop_on_first is True
    assert config.timeout == 2.5
    defaults = load_config(path, env={"STATES": "7"})
    assert (defaults.explore.max_depth, defaults.explore.stop_on_first) == (6, False)


def test_a_substitution_that_is_not_the_declared_type_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://a:1\nexplore: {max_depth: '${DEPTH}'}\n")
    error = error_of(path, env={"DEPTH": "deep"})
    assert error.key == "explore.max_depth"
    assert "expected an integer >= 0, got a string ('deep' from ${DEPTH})" in str(error)


def test_part_of_a_scalar_stays_text(tmp_path: Path) -> None:
    path = write(tmp_path, "target: http://a:1\nexplore: {max_depth: '1${DEPTH}'}\n")
    error = error_of(path, env={"DEPTH": "2"})
    assert "got a string ('12')" in str(error)
