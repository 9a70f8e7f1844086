"""The HTML report's inline stylesheet and script (the page loads nothing from the network)."""

from __future__ import annotations

CSS = """
:root { --bg:#fafafa; --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --card:#fff;
  --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --hot:#e36209; --accent:#0969da; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif; color:var(--fg);
  background:var(--bg); }
header { padding:20px 28px; background:#24292f; color:#fff; }
header h1 { margin:0 0 4px; font-size:22px; }
header .target { color:#d0d7de; font-family:ui-monospace,monospace; }
main { padding:12px 28px 40px; max-width:1400px; }
section { margin:22px 0; }
h2 { font-size:18px; border-bottom:1px solid var(--line); padding-bottom:4px; }
h3 { font-size:15px; margin:8px 0; }
.verdict { display:inline-block; margin-top:8px; padding:3px 10px; border-radius:12px;
  font-weight:600; }
.verdict.ok { background:var(--ok); } .verdict.failed { background:var(--bad); }
.cards { display:flex; flex-wrap:wrap; gap:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:10px 16px; min-width:130px; }
.card .value { font-size:22px; font-weight:600; } .card .label { color:var(--muted); }
table { border-collapse:collapse; background:var(--card); }
th, td { border:1px solid var(--line); padding:4px 10px; text-align:left; vertical-align:top; }
th { background:#f6f8fa; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.tag { display:inline-block; padding:0 7px; border-radius:10px; font-size:12px;
  font-weight:600; color:#fff; background:var(--muted); }
.tag.fired, .tag.pass, .tag.ok { background:var(--ok); }
.tag.never, .tag.client { background:var(--warn); }
.tag.fail, .tag.server, .tag.critical, .tag.high { background:var(--bad); }
.tag.medium { background:var(--hot); } .tag.low { background:var(--warn); }
.tag.none { background:#57606a; }
.violation { background:var(--card); border:1px solid var(--line);
  border-left:4px solid var(--bad); border-radius:6px; padding:10px 16px; margin:12px 0; }
.violation .message { font-family:ui-monospace,monospace; white-space:pre-wrap; }
.path { font-family:ui-monospace,monospace; color:var(--muted); }
.seen { font-weight:600; color:var(--hot); margin:4px 0; }
.examples { color:var(--muted); } .examples ul { margin:2px 0; }
ol.timeline { list-style:none; padding-left:0; margin:8px 0; border-left:2px solid var(--line); }
ol.timeline > li { position:relative; margin:0 0 10px 18px; }
ol.timeline > li::before { content:attr(data-n); position:absolute; left:-30px; top:0;
  width:22px; height:22px; border-radius:11px; background:var(--accent); color:#fff;
  font-size:12px; text-align:center; line-height:22px; }
ol.timeline > li.last::before { background:var(--bad); }
.call { font-family:ui-monospace,monospace; }
.call .method { font-weight:700; }
.error { color:var(--bad); font-family:ui-monospace,monospace; white-space:pre-wrap; }
details { margin:2px 0; } summary { cursor:pointer; color:var(--accent); }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:8px;
  overflow:auto; max-height:420px; margin:4px 0; font-size:12px; }
.muted { color:var(--muted); }
.graph-wrap { overflow:auto; background:var(--card); border:1px solid var(--line);
  border-radius:8px; max-height:80vh; }
svg.graph { display:block; font:13px system-ui,sans-serif; }
svg.graph .edge { fill:none; stroke:#8c959f; stroke-width:1; opacity:.7; }
svg.graph .edge.merged { opacity:.35; }
svg.graph .edge.onpath { stroke:var(--hot); stroke-width:2.5; opacity:1; }
svg.graph .arrowhead { fill:#8c959f; } svg.graph .arrowhead.hot { fill:var(--hot); }
svg.graph circle.state { fill:#ddf4ff; stroke:#0969da; stroke-width:1.2; }
svg.graph circle.state.initial { fill:#0969da; }
svg.graph circle.state.onpath { stroke:var(--hot); stroke-width:2.5; }
svg.graph circle.state.violating { fill:var(--bad); stroke:#82071e; stroke-width:2.5; }
svg.graph .state-label, svg.graph .state-detail, svg.graph .edge-label, svg.graph .layer-label,
svg.graph .layer-count, svg.graph .layer-violating { text-anchor:middle; fill:var(--muted); }
svg.graph .layer-label { font-weight:600; fill:var(--fg); }
svg.graph .edge-label, svg.graph .state-label, svg.graph .state-detail { paint-order:stroke;
  stroke:#fff; stroke-width:3px; }
svg.graph .state-detail { fill:var(--muted); }
.changed { color:var(--muted); font-size:13px; }
.frames ol { margin:2px 0; } .frames li.user code { font-weight:600; }
svg.graph .layer-violating { fill:var(--bad); font-weight:600; }
svg.graph .layer-box { fill:#f6f8fa; stroke:var(--line); }
svg.graph .layer-box.violating { stroke:var(--bad); }
svg.graph.focus .onpath:not(.sel), svg.graph.focus .violating:not(.sel) { opacity:.15; }
.legend span { margin-right:16px; } .legend i { display:inline-block; width:12px; height:12px;
  border-radius:6px; vertical-align:-1px; margin-right:4px; border:2px solid #0969da; }
.legend i.initial { background:#0969da; } .legend i.violating { background:var(--bad);
  border-color:#82071e; } .legend i.onpath { border-color:var(--hot); background:#ddf4ff; }
button.show { font:inherit; font-size:12px; padding:1px 8px; cursor:pointer; }
.journey { background:var(--card); border:1px solid var(--line); border-radius:6px;
  padding:8px 16px; margin:12px 0; }
.journey.failed { border-left:4px solid var(--bad); }
.journey.passed { border-left:4px solid var(--ok); }
footer { color:var(--muted); padding:0 28px 20px; }
"""

# Focus the graph on one violation's path: dim every other path and violating state.
SCRIPT = """
(function () {
  var svg = document.querySelector('svg.graph');
  function focus(n) {
    if (!svg) return;
    var marked = svg.querySelectorAll('.sel');
    for (var i = 0; i < marked.length; i++) marked[i].classList.remove('sel');
    if (!n) { svg.classList.remove('focus'); return; }
    svg.classList.add('focus');
    var all = svg.querySelectorAll('[data-v]');
    for (var j = 0; j < all.length; j++) {
      if ((' ' + all[j].getAttribute('data-v') + ' ').indexOf(' ' + n + ' ') >= 0) {
        all[j].classList.add('sel');
      }
    }
    document.getElementById('graph').scrollIntoView({behavior: 'smooth'});
  }
  var buttons = document.querySelectorAll('button.show');
  for (var k = 0; k < buttons.length; k++) {
    buttons[k].addEventListener('click', function (event) {
      focus(event.currentTarget.getAttribute('data-v'));
    });
  }
})();
"""
