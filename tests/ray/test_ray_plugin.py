"""The venomqa-ray plugin: ``--backend ray`` is registered through ``venomqa_register_backends``,
loading it does not import Ray, and without ``--address`` (and no ``RAY_ADDRESS``) the run starts
a private local Ray instance and stops it at its end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from services import require_module
from test_parallel_workers import copies_beside, dump, make_blog_db, report_summary, write_project

PLUGIN_ENV = {**os.environ, "VENOMQA_LOAD_PLUGINS": "ray", "RAY_ADDRESS": ""}


@pytest.mark.other_distributions
def test_the_ray_backend_is_registered_without_importing_ray() -> None:
    probe = (
        "import sys\n"
        "from venomqa.plugins import backends\n"
        "found = backends()['ray']\n"
        "print(found.__module__, found.name, 'ray' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=PLUGIN_ENV, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["venomqa_ray.backend", "ray", "False"]


@pytest.mark.slow
@pytest.mark.other_distributions
def test_without_an_address_a_private_local_ray_runs_the_workers(tmp_path: Path) -> None:
    require_module("ray")
    db = tmp_path / "blog.db"
    make_blog_db(db)
    write_project(tmp_path, db)
    before = dump(db)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "venomqa", "run", "-q", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            # a new local Ray writes a token to ~/.ray/auth_token: keep it out of the real home
            env={**PLUGIN_ENV, "HOME": str(tmp_path)},
            timeout=600,
        )

    others = ray_session_processes()  # another Ray of this machine, if any, is left alone
    one = run("--workers", "1", "--report", "json:one.json")
    ray = run("--workers", "2", "--backend", "ray", "--report", "json:ray.json")
    assert one.returncode == 1, one.stdout + one.stderr
    assert ray.returncode == 1, ray.stdout + ray.stderr
    assert report_summary(tmp_path / "ray.json") == report_summary(tmp_path / "one.json")
    assert dump(db) == before
    assert copies_beside(db) == []
    deadline = time.monotonic() + 30  # the private instance is stopped with the run
    while ray_session_processes() - others and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ray_session_processes() - others == set()


def ray_session_processes() -> set[int]:
    """Processes of Ray instances in the default temp dir (where ``ray.init`` starts one)."""
    found = subprocess.run(["pgrep", "-f", "/tmp/ray/session_"], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}
