"""The ``openapi:`` section of venomqa.yaml, validated: where the spec is and what to do with it.

    openapi: ./openapi.yaml                       # a path (relative to venomqa.yaml) or a URL
    openapi:
      spec: http://127.0.0.1:8000/openapi.json
      seed: 0                                     # input generation (a replay sends the same)
      include: [createItem, getItem]              # only these operations (default: all)
      exclude: [deleteEverything]
      invalid_per_operation: 3                    # boundary / invalid variants per operation
      checks: {schema: false}                     # switch built-in checks off
      wiring: {"getItem.item_id": "createItem#/id"}  # correct a guess: PARAM <- OP#/pointer
      shared: [getPublicItem]                     # readable by every identity (no BOLA check)
      sensitive_fields: [is_admin, role]          # mass-assignment candidates (added to guesses)
      auth:                                       # two or more identities: BOLA and mass
        alice: {headers: {X-User: alice}}         #   assignment checks; the first is the main
        bob:   {login: {operation: login, body: {user: bob, password: pw}, token: /token}}

Every error is a ConfigError naming the file and the key path (``openapi.checks.shema``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from venomqa.errors import ConfigError

#: The built-in checks, each on by default (5xx: core's ``explore.check_server_errors``).
CHECKS = (
    "status_documented",
    "schema",
    "retrievable",
    "deleted_gone",
    "listed",
    "bola",
    "mass_assignment",
)
_KEYS = (
    "spec",
    "seed",
    "include",
    "exclude",
    "invalid_per_operation",
    "checks",
    "wiring",
    "shared",
    "sensitive_fields",
    "auth",
)
_IDENTITY_KEYS = ("headers", "login")
_LOGIN_KEYS = ("operation", "body", "token", "header", "format")


@dataclass(frozen=True)
class Login:
    """Log in by calling ``operation`` with ``body``; the token is at JSON pointer ``token`` of
    the response and goes into header ``header`` formatted by ``format``."""

    operation: str
    body: dict[str, object]
    token: str = "/access_token"
    header: str = "Authorization"
    format: str = "Bearer {token}"


@dataclass(frozen=True)
class Identity:
    """One user of the API: fixed headers, a login, or both."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)
    login: Login | None = None


@dataclass(frozen=True)
class Wire:
    """A value for parameter ``param`` of ``operation``, taken from ``source``'s responses at
    ``pointer`` (a JSON pointer into the body, or ``@Header-Name``)."""

    operation: str
    param: str
    source: str
    pointer: str


@dataclass(frozen=True)
class Settings:
    """The validated section."""

    spec: str
    seed: int = 0
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    invalid_per_operation: int = 3
    checks: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(CHECKS, True))
    wiring: tuple[Wire, ...] = ()
    shared: tuple[str, ...] = ()
    sensitive_fields: tuple[str, ...] = ()
    identities: tuple[Identity, ...] = ()

    def on(self, check: str) -> bool:
        """Whether built-in check ``check`` is switched on."""
        return self.checks.get(check, True)


class _Reader:
    def __init__(self, file: str, folder: Path) -> None:
        self.file = file
        self.folder = folder

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, key=key)

    def keys(self, raw: dict[object, object], allowed: tuple[str, ...], key: str) -> None:
        for name in raw:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(
                    f"{key}.{name}", f"unknown key{hint}; expected one of: {', '.join(allowed)}"
                )

    def mapping(self, value: object, key: str, what: str) -> dict[object, object]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping of {what}, got {value!r}")
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def names(self, value: object, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of names, got {value!r}")
        return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(value))

    def integer(self, value: object, key: str) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(key, f"expected an integer >= 0, got {value!r}")
        return value

    def spec(self, value: object, key: str) -> str:
        text = self.text(value, key)
        if "://" in text:
            if not text.startswith(("http://", "https://")):
                raise self.error(key, f"expected a file path or an http(s) URL, got {text!r}")
            return text
        path = (self.folder / Path(text).expanduser()).resolve()
        if not path.is_file():
            raise self.error(key, f"OpenAPI document not found: {path}")
        return str(path)

    def checks(self, value: object) -> dict[str, bool]:
        checks = dict.fromkeys(CHECKS, True)
        if value is None:
            return checks
        raw = self.mapping(value, "openapi.checks", "check names to true/false")
        self.keys(raw, CHECKS, "openapi.checks")
        for name, switch in raw.items():
            if not isinstance(switch, bool):
                raise self.error(
                    f"openapi.checks.{name}", f"expected true or false, got {switch!r}"
                )
            checks[str(name)] = switch
        return checks

    def wiring(self, value: object) -> tuple[Wire, ...]:
        if value is None:
            return ()
        raw = self.mapping(value, "openapi.wiring", '"OPERATION.PARAM" to "SOURCE#/pointer"')
        wires = []
        for target, origin in raw.items():
            key = f"openapi.wiring.{target}"
            operation, dot, param = str(target).partition(".")
            text = self.text(origin, key)
            source, _, pointer = text.partition("#")
            if "@" in source and not pointer:
                source, _, header = source.partition("@")
                pointer = "@" + header
            if not dot or not operation or not param or not source or not pointer:
                raise self.error(
                    key,
                    'expected "OPERATION.PARAM": "SOURCE_OPERATION#/json/pointer" '
                    f'(or "SOURCE_OPERATION@Header"), got {target!r}: {text!r}',
                )
            if not pointer.startswith(("/", "@")):
                pointer = "/" + pointer
            wires.append(Wire(operation, param, source.strip(), pointer))
        return tuple(wires)

    def identities(self, value: object) -> tuple[Identity, ...]:
        if value is None:
            return ()
        raw = self.mapping(value, "openapi.auth", "identity names to {headers: ..., login: ...}")
        identities = []
        for name, body in raw.items():
            key = f"openapi.auth.{name}"
            entry = self.mapping(body, key, "{headers: {NAME: VALUE}} or {login: {...}}")
            self.keys(entry, _IDENTITY_KEYS, key)
            if not entry:
                raise self.error(key, "expected `headers:` or `login:`")
            headers = {
                str(k): str(v)
                for k, v in self.mapping(
                    entry.get("headers", {}), f"{key}.headers", "header names to values"
                ).items()
            }
            login = None if entry.get("login") is None else self.login(entry["login"], key)
            identities.append(Identity(str(name), headers, login))
        return tuple(identities)

    def login(self, value: object, key: str) -> Login:
        key = f"{key}.login"
        raw = self.mapping(value, key, "{operation: OP, body: {...}, token: /pointer}")
        self.keys(raw, _LOGIN_KEYS, key)
        body = self.mapping(raw.get("body", {}), f"{key}.body", "request body fields")
        token = self.text(raw.get("token", "/access_token"), f"{key}.token")
        return Login(
            operation=self.text(raw.get("operation"), f"{key}.operation"),
            body={str(k): v for k, v in body.items()},
            token=token if token.startswith("/") else "/" + token,
            header=self.text(raw.get("header", "Authorization"), f"{key}.header"),
            format=self.text(raw.get("format", "Bearer {token}"), f"{key}.format"),
        )


def read_settings(section: object, *, file: str, folder: Path) -> Settings:
    """Validate the ``openapi:`` value (a spec path/URL, or a mapping with ``spec:``)."""
    reader = _Reader(file, folder)
    if isinstance(section, str):
        return Settings(spec=reader.spec(section, "openapi"))
    raw = reader.mapping(section, "openapi", "settings with a `spec:` key, or a path/URL")
    reader.keys(raw, _KEYS, "openapi")
    if raw.get("spec") is None:
        raise reader.error("openapi.spec", "missing: expected the OpenAPI document's path or URL")
    return Settings(
        spec=reader.spec(raw["spec"], "openapi.spec"),
        seed=reader.integer(raw.get("seed", 0), "openapi.seed"),
        include=reader.names(raw.get("include"), "openapi.include"),
        exclude=reader.names(raw.get("exclude"), "openapi.exclude"),
        invalid_per_operation=reader.integer(
            raw.get("invalid_per_operation", 3), "openapi.invalid_per_operation"
        ),
        checks=reader.checks(raw.get("checks")),
        wiring=reader.wiring(raw.get("wiring")),
        shared=reader.names(raw.get("shared"), "openapi.shared"),
        sensitive_fields=reader.names(raw.get("sensitive_fields"), "openapi.sensitive_fields"),
        identities=reader.identities(raw.get("auth")),
    )
