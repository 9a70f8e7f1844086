"""``${VAR}`` and ``${VAR:-default}`` interpolation of configuration strings from the env.

A scalar that is one reference and nothing else (``max_depth: ${DEPTH:-6}``) becomes an
``EnvValue``: text that remembers the variable it came from, so the validator can give it the
type the key declares (``integer``, ``number``, ``boolean``) instead of rejecting a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from venomqa.errors import ConfigError

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_WHOLE = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}\s*")


class EnvValue(str):
    """Text a whole-scalar ``${VAR}`` reference produced; ``variable`` names VAR."""

    variable: str

    def __new__(cls, text: str, variable: str = "") -> EnvValue:
        value = super().__new__(cls, text)
        value.variable = variable
        return value

    @property
    def origin(self) -> str:
        """``from ${VAR}``, for messages."""
        return f"from ${{{self.variable}}}"


def interpolate(
    value: object,
    env: Mapping[str, str],
    *,
    file: str,
    key: str,
    used: set[str] | None = None,
) -> object:
    """Replace every ``${VAR}`` in the strings of ``value`` (a YAML value: mappings and lists
    are copied, recursively; other values are kept); ``$$`` is a literal $. The values taken
    from ``env`` are added to ``used`` when given (the loader treats those put into headers and
    ``auth`` as secrets).

    A variable that is unset and has no default is a ConfigError naming it and the key path.
    """
    if isinstance(value, str):
        text = _interpolate_string(value, env, file=file, key=key, used=used)
        whole = _WHOLE.fullmatch(value)
        return EnvValue(text, whole.group(1)) if whole else text
    if isinstance(value, dict):
        return {
            k: interpolate(v, env, file=file, key=_join(key, str(k)), used=used)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate(v, env, file=file, key=f"{key}[{i}]", used=used)
            for i, v in enumerate(value)
        ]
    return value


def _interpolate_string(
    text: str, env: Mapping[str, str], *, file: str, key: str, used: set[str] | None
) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            if used is not None:
                used.add(env[name])
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set (set it, or write ${{{name}:-default}})",
            file=file,
            key=key,
        )

    return _REFERENCE.sub(replace, text)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key
