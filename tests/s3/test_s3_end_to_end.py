"""Done when: `venomqa run` explores an API server process that keeps its state in an S3 bucket,
finds exactly the states an independent model predicts (exact dedup), reports the seeded
violation with its shortest path, and leaves the bucket as it was before the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _support_s3 import SeaweedFS, bucket_content

API_SCRIPT = Path(__file__).with_name("_support_s3_api.py")
NAMES = ("a", "b")
QUOTA = 1  # as in _support_s3_api.py
MAX_DEPTH = 4

ACTIONS_MODULE = '''
"""Actions and an invariant for the document API, written the way a user would."""

from venomqa import Severity, action, invariant

NAMES = ("a", "b")


def _upload(name):
    def upload(api, ctx):
        return api.put(f"/docs/{name}", content=f"document {name}")
    upload.__name__ = f"upload_{name}"
    return action(name=f"upload_{name}")(upload)


def _delete(name):
    def delete(api, ctx):
        return api.delete(f"/docs/{name}")
    return action(name=f"delete_{name}")(delete)


def _restore(name):
    def restore(api, ctx):
        return api.post(f"/trash/{name}/restore")
    return action(name=f"restore_{name}")(restore)


upload_a, upload_b = _upload("a"), _upload("b")
delete_a, delete_b = _delete("a"), _delete("b")
restore_a, restore_b = _restore("a"), _restore("b")


@invariant(severity=Severity.CRITICAL)
def quota_respected(world):
    return len(world.stores["files"].list("docs/")) <= 1
'''

ACTION_ORDER = [f"{verb}_{n}" for verb in ("upload", "delete", "restore") for n in NAMES]


# --- An independent model of the API, as its docstring describes it ---------------------------

State = frozenset[str]  # the keys in the bucket


def _step(state: State, action: str) -> State:
    verb, name = action.split("_")
    doc, trash = f"docs/{name}", f"trash/{name}"
    live = sum(1 for key in state if key.startswith("docs/"))
    if verb == "upload" and doc not in state and live < QUOTA:
        return state | {doc}
    if verb == "delete" and doc in state:
        return (state - {doc}) | {trash}
    if verb == "restore" and trash in state and doc not in state:
        return (state - {trash}) | {doc}
    return state


def model_bfs(max_depth: int) -> dict[State, list[str]]:
    root: State = frozenset({"other/readme"})
    paths: dict[State, list[str]] = {root: []}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if len(paths[state]) == max_depth:
            continue
        for action in ACTION_ORDER:
            target = _step(state, action)
            if target not in paths:
                paths[target] = [*paths[state], action]
                frontier.append(target)
    return paths


def _violates(state: State) -> bool:
    return sum(1 for key in state if key.startswith("docs/")) > QUOTA


def test_model_is_sane() -> None:
    states = model_bfs(MAX_DEPTH)
    shortest = min((p for s, p in states.items() if _violates(s)), key=len)
    assert shortest == ["upload_a", "delete_a", "upload_b", "restore_a"]


# --- The real thing ----------------------------------------------------------------------------


@dataclass
class DocsApi:
    process: subprocess.Popen[str]
    url: str


@pytest.fixture
def docs_api(seaweed: SeaweedFS, bucket: str) -> Iterator[DocsApi]:
    process = subprocess.Popen(
        [sys.executable, str(API_SCRIPT), "--endpoint", seaweed.endpoint_url, "--bucket", bucket],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        stdout = process.stdout
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not lines or not lines[0].startswith("LISTENING "):
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"the document API did not start: {lines} {err}")
        yield DocsApi(process, f"http://{lines[0].split()[1]}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _seed(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="other/readme", Body=b"keep me", ContentType="text/markdown")


def test_venomqa_run_explores_a_separate_api_on_s3(
    seaweed: SeaweedFS, s3: Any, bucket: str, docs_api: DocsApi, tmp_path: Path
) -> None:
    _seed(s3, bucket)
    before = bucket_content(s3, bucket)
    (tmp_path / "docs_checks.py").write_text(textwrap.dedent(ACTIONS_MODULE))
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {docs_api.url}\n"
        "actions: [docs_checks]\n"
        "stores:\n"
        f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{seaweed.endpoint_url}',"
        f" state_dir: '{tmp_path / 'state'}'}}\n"
        f"explore: {{strategy: bfs, max_depth: {MAX_DEPTH}}}\n"
    )
    out = tmp_path / "report.json"
    env = {**os.environ, "VENOMQA_LOAD_PLUGINS": "s3"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "venomqa.cli.main",
            "run",
            "-c",
            str(config),
            "--report",
            f"json:{out}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    model = model_bfs(MAX_DEPTH)
    assert report["states"] == len(model)
    [shortest] = [v for v in report["violations"] if v["invariant"] == "quota_respected"]
    expected = min((p for s, p in model.items() if _violates(s)), key=len)
    assert shortest["path"] == expected
    assert [step["response"]["status"] for step in shortest["steps"]] == [201, 200, 201, 200]
    assert not [v for v in report["violations"] if v["kind"] != "invariant"]  # no 5xx, no raise
    # Uploads carry a timestamp and a random request id as metadata: learned, not configured.
    learned = {v["spec"] for v in report["exploration"]["volatile"] if not v["declared"]}
    assert {"docs.meta.uploaded-at", "docs.meta.request-id"} <= learned, learned
    assert not {spec for spec in learned if not spec.split(".", 1)[1].startswith("meta.")}

    # The bucket holds exactly what it held (every version, content type and metadata); it was
    # never versioned, which S3 cannot restore, so it is left with versioning Suspended.
    assert bucket_content(s3, bucket) == {**before, "versioning": "Suspended"}
    assert not list((tmp_path / "state").glob("*.json"))  # the journal is gone


def test_explore_from_python_on_an_enabled_bucket(
    seaweed: SeaweedFS, s3: Any, bucket: str, docs_api: DocsApi, tmp_path: Path
) -> None:
    from venomqa import Client, World, explore
    from venomqa.discovery import discover
    from venomqa_s3 import S3Store

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _seed(s3, bucket)
    s3.put_object(Bucket=bucket, Key="other/readme", Body=b"keep me too")  # some history
    before = bucket_content(s3, bucket)
    (tmp_path / "docs_checks.py").write_text(textwrap.dedent(ACTIONS_MODULE))
    found = discover(["docs_checks"], tmp_path)
    store = S3Store(
        bucket=bucket, endpoint_url=seaweed.endpoint_url, state_dir=str(tmp_path / "state")
    )
    world = World(Client(base_url=docs_api.url), stores={"files": store})
    result = explore(world, found.actions, found.invariants, max_depth=MAX_DEPTH)
    assert result.states == len(model_bfs(MAX_DEPTH))
    [violation] = result.violations  # one entry for the one broken invariant
    expected = min((p for s, p in model_bfs(MAX_DEPTH).items() if _violates(s)), key=len)
    assert len(violation.path) == len(expected) == 4
    assert bucket_content(s3, bucket) == before  # Enabled before, Enabled after, same versions


SLOW_ACTIONS = """
import time

from venomqa import action


@action
def upload_then_delete(api, ctx):
    ctx["n"] = ctx.get("n", 0) + 1
    response = api.put(f"/docs/d{ctx['n']}", content="x")
    api.delete(f"/docs/d{ctx['n']}")
    time.sleep(0.05)
    return response
"""


def test_sigint_mid_run_leaves_the_bucket_as_before(
    seaweed: SeaweedFS, s3: Any, bucket: str, docs_api: DocsApi, tmp_path: Path
) -> None:
    _seed(s3, bucket)
    before = bucket_content(s3, bucket)
    (tmp_path / "slow_checks.py").write_text(SLOW_ACTIONS)
    (tmp_path / "venomqa.yaml").write_text(
        f"target: {docs_api.url}\n"
        "actions: [slow_checks]\n"
        "stores:\n"
        f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{seaweed.endpoint_url}',"
        f" state_dir: '{tmp_path / 'state'}'}}\n"
        "explore: {max_depth: 500, max_states: 100000}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "s3"},
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(bucket_content(s3, bucket)["keys"]) < 4:
        time.sleep(0.1)  # wait until the run has written trash objects
    assert len(bucket_content(s3, bucket)["keys"]) >= 4, "the run never wrote to the bucket"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert bucket_content(s3, bucket) == {**before, "versioning": "Suspended"}
    assert not list((tmp_path / "state").glob("*.json"))
