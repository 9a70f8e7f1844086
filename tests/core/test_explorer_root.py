"""What an exploration reports about its initial state, and its per-action totals: a graph
whose start node's checker fails, an initial state that breaks an invariant, a search that
cannot leave the root, and one action name on several graph edges."""

from __future__ import annotations

import itertools

import pytest
from venomqa import Action, ExecutionContext, Invariant, StateGraph, World, explore
from venomqa.explorer import explore_graph
from venomqa.models import FindingKind

#: A base URL nothing listens on: these actions never call the API.
NO_API = "http://127.0.0.1:9"


def _mark(name: str) -> object:
    def run(api: object, ctx: ExecutionContext) -> None:
        ctx[name] = True

    return run


def _doors(checker: object) -> StateGraph:
    """A start node ``closed`` with ``checker``, and one edge out of it."""
    graph = StateGraph(name="doors")
    graph.add_node("closed", checker=checker)
    graph.add_node("open")
    graph.add_edge("closed", "open", _mark("opened"), name="open_door")
    return graph


def test_a_start_node_whose_checker_fails_is_a_finding_about_the_initial_state() -> None:
    result = explore_graph(World(NO_API), _doors(lambda world: "opened" in world.ctx))

    [finding] = result.violations
    assert finding.kind is FindingKind.NODE_CHECK
    assert finding.path == []
    assert finding.message.startswith("after the initial state: ")
    assert "'closed'" in finding.message  # the node whose checker failed
    [edge] = result.state_edges
    assert finding.state == edge.source  # the root's key


def test_a_start_node_finding_is_reported_as_the_run_from_the_root_shows_it() -> None:
    checks = itertools.count(1)
    numbers: list[int] = []

    def checker(world: object) -> bool:
        numbers.append(next(checks))
        raise RuntimeError(f"check number {numbers[-1]}")

    result = explore_graph(World(NO_API), _doors(checker))
    [finding] = result.violations
    assert len(numbers) >= 2  # found, then checked again from the root for the report
    assert f"check number {numbers[-1]}" in finding.message


def test_a_start_node_finding_that_does_not_show_again_is_reported_at_the_root() -> None:
    checks = itertools.count(1)
    result = explore_graph(World(NO_API), _doors(lambda world: next(checks) > 1))

    [finding] = result.violations
    assert "'closed'" in finding.message
    [edge] = result.state_edges
    assert finding.state == edge.source


def test_the_initial_state_is_checked_against_the_invariants() -> None:
    must_start = Invariant("started", lambda world: "started" in world.ctx)
    actions = [Action("start", _mark("started"), requires=lambda ctx: "started" not in ctx)]
    result = explore(World(NO_API), actions, [must_start])

    [finding] = result.violations
    assert (finding.invariant, finding.path) == ("started", [])
    [edge] = result.state_edges
    assert finding.state == edge.source


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_a_search_that_cannot_leave_the_root_reached_depth_zero(strategy: str) -> None:
    never = Action("never", _mark("never"), requires=lambda ctx: False)
    result = explore(World(NO_API), [never], strategy=strategy)
    assert (result.states, result.transitions, result.max_depth_reached) == (1, 0, 0)


def test_an_action_on_several_graph_edges_is_counted_over_all_of_them() -> None:
    graph = StateGraph(name="steps")
    for node in ("zero", "one", "two"):
        graph.add_node(node)
    graph.add_edge("zero", "one", _mark("one"), name="step")
    graph.add_edge("one", "two", _mark("two"), name="step")
    result = explore_graph(World(NO_API), graph)

    assert result.transitions == 2
    assert result.actions == {"step": 2}


def test_each_state_but_the_initial_one_says_what_first_reached_it_and_what_it_changed() -> None:
    actions = [Action("start", _mark("started"), requires=lambda ctx: "started" not in ctx)]
    result = explore(World(NO_API), actions)

    [(key, origin)] = result.origins.items()
    assert key != result.initial_state
    assert origin.action == "start"
    assert any("started" in change for change in origin.changed), origin.changed
