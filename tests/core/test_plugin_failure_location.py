"""A broken plugin's message says where it failed (file:line); the disable list's default; one
entry per requested plugin, installed or not.

The plugin is a real installed distribution (a module plus a ``*.dist-info`` folder) in tmp_path,
found through importlib.metadata. Found by mutation testing (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import venomqa.plugins as plugins
from venomqa.plugins.loading import describe_exception, disabled_names, load_entry_points

# The raise is on line 4 of the module, inside a function called at import.
FAILS_IN_A_FUNCTION = '''"""A plugin whose import calls a function that raises."""

def read_settings():
    raise RuntimeError("lineplug cannot read its settings")

read_settings()
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``venomqa-lineplug`` installed in a folder on sys.path; removed afterwards."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "venomqa_lineplug.py").write_text(FAILS_IN_A_FUNCTION)
    info = folder / "venomqa_lineplug-0.1.0.dist-info"
    info.mkdir()
    metadata = "Metadata-Version: 2.1\nName: venomqa-lineplug\nVersion: 0.1.0\n"
    (info / "METADATA").write_text(metadata)
    (info / "entry_points.txt").write_text("[venomqa]\nlineplug = venomqa_lineplug\n")
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "lineplug")
    monkeypatch.delenv(plugins.DISABLE_PLUGINS_ENV, raising=False)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    plugins.reset_plugins()
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("venomqa_lineplug", None)
        importlib.invalidate_caches()
        plugins.reset_plugins()


def test_a_plugin_failing_at_import_is_shown_with_the_file_and_line_that_raised(
    site: Path,
) -> None:
    infos = {info.name: info for info in plugins.plugin_infos()}
    error = infos["lineplug"].error
    assert error is not None
    where = f"({site / 'venomqa_lineplug.py'}:4)"
    assert error.endswith(f"RuntimeError: lineplug cannot read its settings {where}"), error


def test_an_exception_that_was_never_raised_is_described_without_a_location() -> None:
    assert describe_exception(ValueError("bad value")) == "ValueError: bad value"


def test_without_the_disable_variable_no_plugin_is_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(plugins.DISABLE_PLUGINS_ENV, raising=False)
    assert disabled_names() == set()
    monkeypatch.setenv(plugins.DISABLE_PLUGINS_ENV, " lineplug , ,other")
    assert disabled_names() == {"lineplug", "other"}


def test_each_requested_plugin_is_one_entry_and_a_missing_one_has_no_entry_point(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "lineplug,nosuchplug")
    entries = load_entry_points()
    assert [entry.name for entry in entries] == ["lineplug", "nosuchplug"]
    plugins.reset_plugins()
    infos = {info.name: info for info in plugins.plugin_infos()}
    assert infos["lineplug"].entry_point == "venomqa_lineplug"
    missing = infos["nosuchplug"]
    assert missing.entry_point == "" and missing.distribution is None
    assert missing.error is not None and "'nosuchplug'" in missing.error
