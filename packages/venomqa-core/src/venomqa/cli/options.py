"""Command-line options that several commands share, written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from venomqa.config import DEFAULT_CONFIG_NAME

F = TypeVar("F", bound=Callable[..., object])


def config_option(help: str) -> Callable[[F], F]:
    """``-c/--config PATH`` (default ``venomqa.yaml``), passed to the command as ``config_path``."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        default=DEFAULT_CONFIG_NAME,
        show_default=True,
        type=click.Path(dir_okay=False),
        help=help,
    )
