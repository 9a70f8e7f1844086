"""The ``venomqa`` click group and the console-script entry point ``main()``.

This is the one place errors become messages: a VenomQAError prints ``Error: ...`` on stderr and
exits with its code (2 usage/config, 3 infrastructure). Ctrl-C, SIGTERM (a cancelled CI job,
``timeout``) and SIGHUP (a closed terminal) all take the same path: the run stops, the stores are
rolled back, the reports are written with what was found, and the process exits 128 + the signal
(130, 143, 129). VenomQA's own warnings (a store that repaired an earlier run's leftovers) print
as one plain line. Subcommands are imported only when they run, so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

import click

from venomqa.cli.catalog import COMMANDS, short_help
from venomqa.errors import LeftoversRepaired, RunInterrupted, VenomQAError, VenomQAWarning
from venomqa.interrupts import signal_name

EXIT_INTERRUPTED = 130
#: Signals that stop a run like Ctrl-C does (SIGINT already raises KeyboardInterrupt).
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

#: command name -> "module:attribute", imported on first use.
LAZY_COMMANDS = {name: spec for name, (spec, _) in COMMANDS.items()}


class LazyGroup(click.Group):
    """A click group whose built-in commands are imported when first needed, and which turns
    VenomQAError and Ctrl-C into messages and exit codes."""

    #: Whether plugins have added their commands yet (set per group on first use).
    _plugins_registered = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._register_plugin_commands()
        return sorted({*LAZY_COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = LAZY_COMMANDS.get(cmd_name)
        if spec is not None:
            if cmd_name not in self.commands:
                module_name, attribute = spec.split(":")
                try:
                    command = getattr(importlib.import_module(module_name), attribute)
                except (ImportError, AttributeError) as exc:
                    return _broken_command(cmd_name, spec, exc)
                self.add_command(command, cmd_name)
            return self.commands[cmd_name]
        if cmd_name not in self.commands:
            self._register_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._register_plugin_commands()
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, short_help(name)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 20)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        try:
            with signals_interrupt(), plain_warnings():
                return super().invoke(ctx)
        except VenomQAError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as interrupt:
            click.echo(f"\n{interrupted_message(interrupt)}", err=True)
            ctx.exit(getattr(interrupt, "exit_code", EXIT_INTERRUPTED))

    def _register_plugin_commands(self) -> None:
        if self._plugins_registered:
            return
        self._plugins_registered = True
        try:
            from venomqa.plugins import register_commands
        except ImportError:
            return
        try:
            register_commands(self)
        except VenomQAError as exc:
            click.echo(f"Warning: plugin commands unavailable: {exc}", err=True)


def interrupted_message(interrupt: KeyboardInterrupt) -> str:
    """``Interrupted by SIGTERM; stores rolled back and checked: db, cache.`` (naming only
    stores the run really rolled back and checked)."""
    signum = getattr(interrupt, "signum", signal.SIGINT)
    restored = getattr(interrupt, "restored", ())
    checked = f"; stores rolled back and checked: {', '.join(restored)}" if restored else ""
    return f"Interrupted by {signal_name(signum)}{checked}."


@contextmanager
def plain_warnings() -> Iterator[None]:
    """While inside, VenomQA's own warnings print as one plain line on stderr (``note:`` for
    repaired leftovers, ``warning:`` otherwise) instead of Python's file:line format."""
    original = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if not issubclass(category, VenomQAWarning):
            original(message, category, filename, lineno, file, line)
            return
        label = "note" if issubclass(category, LeftoversRepaired) else "warning"
        click.echo(f"{label}: {message}", err=True)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP interrupt the main thread as Ctrl-C does (raising
    RunInterrupted with the signal), so every way of stopping a run cleans up the same way."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise RunInterrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, interrupt) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _broken_command(name: str, spec: str, exc: BaseException) -> click.Command:
    def unavailable() -> None:
        from venomqa.errors import UsageError

        raise UsageError(f"command {name!r} is unavailable ({spec}): {exc}")

    return click.Command(name, callback=unavailable, help=f"(unavailable: {exc})")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="venomqa-core", prog_name="venomqa")
def cli() -> None:
    """VenomQA: stateful API testing.

    Write actions (one API call each) and invariants (rules that must hold in every state);
    VenomQA explores every reachable sequence of calls, rolls your stores back between branches,
    and reports each violation with its shortest reproduction.

    Exit codes: 0 clean, 1 violations found, 2 usage or configuration error, 3 API or store
    unreachable, 130 interrupted.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: ``venomqa = "venomqa.cli.main:main"``."""
    cli.main(args=argv, prog_name="venomqa")


if __name__ == "__main__":
    main(sys.argv[1:])
