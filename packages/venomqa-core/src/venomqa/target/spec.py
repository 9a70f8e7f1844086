"""TargetSpec: how to start the API under test (``target:`` as a mapping in venomqa.yaml).

A spec holds templates; ``TargetSpec.render`` fills in one launch's values (a free port, the
stores' options) and gives a ``Launch``: the URL, the command, its environment, the readiness URL.
``TargetSpec.check`` renders with a stand-in port so that a misspelt placeholder is reported
when the file is loaded, naming the key (``target.env.DATABASE_URL``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from venomqa.target.template import Values, render, shell_quote

#: Seconds to wait for the API to answer ``ready`` when the file does not say.
DEFAULT_READY_TIMEOUT_S = 30.0
#: Seconds between SIGTERM and SIGKILL when stopping the API's process group.
DEFAULT_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TargetSpec:
    """The API and, optionally, the command that starts it; every text may hold placeholders
    (``{port}``, ``{python}``, ``{stores.KEY.OPTION}``) except ``cwd``.

    ``command`` is a program and its arguments (run directly) or one string (run by
    ``/bin/sh -c``; values put into it are shell-quoted). ``ready`` is a path on ``url``
    (``/health``) or a full URL; None means ``url`` itself. Any HTTP answer below 500 counts as
    ready. ``cwd`` is an absolute folder (the loader resolves it against venomqa.yaml's);
    None means the current folder. ``file`` is the configuration file, for messages.
    """

    url: str
    command: tuple[str, ...] | str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready: str | None = None
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S
    cwd: str | None = None
    file: str | None = None

    def render(
        self,
        *,
        port: int,
        stores: Mapping[str, Mapping[str, object]],
        python: str = sys.executable,
    ) -> Launch:
        """This spec with ``port``, ``python`` and the ``stores``' options (store key -> its
        options) filled in. An unknown placeholder is a ConfigError naming ``self.file`` and
        the key."""
        values = Values(port=port, python=python, stores=stores)
        file = self.file
        url = render(self.url, values, key="target.url", file=file).rstrip("/")
        command: tuple[str, ...] | str | None
        if isinstance(self.command, str):
            command = render(
                self.command, values, key="target.command", file=file, quote=shell_quote
            )
        elif self.command is not None:
            command = tuple(
                render(part, values, key=f"target.command[{i}]", file=file)
                for i, part in enumerate(self.command)
            )
        else:
            command = None
        env = {
            name: render(value, values, key=f"target.env.{name}", file=file)
            for name, value in self.env.items()
        }
        ready = url
        if self.ready is not None:
            given = render(self.ready, values, key="target.ready", file=file)
            ready = url + given if given.startswith("/") else given
        return Launch(url=url, command=command, env=env, ready_url=ready, cwd=self.cwd)

    def check(self, stores: Mapping[str, Mapping[str, object]]) -> None:
        """Raise the ConfigError ``render`` would (unknown placeholders, lone braces)."""
        self.render(port=0, stores=stores)

    def describe(self) -> str:
        """The command as a user would type it, for messages (placeholders as written)."""
        return describe_command(self.command)


@dataclass(frozen=True)
class Launch:
    """One launch of a TargetSpec, every placeholder filled in."""

    url: str
    command: tuple[str, ...] | str | None
    env: Mapping[str, str]
    ready_url: str
    cwd: str | None

    def describe(self) -> str:
        """The command as a user would type it, for messages."""
        return describe_command(self.command)


def describe_command(command: tuple[str, ...] | str | None) -> str:
    """``uvicorn app:app --port 8123`` for a list (quoted where needed), the string as is."""
    if command is None:
        return "(no command)"
    if isinstance(command, str):
        return command
    import shlex

    return shlex.join(command)
