"""packages/_template, the starting point for a new adapter package, works as shipped: its
store passes the contract suite (run here as its own test session, as in a copied package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from venomqa.testing import ALL_CHECKS

TEMPLATE = Path(__file__).resolve().parents[2] / "packages" / "_template"


def test_the_template_adapter_passes_the_contract_suite(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(TEMPLATE / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEMPLATE / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ALL_CHECKS)} passed" in done.stdout, done.stdout  # changed_records too


def test_the_template_declares_its_entry_point() -> None:
    text = (TEMPLATE / "pyproject.toml").read_text()
    assert '[project.entry-points.venomqa]\nfolder = "venomqa_folder.plugin"' in text
    assert (TEMPLATE / "src" / "venomqa_folder" / "py.typed").is_file()
