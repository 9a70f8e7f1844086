"""``venomqa plugins``: show which plugins are installed, what each provides and why one is broken.

    venomqa plugins list           a table; broken plugins' errors are printed under it
    venomqa plugins list --json    a JSON list: name, distribution, version, entry_point,
                                   adapters, reporters, commands, error (null when loaded),
                                   strategies, sources, backends

Kept light: it imports only the plugin machinery, never the HTTP client or the explorer.
"""

from __future__ import annotations

import json

import click

from venomqa.cli.catalog import short_help
from venomqa.plugins import PluginInfo, plugin_infos

_HEADERS = ("NAME", "DISTRIBUTION", "VERSION", "PROVIDES", "STATUS")


def _provides(info: PluginInfo) -> str:
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (
            ("adapters", info.adapters),
            ("reporters", info.reporters),
            ("strategies", info.strategies),
            ("backends", info.backends),
            ("sources", info.sources),
            ("commands", info.commands),
        )
        if names
    ]
    return "; ".join(parts) or "-"


def _rows(infos: list[PluginInfo]) -> list[tuple[str, ...]]:
    return [
        (
            info.name,
            info.distribution or "-",
            info.version or "-",
            _provides(info),
            "ok" if info.error is None else "BROKEN (see below)",
        )
        for info in infos
    ]


def format_table(infos: list[PluginInfo]) -> str:
    """The human-readable listing: one aligned row per plugin, then each broken plugin's error."""
    rows = [_HEADERS, *_rows(infos)]
    widths = [max(len(row[col]) for row in rows) for col in range(len(_HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    broken = [info for info in infos if info.error is not None]
    if broken:
        lines.append("")
        lines.append("Errors:")
        for info in broken:
            where = f" [{info.entry_point}]" if info.entry_point else ""
            lines.append(f"  {info.name}{where}: {info.error}")
    return "\n".join(lines)


@click.group(name="plugins", short_help=short_help("plugins"))
def plugins() -> None:
    """Inspect installed VenomQA plugins."""


@plugins.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_plugins(as_json: bool) -> None:
    """List plugins: distribution, version, entry point, what each provides, and load errors."""
    infos = plugin_infos()
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
    else:
        click.echo(format_table(infos))
