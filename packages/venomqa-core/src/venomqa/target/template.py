"""Placeholders in a target's settings: ``{port}``, ``{python}``, ``{stores.KEY.OPTION}``.

``{{`` and ``}}`` are a literal brace. ``render`` replaces every placeholder of one text; an
unknown placeholder, or a brace that opens nothing, is a ConfigError naming the file and the
key (``target.command[2]``) and the placeholders that exist. The same code checks a file at
load time (with a stand-in port) and renders it when the target starts, so both agree.
Cost: one pass over the text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping

from venomqa.errors import ConfigError

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")

#: The placeholders that do not name a store option.
PLAIN_PLACEHOLDERS = ("port", "python")


def placeholders(text: str) -> list[str]:
    """The names inside ``{...}`` in ``text`` (no check that they exist)."""
    return [m.group(1).strip() for m in _TOKEN.finditer(text) if m.group(1) is not None]


def option_text(value: object) -> str | None:
    """A store option as text for a placeholder (``true``/``false`` for booleans); None when
    it is not a plain value (a list, a mapping, null)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


class Values:
    """What the placeholders stand for: the port, the interpreter, the stores' options."""

    def __init__(
        self, *, port: int, python: str, stores: Mapping[str, Mapping[str, object]]
    ) -> None:
        self.plain = {"port": str(port), "python": python}
        self.stores = stores

    def lookup(self, name: str) -> str:
        """The value of the placeholder ``name``; KeyError with the reason when there is none."""
        if name in self.plain:
            return self.plain[name]
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "stores" or not all(parts):
            raise KeyError(
                f"unknown placeholder {{{name}}}; known: {{port}}, {{python}}, "
                "{stores.KEY.OPTION} (write {{ and }} for a literal brace)"
            )
        _, store, option = parts
        options = self.stores.get(store)
        if options is None:
            known = ", ".join(sorted(self.stores)) or "none"
            raise KeyError(f"{{{name}}}: there is no store {store!r} (stores: {known})")
        if option not in options:
            known = ", ".join(sorted(options)) or "none"
            raise KeyError(
                f"{{{name}}}: store {store!r} has no option {option!r} "
                f"(its options in the file: {known})"
            )
        text = option_text(options[option])
        if text is None:
            raise KeyError(
                f"{{{name}}}: option {option!r} of store {store!r} is not a plain value "
                f"(got {options[option]!r})"
            )
        return text


def render(
    text: str,
    values: Values,
    *,
    key: str,
    file: str | None,
    quote: Callable[[str], str] | None = None,
) -> str:
    """``text`` with every placeholder replaced (each value passed through ``quote`` if given,
    e.g. ``shlex.quote`` for a shell command)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:
            raise ConfigError(
                f"a lone {token!r} in {text!r}; write {token * 2} for a literal brace",
                file=file,
                key=key,
            )
        try:
            value = values.lookup(name.strip())
        except KeyError as exc:
            raise ConfigError(str(exc.args[0]), file=file, key=key) from None
        return quote(value) if quote is not None else value

    return _TOKEN.sub(replace, text)


def shell_quote(value: str) -> str:
    """A value put into a shell command: quoted when the shell would split or expand it."""
    return shlex.quote(value)
