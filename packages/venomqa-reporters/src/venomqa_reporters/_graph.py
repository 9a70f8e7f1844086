"""The explored state graph as data ready to draw: BFS depth layers, positions, marked paths.

A state is labelled by the action that first reached it and what that action changed (the run's
``origins``), not by its fingerprint. States are placed in columns by their BFS depth from the
initial state (a layered layout); a layer with many states wraps into several sub-columns so the
picture stays compact. Each violation's path is traced through the recorded edges
(``(source, action, target)``) by its action names, or, failing that, as a shortest path to the
violating state. Above ``limit`` states the graph is summarised: one box per depth layer with its
state count, and only the violation paths drawn.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field

from venomqa.models import ExplorationResult, Violation

#: Above this many states the graph is drawn as depth layers with counts.
DEFAULT_LIMIT = 1000


@dataclass
class Node:
    """One state: where it is drawn and which violations it takes part in."""

    key: str
    depth: int
    order: int
    x: float = 0.0
    y: float = 0.0
    violated: list[int] = field(default_factory=list)  # numbers of violations found here
    on_paths: list[int] = field(default_factory=list)  # numbers of violations passing here
    initial: bool = False
    #: The action that first reached the state ("initial" for the root), and what it changed.
    label: str = ""
    changed: tuple[str, ...] = ()


@dataclass
class Link:
    """One or more transitions from ``source`` to ``target`` (their action names)."""

    source: str
    target: str
    actions: list[str] = field(default_factory=list)
    on_paths: list[int] = field(default_factory=list)


@dataclass
class Layer:
    """A BFS depth: how many states it holds and how many of them violate something."""

    depth: int
    states: int = 0
    violating: int = 0
    forward: int = 0  # transitions from this layer to the next one
    x: float = 0.0
    width: float = 0.0


@dataclass
class Scale:
    """Drawing sizes chosen from the number of states."""

    column: float
    row: float
    radius: float
    labels: bool
    edge_labels: bool


@dataclass
class GraphView:
    """Everything the SVG needs; ``summarised`` means only layers and paths are drawn."""

    nodes: dict[str, Node]
    links: list[Link]
    layers: list[Layer]
    paths: dict[int, list[str]]
    summarised: bool
    scale: Scale
    width: float
    height: float
    transitions: int

    @property
    def states(self) -> int:
        return len(self.nodes)


_MARGIN = 40.0
_LABEL_WIDTH = 72.0


def build_graph(
    result: ExplorationResult,
    violations: list[tuple[int, Violation]],
    *,
    limit: int = DEFAULT_LIMIT,
) -> GraphView | None:
    """Lay out ``result``'s state graph; None when it recorded no states to draw."""
    root = result.initial_state
    if root is None:
        if not result.state_edges:
            return None
        root = result.state_edges[0].source
    successors: dict[str, list[tuple[str, str]]] = {root: []}
    step: dict[tuple[str, str], str] = {}
    grouped: dict[tuple[str, str], Link] = {}
    for edge in result.state_edges:
        successors.setdefault(edge.source, []).append((edge.action, edge.target))
        successors.setdefault(edge.target, [])
        step.setdefault((edge.source, edge.action), edge.target)
        link = grouped.setdefault((edge.source, edge.target), Link(edge.source, edge.target))
        link.actions.append(edge.action)

    nodes = _bfs_nodes(root, successors)
    for key, node in nodes.items():
        origin = result.origins.get(key)
        if node.initial:
            node.label = "initial"
        elif origin is not None:
            node.label, node.changed = origin.action, origin.changed
    paths: dict[int, list[str]] = {}
    for number, violation in violations:
        trail = _trace(root, violation, step, successors)
        if not trail:
            continue
        paths[number] = trail
        for key in trail:
            nodes[key].on_paths.append(number)
        for source, target in itertools.pairwise(trail):
            hop = grouped.get((source, target))
            if hop is not None and number not in hop.on_paths:
                hop.on_paths.append(number)
        if violation.state in nodes:
            nodes[violation.state].violated.append(number)
        else:
            nodes[trail[-1]].violated.append(number)

    layers = _layers(nodes)
    for edge in result.state_edges:
        depth = nodes[edge.source].depth
        if nodes[edge.target].depth == depth + 1:
            layers[depth].forward += 1
    summarised = len(nodes) > limit
    scale = _scale(len(nodes))
    if summarised:
        width, height = _place_summary(nodes, layers, paths)
    else:
        width, height = _place(nodes, layers, scale)
    return GraphView(
        nodes=nodes,
        links=list(grouped.values()),
        layers=layers,
        paths=paths,
        summarised=summarised,
        scale=scale,
        width=width,
        height=height,
        transitions=len(result.state_edges),
    )


def _bfs_nodes(root: str, successors: dict[str, list[tuple[str, str]]]) -> dict[str, Node]:
    """Every state with its BFS depth; states unreachable from the root go one layer past."""
    nodes: dict[str, Node] = {root: Node(root, 0, 0, initial=True)}
    queue = deque([root])
    while queue:
        key = queue.popleft()
        depth = nodes[key].depth + 1
        for _, target in successors[key]:
            if target not in nodes:
                nodes[target] = Node(target, depth, len(nodes))
                queue.append(target)
    deepest = max(node.depth for node in nodes.values())
    for key in successors:
        if key not in nodes:
            nodes[key] = Node(key, deepest + 1, len(nodes))
    return nodes


def _trace(
    root: str,
    violation: Violation,
    step: dict[tuple[str, str], str],
    successors: dict[str, list[tuple[str, str]]],
) -> list[str]:
    """The states the violation's path passes, from the root; [] if it cannot be placed."""
    trail = [root]
    for action in violation.path:
        target = step.get((trail[-1], action))
        if target is None:
            break
        trail.append(target)
    complete = len(trail) == len(violation.path) + 1
    if complete and violation.state in (None, trail[-1]):
        return trail
    if violation.state is not None and violation.state in successors:
        shortest = _shortest(root, violation.state, successors)
        if shortest:
            return shortest
    return trail if complete else []


def _shortest(root: str, goal: str, successors: dict[str, list[tuple[str, str]]]) -> list[str]:
    parents: dict[str, str | None] = {root: None}
    queue = deque([root])
    while queue:
        key = queue.popleft()
        if key == goal:
            trail = [key]
            while (parent := parents[trail[-1]]) is not None:
                trail.append(parent)
            return trail[::-1]
        for _, target in successors[key]:
            if target not in parents:
                parents[target] = key
                queue.append(target)
    return []


def _layers(nodes: dict[str, Node]) -> list[Layer]:
    deepest = max(node.depth for node in nodes.values())
    layers = [Layer(depth) for depth in range(deepest + 1)]
    for node in nodes.values():
        layers[node.depth].states += 1
        if node.violated:
            layers[node.depth].violating += 1
    return layers


def _scale(count: int) -> Scale:
    if count <= 40:
        return Scale(column=210.0, row=72.0, radius=13.0, labels=True, edge_labels=count <= 25)
    if count <= 250:
        return Scale(column=64.0, row=26.0, radius=7.0, labels=False, edge_labels=False)
    return Scale(column=34.0, row=16.0, radius=5.0, labels=False, edge_labels=False)


def _place(nodes: dict[str, Node], layers: list[Layer], scale: Scale) -> tuple[float, float]:
    """Columns by depth, wrapped at ``rows`` states; states keep BFS discovery order."""
    rows = max(6, min(40, math.ceil(math.sqrt(len(nodes) * 1.5))))
    by_depth: list[list[Node]] = [[] for _ in layers]
    for node in sorted(nodes.values(), key=lambda n: n.order):
        by_depth[node.depth].append(node)
    tallest = min(rows, max(len(column) for column in by_depth))
    height = 2 * _MARGIN + tallest * scale.row
    x = _MARGIN + scale.radius
    for layer, members in zip(layers, by_depth, strict=True):
        layer.x = x - scale.radius
        sub_columns = max(1, math.ceil(len(members) / rows))
        for index, node in enumerate(members):
            column, row = divmod(index, rows)
            in_column = min(rows, len(members) - column * rows)
            top = _MARGIN + (tallest - in_column) * scale.row / 2
            node.x = x + column * scale.column * 0.5
            node.y = top + (row + 0.5) * scale.row
        layer.width = (sub_columns - 1) * scale.column * 0.5 + 2 * scale.radius
        # At least room for the layer's label ("depth 3" / "64 states") above it.
        x += max((sub_columns - 1) * scale.column * 0.5 + scale.column, _LABEL_WIDTH)
    width = x + _MARGIN + (60 if scale.labels else 0)
    return max(width, 200.0), max(height, 120.0)


_BOX_W, _BOX_GAP, _BOX_TOP, _BOX_H = 120.0, 70.0, 70.0, 260.0


def _place_summary(
    nodes: dict[str, Node], layers: list[Layer], paths: dict[int, list[str]]
) -> tuple[float, float]:
    """One box per layer; the states on violation paths get a lane each inside the boxes."""
    for layer in layers:
        layer.x = _MARGIN + layer.depth * (_BOX_W + _BOX_GAP)
        layer.width = _BOX_W
    lanes = max(1, len(paths))
    for lane, number in enumerate(sorted(paths)):
        for key in paths[number]:
            node = nodes[key]
            if node.x == 0.0:
                node.x = layers[node.depth].x + _BOX_W / 2
                node.y = _BOX_TOP + 60 + (lane + 0.5) * (_BOX_H - 70) / lanes
    width = 2 * _MARGIN + len(layers) * (_BOX_W + _BOX_GAP) - _BOX_GAP
    return width, _BOX_TOP + _BOX_H + _MARGIN


def summary_box() -> tuple[float, float]:
    """Top and height of the layer boxes of a summarised graph."""
    return _BOX_TOP, _BOX_H
