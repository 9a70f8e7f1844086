"""The pytest plugin (entry point ``pytest11``): an exploration becomes a test.

    @pytest.mark.venomqa(max_depth=4)            # the exploration runs while the test sets up
    def test_order_sequences(venomqa_exploration):
        assert venomqa_exploration.states > 1    # optional: more checks on the result

    def test_refunds_depth_first(venomqa_explore):
        venomqa_explore(strategy="dfs", max_depth=6)

Fixtures: ``venomqa_config`` (the loaded ``venomqa.yaml``: ``--venomqa-config PATH``, ini option
``venomqa_config``, else ``venomqa.yaml`` in the rootdir; ``--venomqa-target URL`` overrides its
target), ``venomqa_api_url`` (the API's URL; with ``target.command`` the API is started once for
the session and stopped after it), ``venomqa_world`` (its client and stores, set up before the
test and torn down after),
``venomqa_explore`` (a function that explores that world) and ``venomqa_exploration`` (the result
of a test marked ``venomqa``). Options are those of ``explore:`` in venomqa.yaml, over the file's;
``actions=``/``invariants=`` replace what the file's modules define.

A violation fails the test with each distinct problem's shortest path: every step's action,
method, URL and status, and the last response. A configuration problem or an infrastructure
error (the API unreachable, a store failing) is a pytest *error* carrying VenomQA's message, so
JUnit XML, ``-k`` and CI treat explorations like any other test.

Loading the plugin imports only pytest and VenomQA's plain models; the configuration loader, the
HTTP client and the explorer are imported when a test uses a fixture.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from venomqa.errors import VenomQAError

if TYPE_CHECKING:
    from venomqa.config import Config
    from venomqa.models import Action, ExplorationResult, Invariant, Violation
    from venomqa.models.results import RequestRecord, StepRecord
    from venomqa.world import World

#: The name of the marker, the ini option and the prefix of the command-line options.
MARKER = "venomqa"
_RESULT = pytest.StashKey["ExplorationResult"]()
#: How much of the last response body a failure message shows.
_BODY_CHARS = 300

_T = TypeVar("_T")


class ExploreFunction:
    """``venomqa_explore(actions=None, invariants=None, *, check=True, **options)``.

    Explores the test's world with ``actions`` and ``invariants`` (default: those of the modules
    venomqa.yaml names) and returns the ExplorationResult. ``options`` are exploration options
    (``strategy``, ``max_depth``, ``max_states``, ``seed``, ...) over those of the file and of a
    ``venomqa`` marker on the test. With ``check`` (the default) violations fail the test.
    """

    def __init__(self, config: Config, world: World, marker_options: dict[str, Any]) -> None:
        self._config = config
        self._world = world
        self._marker_options = marker_options

    def __call__(
        self,
        actions: Sequence[Action] | None = None,
        invariants: Sequence[Invariant] | None = None,
        *,
        check: bool = True,
        **options: Any,
    ) -> ExplorationResult:
        merged = {**self._marker_options, **options}
        marked_actions = merged.pop("actions", None)
        marked_invariants = merged.pop("invariants", None)
        actions = marked_actions if actions is None else actions
        invariants = marked_invariants if invariants is None else invariants
        result = _guarded(
            lambda: run_exploration(self._config, self._world, actions, invariants, merged)
        )
        if check and result.violations:
            pytest.fail(describe_violations(result), pytrace=False)
        return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(MARKER, "VenomQA explorations")
    group.addoption(
        "--venomqa-config",
        metavar="PATH",
        help="venomqa.yaml for the venomqa fixtures (default: the ini option venomqa_config, "
        "else venomqa.yaml in the rootdir)",
    )
    group.addoption(
        "--venomqa-target", metavar="URL", help="base URL of the API (overrides `target`)"
    )
    parser.addini(
        "venomqa_config", "venomqa.yaml for the venomqa fixtures, relative to the ini file"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(actions=None, invariants=None, **options): the test is a VenomQA exploration "
        "of venomqa.yaml's API (options: strategy, max_depth, max_states, seed, ...); a "
        "violation fails it with the shortest path",
    )


def config_path(config: pytest.Config) -> Path:
    """Where venomqa.yaml is: the option, else the ini value (relative to the ini file), else
    venomqa.yaml in the rootdir."""
    given = config.getoption("venomqa_config")
    if given:
        return Path(config.invocation_params.dir, given)
    ini = config.getini("venomqa_config")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return Path(base, str(ini))
    return config.rootpath / "venomqa.yaml"


@pytest.fixture(scope="session")
def venomqa_config(pytestconfig: pytest.Config) -> Config:
    """The loaded venomqa.yaml (``--venomqa-config``, ini ``venomqa_config``)."""
    from venomqa.config import load_config

    path = config_path(pytestconfig)
    if not path.is_file():
        _error(
            f"no configuration file at {path}: pass --venomqa-config PATH or set venomqa_config "
            "in the pytest ini file"
        )
    target = pytestconfig.getoption("venomqa_target")
    overrides: dict[str, object] = {"target": target} if target else {}
    return _guarded(lambda: load_config(path, overrides=overrides))


@pytest.fixture(scope="session")
def venomqa_api_url(venomqa_config: Config) -> Iterator[str]:
    """The API's base URL: ``target``, or, with ``target.command``, the URL of the API started
    for the test session (stopped when it ends)."""
    launch = venomqa_config.launch
    if launch is None:
        yield venomqa_config.target
        return
    from venomqa.target import start_target

    running = _guarded(lambda: start_target(launch, stores=venomqa_config.store_options()))
    with running:
        yield running.url


@pytest.fixture
def venomqa_world(venomqa_config: Config, venomqa_api_url: str) -> Iterator[World]:
    """The world of venomqa.yaml: its client (checked to answer) and stores, set up for the test
    and torn down after it."""
    from venomqa.config import build_stores
    from venomqa.plugins import configure
    from venomqa.world import World

    def build() -> World:
        configure(venomqa_config)
        stores = build_stores(venomqa_config)
        client = venomqa_config.build_client(venomqa_api_url)
        try:
            client.check_reachable()
            world = World(client, stores)
            world.setup()
        except BaseException:
            client.close()
            raise
        return world

    world = _guarded(build)
    try:
        yield world
    finally:
        errors = world.teardown()
        world.api.close()
        if errors:
            _error(f"tearing down the stores of {venomqa_config.path}: {'; '.join(errors)}")


@pytest.fixture
def venomqa_explore(
    venomqa_config: Config, venomqa_world: World, request: pytest.FixtureRequest
) -> ExploreFunction:
    """A function that explores the test's world; see ``ExploreFunction``."""
    return ExploreFunction(venomqa_config, venomqa_world, _marker_options(request.node))


@pytest.fixture
def venomqa_exploration(
    venomqa_config: Config, venomqa_world: World, request: pytest.FixtureRequest
) -> ExplorationResult:
    """The exploration of a test marked ``venomqa``, run while the test sets up (so an
    infrastructure error is a pytest error); its violations fail the test after its body."""
    options = _marker_options(request.node)
    actions = options.pop("actions", None)
    invariants = options.pop("invariants", None)
    result = _guarded(
        lambda: run_exploration(venomqa_config, venomqa_world, actions, invariants, options)
    )
    request.node.stash[_RESULT] = result
    return result


@pytest.fixture(autouse=True)
def _venomqa_marker(request: pytest.FixtureRequest) -> None:
    """Run the exploration of a test marked ``venomqa`` (a marker lookup for any other test)."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("venomqa_exploration")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a marked test's body passed, fail it if its exploration found violations."""
    outcome = yield
    result = item.stash.get(_RESULT, None)
    if result is not None and result.violations:
        pytest.fail(describe_violations(result), pytrace=False)
    return outcome


def run_exploration(
    config: Config,
    world: World,
    actions: Sequence[Action] | None,
    invariants: Sequence[Invariant] | None,
    options: dict[str, Any],
) -> ExplorationResult:
    """Explore ``world`` (already set up) with ``actions`` and ``invariants`` (default: what the
    file's modules define, its state graphs, and what plugins make from their sections, such as
    ``openapi:``) with the file's options updated by ``options``."""
    from venomqa.discovery import discover_config
    from venomqa.explorer import explore, explore_graph
    from venomqa.runtime import merge_explorations

    settings = config.explore.replace(**options).as_kwargs()
    graphs = []
    if actions is None or invariants is None:
        found = discover_config(config)  # modules, and sources such as ``openapi:``
        if actions is None:
            actions, graphs = found.actions, found.graphs
        if invariants is None:
            invariants = found.invariants
    if not actions and not graphs:
        modules = ", ".join(config.actions) or "none"
        _error(
            f"nothing to explore: no actions given, and the modules of {config.path} "
            f"(actions: {modules}) define no @action functions or StateGraphs"
        )
    results = []
    if actions:
        results.append(explore(world, actions, invariants, manage_world=False, **settings))
    for graph in graphs:
        results.append(explore_graph(world, graph, invariants, manage_world=False, **settings))
    result = merge_explorations(results)
    result.target = world.api.base_url or config.target
    return result


def describe_violations(result: ExplorationResult) -> str:
    """The failure message: a summary line, then each violation with its shortest path."""
    count = len(result.violations)
    lines = [
        f"VenomQA found {count} violation{'s' if count != 1 else ''} "
        f"({result.strategy}: {result.states} states, {result.transitions} transitions, "
        f"depth {result.max_depth_reached}, stopped: {result.stop_reason})"
    ]
    for number, violation in enumerate(result.violations, 1):
        lines.append("")
        lines.extend(_violation_lines(number, violation))
    return "\n".join(lines)


def _violation_lines(number: int, violation: Violation) -> list[str]:
    seen = f" (seen in {violation.occurrences} states)" if violation.occurrences > 1 else ""
    message = f": {violation.message}" if violation.message else ""
    head = f"{number}) [{violation.severity.name}] {violation.invariant}{seen}{message}"
    path = " -> ".join(violation.path) or "(the initial state)"
    lines = [head, f"   shortest path ({len(violation.path)} steps): {path}"]
    width = max((len(step.action) for step in violation.steps), default=0)
    for index, step in enumerate(violation.steps, 1):
        lines.extend(_step_lines(index, step, width))
    last = _last_request(violation.steps)
    if last is not None and last.response_body is not None:
        lines.append(f"      last response: {_shorten(last.response_body)}")
    for example in violation.examples:
        lines.append(f"   also: {' -> '.join(example)}")
    return lines


def _step_lines(index: int, step: StepRecord, width: int) -> list[str]:
    prefix = f"   {index}. {step.action.ljust(width)}"
    calls = [_call(record) for record in step.requests] or ["(no HTTP call)"]
    lines = [f"{prefix}  {calls[0]}"]
    lines.extend(f"   {' ' * (len(str(index)) + 2 + width)}  {call}" for call in calls[1:])
    if step.error:
        lines.append(f"      raised {step.error}")
    return lines


def _call(record: RequestRecord) -> str:
    outcome = record.response_status if record.response_status is not None else "no response"
    error = f" ({record.error})" if record.error else ""
    return f"{record.method} {record.url} -> {outcome}{error}"


def _last_request(steps: Sequence[StepRecord]) -> RequestRecord | None:
    for step in reversed(steps):
        if step.requests:
            return step.requests[-1]
    return None


def _shorten(body: object) -> str:
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return text if len(text) <= _BODY_CHARS else text[: _BODY_CHARS - 3] + "..."


def _marker_options(node: pytest.Item) -> dict[str, Any]:
    """The keyword arguments of the test's ``venomqa`` marker (positional ones are refused)."""
    marker = node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        _error(f"@pytest.mark.{MARKER} takes keyword arguments only, got {marker.args!r}")
    return dict(marker.kwargs)


def _guarded(work: Callable[[], _T]) -> _T:
    """``work()``, with a VenomQA error turned into a pytest failure carrying its message (an
    error when it happens while a fixture sets up, as pytest counts them)."""
    try:
        return work()
    except VenomQAError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    _error(problem)  # outside the except block: the message alone, without the error's chain


def _error(message: str) -> NoReturn:
    pytest.fail(f"venomqa: {message}", pytrace=False)
