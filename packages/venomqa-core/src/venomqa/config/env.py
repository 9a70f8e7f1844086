"""``${VAR}`` and ``${VAR:-default}`` interpolation of configuration strings from the env."""

from __future__ import annotations

import re
from collections.abc import Mapping

from venomqa.errors import ConfigError

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
        return _interpolate_string(value, env, file=file, key=key, used=used)
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
