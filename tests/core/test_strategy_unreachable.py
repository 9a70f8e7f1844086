"""The Search contract a strategy plugin relies on: when ``fire`` returns None because the source
state could not be reached again (its path replays to another state), ``source.unreachable`` is
set, and ``state.violated`` names the invariants the state breaks. The strategy is a real
installed plugin (a ``*.dist-info`` folder in tmp_path). Found by
mutation testing (docs/benchmarks.md)."""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import venomqa.plugins as plugins
from venomqa import Action, ExecutionContext, Invariant, World, explore

STRATEGY = '''"""Breadth-first; records ``unreachable`` whenever ``fire`` returned None, and the
invariants each state it expands violates."""
from collections import deque

from venomqa import hookimpl
from venomqa.explorer import StopReason

SEEN = []
VIOLATED = {}


class Recording:
    name = "recording"
    shortest_paths = True

    def search(self, search):
        queue = deque([search.root])
        while queue:
            state = queue.popleft()
            VIOLATED[tuple(step.action for step in state.route.steps)] = sorted(state.violated)
            for index in state.enabled:
                arrival = search.fire(state, state.route, index)
                if arrival is None:
                    SEEN.append((state.route.steps[-1].action, state.unreachable))
                    break
                if arrival.is_new and len(arrival.route) < search.max_depth:
                    queue.append(arrival.state)
        return StopReason.EXHAUSTED


@hookimpl
def venomqa_register_strategies():
    return [Recording]
'''


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The ``recording`` strategy installed as ``venomqa-recording``; its module."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "venomqa_recording.py").write_text(STRATEGY)
    info = folder / "venomqa_recording-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: venomqa-recording\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[venomqa]\nrecording = venomqa_recording\n")
    monkeypatch.setenv(plugins.LOAD_PLUGINS_ENV, "recording")
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    plugins.reset_plugins()
    try:
        yield importlib.import_module("venomqa_recording")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("venomqa_recording", None)
        importlib.invalidate_caches()
        plugins.reset_plugins()


def test_a_state_whose_path_replays_elsewhere_is_marked_unreachable(recording: object) -> None:
    runs = itertools.count(1)

    def set_a(api: object, ctx: ExecutionContext) -> None:
        ctx["a"] = next(runs)  # another value on every run: the replay reaches another state

    def set_b(api: object, ctx: ExecutionContext) -> None:
        ctx["b"] = 1

    actions = [
        Action("a", set_a, requires=lambda ctx: "a" not in ctx),
        Action("b", set_b, requires=lambda ctx: "b" not in ctx),
    ]
    result = explore(World("http://127.0.0.1:9"), actions, strategy="recording", learn=False)

    assert [v.path for v in result.violations] == [["a"]]
    assert recording.SEEN == [("a", True)]  # type: ignore[attr-defined]


def test_a_strategy_sees_which_invariants_each_state_violates(recording: object) -> None:
    def set_flag(name: str) -> object:
        def run(api: object, ctx: ExecutionContext) -> None:
            ctx[name] = 1

        return run

    actions = [
        Action("a", set_flag("a"), requires=lambda ctx: "a" not in ctx),
        Action("b", set_flag("b"), requires=lambda ctx: "b" not in ctx),
    ]
    never_b = Invariant("never_b", lambda world: "b" not in world.ctx)
    a_first = Invariant("a_first", lambda world: "a" in world.ctx)  # broken at the root too
    explore(World("http://127.0.0.1:9"), actions, [never_b, a_first], strategy="recording")

    violated = recording.VIOLATED  # type: ignore[attr-defined]
    assert violated[()] == ["a_first"]
    assert violated[("a",)] == []
    assert violated[("b",)] == ["a_first", "never_b"]
    assert violated[("a", "b")] == ["never_b"]
