"""Draws a :class:`~venomqa_reporters._graph.GraphView` as inline SVG (no scripts, no fonts).

Every state is a ``<circle class="state">`` carrying ``data-key`` and ``data-v`` (the numbers of
the violations whose path passes it); violating states add the class ``violating``, states and
edges on a violation's path add ``onpath``. Plain edges of large graphs are merged into one
``<path>`` to keep the file small. A summarised graph draws one box per depth layer instead.
"""

from __future__ import annotations

from html import escape

from venomqa_reporters._graph import GraphView, Link, Node, summary_box


def render_svg(view: GraphView) -> str:
    """The graph as one ``<svg>`` element."""
    body = _summary(view) if view.summarised else _full(view)
    label = f"State graph: {view.states} states, {view.transitions} transitions"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
        f'width="{view.width:.0f}" height="{view.height:.0f}" '
        f'viewBox="0 0 {view.width:.0f} {view.height:.0f}" aria-label="{escape(label)}" '
        f'data-states="{view.states}" data-summarised="{str(view.summarised).lower()}">'
        "<defs>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'class="arrowhead"/></marker>'
        '<marker id="arrow-hot" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'class="arrowhead hot"/></marker>'
        "</defs>"
        f"{body}</svg>"
    )


def _full(view: GraphView) -> str:
    scale = view.scale
    parts: list[str] = [_layer_labels(view)]
    merged: list[str] = []
    for link in view.links:
        source, target = view.nodes[link.source], view.nodes[link.target]
        geometry = _edge_geometry(source, target, scale.radius)
        if not link.on_paths and not scale.edge_labels and len(view.nodes) > 40:
            merged.append(geometry)
            continue
        parts.append(_edge(link, geometry, view))
    if merged:
        parts.insert(1, f'<path class="edge merged" d="{" ".join(merged)}"/>')
    for node in sorted(view.nodes.values(), key=lambda n: bool(n.on_paths)):
        parts.append(_node(node, scale.radius, scale.labels))
    return "".join(parts)


def _edge(link: Link, geometry: str, view: GraphView) -> str:
    hot = bool(link.on_paths)
    classes = "edge onpath" if hot else "edge"
    marker = "arrow-hot" if hot else "arrow"
    names = ", ".join(dict.fromkeys(link.actions))
    title = escape(names)
    data = f' data-v="{" ".join(map(str, link.on_paths))}"' if hot else ""
    text = ""
    if view.scale.edge_labels:
        x, y = _edge_label_at(view.nodes[link.source], view.nodes[link.target], view.scale.radius)
        text = f'<text class="edge-label" x="{x:.1f}" y="{y:.1f}">{escape(_clip(names, 28))}</text>'
    return (
        f'<path class="{classes}"{data} d="{geometry}" marker-end="url(#{marker})">'
        f"<title>{title}</title></path>{text}"
    )


def _edge_label_at(source: Node, target: Node, radius: float) -> tuple[float, float]:
    """Where an edge's label goes: beside the line (not on it), above a self-loop or a bend."""
    if source.key == target.key:  # above the loop drawn by _edge_geometry
        return source.x, source.y - radius - radius * 1.8 - 5
    dx, dy = target.x - source.x, target.y - source.y
    if target.depth <= source.depth:  # the bend above: at its peak, a little higher
        peak = min(source.y, target.y) - max(30.0, abs(dx) / 3) / 2
        return (source.x + target.x) / 2, peak - 8
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    nx, ny = -dy / length, dx / length  # the normal, turned to point up
    if ny > 0 or (ny == 0 and nx > 0):
        nx, ny = -nx, -ny
    offset = 9.0
    x, y = (source.x + target.x) / 2 + nx * offset, (source.y + target.y) / 2 + ny * offset
    return x, y - (4.0 if abs(dy) < 1e-6 else 0.0)


def _edge_geometry(source: Node, target: Node, radius: float) -> str:
    if source.key == target.key:
        x, y, r = source.x, source.y - radius, radius * 0.9
        return f"M{x - r / 2:.1f},{y:.1f}a{r:.1f},{r:.1f} 0 1,1 {r:.1f},0"
    dx, dy = target.x - source.x, target.y - source.y
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    ux, uy = dx / length, dy / length
    x1, y1 = source.x + ux * radius, source.y + uy * radius
    x2, y2 = target.x - ux * (radius + 1), target.y - uy * (radius + 1)
    if target.depth > source.depth:
        return f"M{x1:.1f},{y1:.1f}L{x2:.1f},{y2:.1f}"
    # Same layer or back to an earlier one: bend above, so it is not hidden by forward edges.
    cx, cy = (x1 + x2) / 2, min(y1, y2) - max(30.0, abs(dx) / 3)
    return f"M{x1:.1f},{y1:.1f}Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"


def _node(node: Node, radius: float, labels: bool) -> str:
    classes = ["state"]
    if node.initial:
        classes.append("initial")
    if node.violated:
        classes.append("violating")
    if node.on_paths:
        classes.append("onpath")
    title = f"{node.label}: {', '.join(node.changed) or 'no change'}\n" if node.label else ""
    title += f"state {node.key}\ndepth {node.depth}"
    if node.initial:
        title += "\ninitial state"
    if node.violated:
        title += "\nviolation " + ", ".join(f"#{n}" for n in node.violated)
    data = " ".join(map(str, sorted(set(node.on_paths) | set(node.violated))))
    circle = (
        f'<circle class="{" ".join(classes)}" cx="{node.x:.1f}" cy="{node.y:.1f}" '
        f'r="{radius:.1f}" data-key="{escape(node.key)}" data-v="{data}">'
        f"<title>{escape(title)}</title></circle>"
    )
    if not labels:
        return circle
    label = node.label or short_key(node.key)
    text = (
        f'{circle}<text class="state-label" x="{node.x:.1f}" y="{node.y + radius + 14:.1f}">'
        f"{escape(_clip(label, 26))}</text>"
    )
    if node.changed:
        detail = _clip(", ".join(node.changed), 30)
        text += (
            f'<text class="state-detail" x="{node.x:.1f}" y="{node.y + radius + 29:.1f}">'
            f"{escape(detail)}</text>"
        )
    return text


def _layer_labels(view: GraphView) -> str:
    labels = []
    for layer in view.layers:
        x = layer.x + layer.width / 2
        labels.append(
            f'<text class="layer-label" x="{x:.1f}" y="18">depth {layer.depth}</text>'
            f'<text class="layer-count" x="{x:.1f}" y="32">{_states(layer.states)}</text>'
        )
    return "".join(labels)


def _summary(view: GraphView) -> str:
    top, height = summary_box()
    parts = []
    for layer in view.layers:
        x, middle = layer.x, layer.x + layer.width / 2
        parts.append(
            f'<g class="layer" data-depth="{layer.depth}" data-states="{layer.states}">'
            f'<rect class="layer-box{" violating" if layer.violating else ""}" x="{x:.1f}" '
            f'y="{top:.1f}" width="{layer.width:.1f}" height="{height:.1f}" rx="8"/>'
            f'<text class="layer-label" x="{middle:.1f}" y="{top + 22:.1f}">depth {layer.depth}'
            f'</text><text class="layer-count" x="{middle:.1f}" y="{top + 40:.1f}">'
            f"{_states(layer.states)}</text>"
            + (
                f'<text class="layer-violating" x="{middle:.1f}" y="{top + height - 10:.1f}">'
                f"{layer.violating} violating</text>"
                if layer.violating
                else ""
            )
            + "</g>"
        )
    for layer, following in zip(view.layers, view.layers[1:], strict=False):
        if layer.forward:
            x = (layer.x + layer.width + following.x) / 2
            parts.append(
                f'<text class="layer-count" x="{x:.1f}" y="{top + height - 30:.1f}">'
                f"<title>{layer.forward:,} transitions from depth {layer.depth} to depth "
                f"{following.depth}</title>{layer.forward:,} →</text>"
            )
    for number, trail in sorted(view.paths.items()):
        points = " ".join(f"{view.nodes[k].x:.1f},{view.nodes[k].y:.1f}" for k in trail)
        if len(trail) > 1:
            parts.append(
                f'<polyline class="edge onpath" data-v="{number}" points="{points}" '
                f'marker-end="url(#arrow-hot)"><title>violation #{number}</title></polyline>'
            )
    drawn = {key for trail in view.paths.values() for key in trail}
    for key in sorted(drawn, key=lambda k: bool(view.nodes[k].violated)):
        parts.append(_node(view.nodes[key], 5.0, False))
    return "".join(parts)


def _states(count: int) -> str:
    return f"{count:,} state{'s' if count != 1 else ''}"


def short_key(key: str) -> str:
    """A state key short enough for a label: the graph node (if any) and 8 fingerprint chars."""
    node, _, fingerprint = key.rpartition("|")
    short = fingerprint[:8]
    return f"{node}|{short}" if node else short


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
