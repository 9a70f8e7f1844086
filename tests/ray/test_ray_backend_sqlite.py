"""The Ray backend on the blog demo over SQLite: ``venomqa run --workers 3 --backend ray`` (two
Ray actors on a real local cluster, each with its own blog API over its own copy of the file)
gives what ``--workers 1`` gives: the same states, transitions, state edges and findings with
the same paths. Afterwards the file is exactly as before and no copy is left: after a clean run,
after a Ctrl-C in the middle of the exploration, and after an actor is killed mid-run (exit 3,
naming the worker). A cluster that cannot be reached is exit 3 naming the address.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _support_ray_cluster import RayCluster, client_server_logs, free_ports
from flags_project import make_project
from test_parallel_workers import (
    api_processes,
    copies_beside,
    dump,
    make_blog_db,
    report_summary,
    write_project,
)


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "ray", "RAY_ADDRESS": ""},
    )


@pytest.fixture
def blog_db(tmp_path: Path) -> Path:
    db = tmp_path / "blog.db"
    make_blog_db(db)
    write_project(tmp_path, db)
    return db


@pytest.mark.slow
@pytest.mark.other_distributions
@pytest.mark.parametrize("client", [False, True], ids=["gcs-address", "ray-client"])
def test_ray_actors_find_what_one_worker_finds(
    ray_cluster: RayCluster, blog_db: Path, client: bool
) -> None:
    folder = blog_db.parent
    before = dump(blog_db)
    address = ray_cluster.client_address if client else ray_cluster.address
    one = venomqa("run", "--workers", "1", "-q", "--report", "json:one.json", cwd=folder)
    ray = venomqa(
        *("run", "--workers", "3", "--backend", "ray", "--address", address),
        *("-q", "--report", "json:ray.json"),
        cwd=folder,
    )
    assert one.returncode == 1, one.stdout + one.stderr  # the seeded bugs
    assert ray.returncode == 1, ray.stdout + ray.stderr + client_server_logs(ray_cluster)
    assert report_summary(folder / "ray.json") == report_summary(folder / "one.json")
    found = report_summary(folder / "ray.json")
    assert {name for name, _ in found["violations"]} == {
        "comments_belong_to_posts",
        "only_authors_delete_posts",
    }
    report = json.loads((folder / "ray.json").read_text())
    assert report["exploration"]["calls"] > 0
    assert dump(blog_db) == before
    assert copies_beside(blog_db) == []
    assert api_processes(folder) == []


def start_flags_run(folder: Path, address: str) -> subprocess.Popen[str]:
    """A long run (1,024 states behind a 20 ms API) on three workers, two of them Ray actors;
    returns once the copies exist and every API is up."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "venomqa", "run", "--workers", "3", "--backend", "ray"),
            *("--address", address, "--report", "json:r.json"),
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "ray", "RAY_ADDRESS": ""},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len([p for p in api_processes(folder) if "flags_api.py" in p]) >= 3:
            break
        time.sleep(0.1)
    time.sleep(3.0)  # well into the exploration
    return process


@pytest.mark.slow
@pytest.mark.other_distributions
def test_ctrl_c_stops_every_actor_and_leaves_nothing(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    make_project(tmp_path, flags=10, latency=0.02)  # minutes of work
    db = tmp_path / "flags.db"
    before = dump(db)
    process = start_flags_run(tmp_path, ray_cluster.address)
    try:
        assert process.poll() is None, process.communicate()
        assert copies_beside(db), "the workers' copies exist while the run goes on"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exploration"]["stop_reason"] == "interrupted"
    assert report["exploration"]["transitions"] > 0
    assert dump(db) == before
    assert copies_beside(db) == []
    assert api_processes(tmp_path) == []


def actor_pids(folder: Path) -> dict[str, int]:
    """The Ray actor process of each worker, found as the parent of its API (whose command
    line names the worker's copy of the file, ``flags.venomqa-wN.db``)."""
    found: dict[str, int] = {}
    for line in api_processes(folder):
        pid, _, command = line.partition(" ")
        if "flags_api.py" not in command or ".venomqa-w" not in command:
            continue
        label = command.split(".venomqa-", 1)[1].split(".", 1)[0]
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        while parent > 1 and not _is_ray_worker(parent):
            parent = int(Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if parent > 1:
            found[label] = parent
    return found


def _is_ray_worker(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::")
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.other_distributions
def test_an_actor_lost_mid_run_aborts_with_exit_3_naming_the_worker(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    make_project(tmp_path, flags=10, latency=0.02)
    db = tmp_path / "flags.db"
    before = dump(db)
    process = start_flags_run(tmp_path, ray_cluster.address)
    try:
        actors = actor_pids(tmp_path)
        assert set(actors) == {"w2", "w3"}, (actors, api_processes(tmp_path))
        os.kill(actors["w3"], signal.SIGKILL)
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, out + err
    assert "worker w3: its Ray actor" in err and "was lost mid-run" in err, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exploration"]["stop_reason"] == "aborted"
    assert dump(db) == before  # the run's own store and worker w2's were rolled back
    assert copies_beside(db) == []
    deadline = time.monotonic() + 30  # the lost actor's API follows it (its watchdog)
    while api_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api_processes(tmp_path) == []


@pytest.mark.other_distributions
def test_an_unreachable_cluster_is_exit_3_naming_the_address(blog_db: Path) -> None:
    (port,) = free_ports(1)
    folder = blog_db.parent
    before = dump(blog_db)
    started = time.monotonic()
    refused = venomqa(
        "run", "--workers", "2", "--backend", "ray", "--address", f"127.0.0.1:{port}", cwd=folder
    )
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in refused.stderr
    assert time.monotonic() - started < 60  # not Ray's own two-minute wait
    assert dump(blog_db) == before
    assert copies_beside(blog_db) == []


@pytest.mark.other_distributions
def test_a_malformed_address_is_a_usage_error(blog_db: Path) -> None:
    refused = venomqa(
        "run", "--workers", "2", "--backend", "ray", "--address", "head-node", cwd=blog_db.parent
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--address head-node: expected HOST:PORT, ray://HOST:PORT or auto" in refused.stderr
    assert copies_beside(blog_db) == []


@pytest.mark.slow
@pytest.mark.other_distributions
def test_an_actor_that_cannot_start_its_api_names_the_worker_and_why(
    ray_cluster: RayCluster, blog_db: Path
) -> None:
    folder = blog_db.parent
    (folder / "venomqa.yaml").write_text(
        textwrap.dedent(
            f"""
            target:
              url: http://127.0.0.1:{{port}}
              command: >-
                case "{{stores.db.path}}" in *venomqa-w3*) echo "no blog for w3 here" >&2;
                exit 7;; esac; exec {sys.executable} -m venomqa.demo.blog
                --storage "sqlite:{{stores.db.path}}" --port {{port}}
              ready: /
            actions: [venomqa.demo.blog.checks]
            stores:
              db: {{adapter: sqlite, path: {blog_db.name}}}
            """
        )
    )
    before = dump(blog_db)
    failed = venomqa(
        *("run", "--workers", "3", "--backend", "ray", "--address", ray_cluster.address),
        cwd=folder,
    )
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "worker w3 could not start on Ray" in failed.stderr, failed.stderr
    assert "no blog for w3 here" in failed.stderr, failed.stderr
    assert dump(blog_db) == before
    assert copies_beside(blog_db) == []
    assert api_processes(folder) == []


@pytest.mark.slow
@pytest.mark.other_distributions
@pytest.mark.parametrize("after_s", [0.5, 2.0])
def test_ctrl_c_while_the_actors_start_leaves_nothing(
    ray_cluster: RayCluster, tmp_path: Path, after_s: float
) -> None:
    make_project(tmp_path, flags=10, latency=0.02)
    db = tmp_path / "flags.db"
    before = dump(db)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "venomqa", "run", "--workers", "3", "--backend", "ray"),
            *("--address", ray_cluster.address, "--report", "json:r.json"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "ray", "RAY_ADDRESS": ""},
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not copies_beside(db):
            time.sleep(0.05)
        time.sleep(after_s)  # connecting to Ray, or the actors starting their APIs
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert dump(db) == before
    assert copies_beside(db) == []
    deadline = time.monotonic() + 30
    while api_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api_processes(tmp_path) == []
