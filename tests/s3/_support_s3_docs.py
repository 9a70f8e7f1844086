"""The document API (``_support_s3_api.py``) as the S3 tests run it: started as its own process,
the actions and invariant a user would write for it, an independent model of its states, a
venomqa.yaml for it, and the `venomqa` command line.

    with start_docs_api(endpoint, bucket) as api:
        write_docs_project(tmp_path, api.url, endpoint, bucket)
        venomqa("run", cwd=tmp_path)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from pathlib import Path

from venomqa.testing.server import ApiProcess, start_api_process

API_SCRIPT = Path(__file__).with_name("_support_s3_api.py")

#: The module name the actions are written to in a test's folder.
ACTIONS_NAME = "docs_checks"

DOCS_ACTIONS = '''
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


NAMES = ("a", "b")
QUOTA = 1  # as in _support_s3_api.py

ACTION_ORDER = [f"{verb}_{n}" for verb in ("upload", "delete", "restore") for n in NAMES]


# --- An independent model of the API, as its docstring describes it ---------------------------

State = frozenset[str]  # the keys in the bucket


def step(state: State, action: str) -> State:
    """The state ``action`` leads to from ``state``."""
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
    """Every state within ``max_depth`` actions of a bucket holding only other objects, with
    the first path BFS finds to it (actions tried in ``ACTION_ORDER``)."""
    root: State = frozenset({"other/readme"})
    paths: dict[State, list[str]] = {root: []}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if len(paths[state]) == max_depth:
            continue
        for action in ACTION_ORDER:
            target = step(state, action)
            if target not in paths:
                paths[target] = [*paths[state], action]
                frontier.append(target)
    return paths


def violates(state: State) -> bool:
    """Whether ``state`` breaks the quota (the seeded bug)."""
    return sum(1 for key in state if key.startswith("docs/")) > QUOTA


def start_docs_api(endpoint_url: str, bucket: str) -> ApiProcess:
    """The document API on a free port, writing ``bucket`` at ``endpoint_url`` with its own
    boto3 client (credentials from this process's environment)."""
    return start_api_process(
        [sys.executable, str(API_SCRIPT), "--endpoint", endpoint_url, "--bucket", bucket],
        what="document API",
        startup_timeout=30,
    )


def write_docs_project(
    folder: Path,
    api_url: str,
    endpoint_url: str,
    bucket: str,
    *,
    explore: str = "{strategy: bfs, max_depth: 4}",
    actions: str = DOCS_ACTIONS,
) -> Path:
    """Write the actions module and a venomqa.yaml for the document API into ``folder``; the
    store's journal goes to ``folder/state``. Returns the configuration's path."""
    (folder / f"{ACTIONS_NAME}.py").write_text(actions)
    config = folder / "venomqa.yaml"
    config.write_text(
        f"target: {api_url}\n"
        f"actions: [{ACTIONS_NAME}]\n"
        "stores:\n"
        f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{endpoint_url}',"
        f" state_dir: '{folder / 'state'}'}}\n"
        f"explore: {explore}\n"
    )
    return config


def venomqa_command(*args: str) -> list[str]:
    """The argv that runs ``venomqa ARGS`` with this interpreter."""
    return [sys.executable, "-m", "venomqa", *args]


def venomqa_env() -> dict[str, str]:
    """This process's environment, with only the S3 plugin loading."""
    return {**os.environ, "VENOMQA_LOAD_PLUGINS": "s3"}


def venomqa(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``venomqa ARGS`` in ``cwd`` to its end; its exit code and output."""
    return subprocess.run(
        venomqa_command(*args),
        cwd=cwd,
        env=venomqa_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def journals(folder: Path) -> list[Path]:
    """The store journals left in ``folder/state`` (none once a run tore down)."""
    return sorted((folder / "state").glob("*.json"))
