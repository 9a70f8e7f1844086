"""The built-in commands: where each lives and its one-line help, in one place.

``venomqa --help`` lists them from here without importing them (so it starts fast), and each
command takes its ``short_help`` from here, so the two cannot disagree.
"""

from __future__ import annotations

#: command name -> ("module:attribute", one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("venomqa.cli.run:run", "Explore the API and run journeys as venomqa.yaml says."),
    "demo": (
        "venomqa.cli.demo:demo",
        "Find a seeded bug in a bundled demo API (needs nothing else).",
    ),
    "init": ("venomqa.cli.init:init", "Write a starter venomqa.yaml and actions module."),
    "replay": (
        "venomqa.cli.replay:replay",
        "Re-send a reported violation's calls to the live API.",
    ),
    "recover": (
        "venomqa.cli.recover:recover",
        "Repair what a killed run left in the stores of venomqa.yaml.",
    ),
    "plugins": ("venomqa.cli.plugins_cmd:plugins", "Show installed plugins."),
}


def short_help(name: str) -> str:
    """The one-line help of the built-in command ``name``."""
    return COMMANDS[name][1]
