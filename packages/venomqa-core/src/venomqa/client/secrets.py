"""SecretsManager: where secret values come from, and the set of literals to keep out of records.

A secret is resolved by name (a value set with :meth:`SecretsManager.set`, else an environment
variable) or registered directly with :meth:`SecretsManager.register`. Every value the manager
hands out or is given is remembered, and :meth:`SecretsManager.mask` replaces each occurrence of
any of them (also in its percent-encoded forms) in a piece of text. The client's
``SensitiveDataFilter`` uses this so a token, password or API key never appears in a record.

Values shorter than ``min_length`` characters are not masked as literals: masking ``"a"`` would
mangle every record. They are still protected wherever their header or field name gives them away.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

from venomqa.errors import ConfigError

REDACTED = "***REDACTED***"


class SecretsManager:
    """Resolves secrets by name and remembers every secret value so records can mask it.

    ``environ`` defaults to ``os.environ`` (read at lookup time, so later changes are seen).
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, min_length: int = 4) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._named: dict[str, str] = {}
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self.min_length = min_length

    def register(self, value: str) -> str:
        """Remember ``value`` as a secret to mask wherever it appears; returns it unchanged."""
        if not isinstance(value, str) or len(value) < self.min_length or value in self._values:
            return value
        with self._lock:
            self._values.add(value)
            self._pattern = None
        return value

    def set(self, name: str, value: str) -> None:
        """Define the secret ``name`` (it wins over an environment variable of the same name)."""
        self._named[name] = value
        self.register(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The secret ``name`` (set value, else environment variable), registered for masking."""
        value = self._named.get(name)
        if value is None:
            value = self._environ.get(name)
        if value is None:
            return default
        return self.register(value)

    def require(self, name: str) -> str:
        """Like :meth:`get`, but a missing secret raises a ConfigError saying how to provide it."""
        value = self.get(name)
        if value is None:
            raise ConfigError(
                f"secret {name!r} is not set: export the environment variable {name} "
                "or define it with SecretsManager.set()"
            )
        return value

    @property
    def values(self) -> frozenset[str]:
        """Every secret value registered so far."""
        return frozenset(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._named or (isinstance(name, str) and name in self._environ)

    def mask(self, text: str, replacement: str = REDACTED) -> str:
        """``text`` with every registered secret (plain, percent- or JSON-encoded) replaced."""
        if not self._values or not text:
            return text
        pattern = self._pattern
        if pattern is None:
            pattern = self._compile()
        return pattern.sub(replacement, text)

    def _compile(self) -> re.Pattern[str]:
        with self._lock:
            forms: set[str] = set()
            for value in self._values:
                forms.update((value, quote(value, safe=""), quote_plus(value, safe="")))
                as_json = json.dumps(value)[1:-1]  # how the value looks inside a JSON string
                forms.update((as_json, as_json.replace("/", "\\/")))
            # Longest first, so a secret containing another one is masked whole.
            alternatives = sorted(forms, key=len, reverse=True)
            pattern = re.compile("|".join(re.escape(form) for form in alternatives))
            self._pattern = pattern
            return pattern

    def __repr__(self) -> str:
        return f"SecretsManager({len(self._values)} secret value(s), names={sorted(self._named)})"


__all__ = ["REDACTED", "SecretsManager"]
