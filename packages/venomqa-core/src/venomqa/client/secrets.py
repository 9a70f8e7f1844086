"""SecretsManager: where secret values come from, and the set of literals to keep out of records.

A secret is resolved by name (a value set with :meth:`SecretsManager.set`, else an environment
variable) or registered directly with :meth:`SecretsManager.register`. Every value the manager
hands out or is given is remembered, and :meth:`SecretsManager.mask` replaces each occurrence of
any of them (also percent-encoded, JSON-escaped, or as ``repr()`` shows it) in a piece of text.
The client's ``SensitiveDataFilter`` uses this so a token, password or API key never appears in a
record.

Values shorter than ``min_length`` characters are not masked as literals: masking ``"a"`` would
mangle every record. They are still protected wherever their header or field name gives them away.

A manager also *learns* values: the filter hands it each value it redacted because of its name (a
``password`` field, a token header, an ``api_key`` parameter). Records do not mask learned values
as literals (a long run learns thousands of tokens, and records are made on every call); reports
do: :func:`secrets_in_use` gathers what every manager of the process registered and learned, so a
report masks a session token or a password also where no name gives it away (an API echoing it,
an error message or an assertion quoting it).
"""

from __future__ import annotations

import json
import os
import re
import threading
import weakref
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

from venomqa.errors import ConfigError

REDACTED = "***REDACTED***"

#: Learned values shorter than this are not kept: reports mask learned values in every text, and a
#: short one (a PIN, a test password such as ``"x"``) would mangle them.
LEARN_MIN_LENGTH = 6
#: At most this many values are learned per manager (the first ones).
LEARN_LIMIT = 10_000
#: Above this many forms to mask, masking replaces each form in turn (see ``_Masker``).
_REGEX_FORMS = 256

#: Every SecretsManager not yet garbage-collected: what :func:`secrets_in_use` gathers.
_IN_USE: weakref.WeakSet[SecretsManager] = weakref.WeakSet()


class SecretsManager:
    """Resolves secrets by name and remembers every secret value so records can mask it.

    ``environ`` defaults to ``os.environ`` (read at lookup time, so later changes are seen).
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, min_length: int = 4) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._named: dict[str, str] = {}
        self._values: set[str] = set()
        self._learned: dict[str, None] = {}  # insertion-ordered
        self._lock = threading.Lock()
        self._masker: _Masker | None = None
        self.min_length = min_length
        _IN_USE.add(self)

    def register(self, value: str) -> str:
        """Remember ``value`` as a secret to mask wherever it appears; returns it unchanged."""
        if not isinstance(value, str) or len(value) < self.min_length or value in self._values:
            return value
        with self._lock:
            self._values.add(value)
            self._masker = None
        return value

    def learn(self, value: str) -> str:
        """Remember ``value``, found under a credential's name, for reports to mask wherever it
        shows up (see :func:`secrets_in_use`); returns it unchanged. Unlike :meth:`register`,
        this manager's :meth:`mask` does not mask it."""
        if (
            isinstance(value, str)
            and len(value) >= max(self.min_length, LEARN_MIN_LENGTH)
            and value not in self._learned
            and value not in self._values
            and len(self._learned) < LEARN_LIMIT
        ):
            with self._lock:
                self._learned[value] = None
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

    @property
    def learned(self) -> frozenset[str]:
        """Every value learned so far (see :meth:`learn`)."""
        return frozenset(self._learned)

    def __contains__(self, name: object) -> bool:
        return name in self._named or (isinstance(name, str) and name in self._environ)

    def mask(self, text: str, replacement: str = REDACTED) -> str:
        """``text`` with every registered secret (plain, percent- or JSON-encoded, or as repr()
        shows it) replaced."""
        if not self._values or not text:
            return text
        masker = self._masker
        if masker is None:
            masker = self._compile()
        return masker(text, replacement)

    def _compile(self) -> _Masker:
        with self._lock:
            forms: set[str] = set()
            for value in self._values:
                forms.update((value, quote(value, safe=""), quote_plus(value, safe="")))
                as_json = json.dumps(value)[1:-1]  # how the value looks inside a JSON string
                forms.update((as_json, as_json.replace("/", "\\/")))
                forms.add(repr(value)[1:-1])  # inside a message quoting a dict or a repr()
            # Longest first, so a secret containing another one is masked whole.
            masker = _Masker(sorted(forms, key=len, reverse=True))
            self._masker = masker
            return masker

    def __repr__(self) -> str:
        return f"SecretsManager({len(self._values)} secret value(s), names={sorted(self._named)})"


class _Masker:
    """Replaces each of ``forms`` (longest first) in a text: with one regex, or with one
    ``str.replace`` per form present when there are many (a regex of thousands of alternatives
    is slow to build and to run)."""

    def __init__(self, forms: list[str]) -> None:
        self.forms = forms
        self.pattern = (
            re.compile("|".join(re.escape(form) for form in forms))
            if len(forms) <= _REGEX_FORMS
            else None
        )

    def __call__(self, text: str, replacement: str) -> str:
        if self.pattern is not None:
            return self.pattern.sub(replacement, text)
        for form in self.forms:
            if form in text:
                text = text.replace(form, replacement)
        return text


def secrets_in_use() -> SecretsManager:
    """A new SecretsManager masking every value that the managers still in use in this process
    registered or learned (each client's: its auth, credential headers, and what it redacted by
    name). Reports mask with it: they show text no record went through (a violation's message,
    an action's error, a learned value's reason) and replay what an API echoed."""
    combined = SecretsManager(environ={})
    for manager in list(_IN_USE):
        if manager is combined:
            continue
        with manager._lock:
            values = [*manager._values, *manager._learned]
        for value in values:
            combined.register(value)
    return combined


__all__ = ["LEARN_LIMIT", "LEARN_MIN_LENGTH", "REDACTED", "SecretsManager", "secrets_in_use"]
