"""Read ``venomqa.yaml``, interpolate the environment, validate every key into a Config.

Each error names the file, the key path (``explore.max_depth``, ``stores.db.adapter``) and what
was expected, and is raised as :class:`venomqa.errors.ConfigError` (exit code 2).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from venomqa.config.env import EnvValue, interpolate
from venomqa.config.model import (
    AuthConfig,
    ClientConfig,
    Config,
    ExploreOptions,
    ReportConfig,
    StoreConfig,
    default_report_path,
)
from venomqa.config.suggest import unknown_name_message
from venomqa.errors import ConfigError
from venomqa.target.spec import DEFAULT_READY_TIMEOUT_S, DEFAULT_STOP_TIMEOUT_S, TargetSpec
from venomqa.target.template import option_text, placeholders

if TYPE_CHECKING:
    from venomqa.plugins import PluginInfo

DEFAULT_CONFIG_NAME = "venomqa.yaml"

_TOP_LEVEL = (
    "target",
    "actions",
    "stores",
    "context",
    "explore",
    "reports",
    "auth",
    "headers",
    "timeout",
    "client",
)
#: ``target:`` as a mapping; every key but ``url`` needs ``command``.
_TARGET = ("url", "command", "env", "ready", "ready_timeout", "stop_timeout", "cwd")
_CLIENT = ("timeout", "retries", "verify", "cert")
#: ``ignore`` lives with each store (``stores.NAME.ignore``) and in ``context.ignore``.
_EXPLORE = tuple(n for n in ExploreOptions.names() if n not in ("ignore", "ignore_context"))
#: Sections whose values taken from the environment are secrets (masked in every record and report).
_SECRET_SECTIONS = ("headers", "auth")
_BOOLEANS = ("stop_on_first", "check_server_errors", "shrink", "learn", "verify_rollback")
_AUTH_KEYS = {
    "bearer": ("type", "token"),
    "api_key": ("type", "key", "header"),
    "basic": ("type", "username", "password"),
}
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

Registry = Callable[[], Mapping[str, type]]


def load_config(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    adapters: Registry | None = None,
    reporters: Registry | None = None,
) -> Config:
    """Load and validate the configuration file at ``path``.

    ``overrides`` (e.g. from command-line options: ``{"target": ..., "explore": {...}}``) are
    merged over the file before validation. ``adapters`` / ``reporters`` return the known names
    (default: the plugin registries).
    """
    file_path = Path(path).absolute()
    file = str(file_path)
    if not file_path.is_file():
        raise ConfigError(
            "configuration file not found (create one with `venomqa init`, or pass -c FILE)",
            file=file,
        )
    try:
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", file=file) from exc
    raw = _parse_yaml(text, file)
    for key, value in (overrides or {}).items():
        section = raw.get(key)
        if isinstance(value, Mapping) and isinstance(section, dict):
            raw[key] = {**section, **value}
        else:
            raw[key] = dict(value) if isinstance(value, Mapping) else value
    variables = os.environ if env is None else env
    secrets: set[str] = set()  # what the environment puts into headers and auth: credentials
    raw = {
        key: interpolate(
            value,
            variables,
            file=file,
            key=key,
            # a plugin's section (``openapi:`` ...) may hold credentials too
            used=secrets if key in _SECRET_SECTIONS or key not in _TOP_LEVEL else None,
        )
        for key, value in raw.items()
    }
    config = _Validator(file_path, adapters, reporters).config(raw)
    return dataclasses.replace(config, secrets=frozenset(secrets))


def _parse_yaml(text: str, file: str) -> dict[str, object]:
    """The file's top-level mapping (YAML values: mappings, lists, text, numbers, ...)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None and context_mark is not mark:
            problem += f" ({context} at line {context_mark.line + 1})"
        raise ConfigError(f"malformed YAML at {where}{problem}", file=file) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of keys ({', '.join(_TOP_LEVEL)}), got {_kind(data)}", file=file
        )
    return data


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _typed(value: object, want: type) -> object:
    """An ``EnvValue`` as ``want`` (int, float or bool) when its text reads as one (YAML's
    spellings: ``6``, ``2.5``, ``true``/``no``...); any other value unchanged."""
    if not isinstance(value, EnvValue):
        return value
    text = value.strip()
    if want is bool:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    try:
        return int(text) if want is int else float(text)
    except ValueError:
        return value


def _kind(value: object) -> str:
    if isinstance(value, EnvValue):
        return f"a string ({str(value)!r} {value.origin})"
    if value is None:
        return "nothing (null)"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a mapping"})
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"


class _Validator:
    """Turns the raw YAML mapping into a Config, one key at a time."""

    def __init__(self, path: Path, adapters: Registry | None, reporters: Registry | None) -> None:
        self.path = path
        self.file = str(path)
        self.folder = path.parent
        self._adapters = adapters
        self._reporters = reporters

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, key=key)

    def config(self, raw: dict[str, object]) -> Config:
        owned = [str(key) for key in raw if key not in _TOP_LEVEL]
        sources = self._known_sources() if owned else {}
        self.no_unknown_keys(raw, (*_TOP_LEVEL, *sorted(sources)), "")
        if raw.get("target") is None:
            raise self.error(
                "target",
                "missing: expected the API's base URL, e.g. http://127.0.0.1:8000, or "
                "{url: ..., command: ...} to have VenomQA start it",
            )
        stores = self.stores(raw.get("stores"))
        target, launch = self.target(raw["target"], stores)
        explore = self.explore(raw.get("explore")).replace(
            ignore={name: list(entry.ignore) for name, entry in stores.items() if entry.ignore},
            ignore_context=self.context(raw.get("context")),
        )
        client = self.client(raw.get("client"))
        timeout = self.number(raw.get("timeout", 10.0), "timeout", positive=True) or 10.0
        if client.timeout is not None:
            if "timeout" in raw:
                raise self.error(
                    "client.timeout", "given twice: remove the top-level `timeout` (same setting)"
                )
            timeout = client.timeout
        return Config(
            path=self.path,
            target=target,
            launch=launch,
            actions=self.actions(raw.get("actions")),
            stores=stores,
            explore=explore,
            reports=self.reports(raw.get("reports")),
            auth=self.auth(raw.get("auth")),
            headers=self.headers(raw.get("headers")),
            timeout=timeout,
            client=client,
            sections={key: raw[key] for key in owned},
        )

    # -- generic checks -------------------------------------------------------------------------

    def no_unknown_keys(
        self, raw: Mapping[str, object], allowed: tuple[str, ...], key: str
    ) -> None:
        for name in raw:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(
                    f"{key}.{name}" if key else str(name),
                    f"unknown key{hint}; expected one of: {', '.join(allowed)}",
                )

    def mapping(self, value: object, key: str, what: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping of {what}, got {_kind(value)}")
        return value

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {_kind(value)}")
        return value

    def integer(self, value: object, key: str, *, minimum: int) -> int:
        value = _typed(value, int)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer >= {minimum}, got {_kind(value)}")
        if value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value}")
        return value

    def number(self, value: object, key: str, *, positive: bool) -> float | None:
        if value is None:
            return None
        value = _typed(value, float)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number of seconds > 0, got {_kind(value)}")
        if positive and value <= 0:
            raise self.error(key, f"expected a number of seconds > 0, got {value}")
        return float(value)

    def url(self, value: object, key: str) -> str:
        text = self.string(value, key).strip()
        if not re.match(r"^https?://[^/\s]+", text):
            raise self.error(key, f"expected an http:// or https:// URL, got {text!r}")
        return text.rstrip("/")

    def relative_path(self, value: str) -> str:
        if value == "-" or value.startswith(":") or "://" in value:
            return value
        return str((self.folder / Path(value).expanduser()).resolve())

    # -- sections -------------------------------------------------------------------------------

    def actions(self, value: object) -> list[str]:
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise self.error("actions", f"expected a list of module names, got {_kind(value)}")
        modules: list[str] = []
        for index, item in enumerate(items):
            key = f"actions[{index}]"
            name = self.string(item, key).strip()
            if name.endswith(".py"):
                raise self.error(
                    key, f"expected a module name, not a file name: write {name[:-3]!r}"
                )
            if not _MODULE_NAME.match(name):
                raise self.error(key, f"expected a Python module name, got {name!r}")
            modules.append(name)
        return modules

    def stores(self, value: object) -> dict[str, StoreConfig]:
        if value is None:
            return {}
        raw = self.mapping(value, "stores", "store names to {adapter: NAME, ...options}")
        known: Mapping[str, type] | None = None
        stores: dict[str, StoreConfig] = {}
        for name, entry in raw.items():
            key = f"stores.{name}"
            body = self.mapping(entry, key, "options with an `adapter:` key")
            given = body.get("adapter")
            if given is None:
                raise self.error(f"{key}.adapter", "missing: expected the adapter name")
            adapter = self.string(given, f"{key}.adapter")
            if known is None:
                known = self._known_adapters()
            if adapter not in known:
                message = unknown_name_message(
                    "adapter", "adapters", adapter, known, self._broken(), install_hint=True
                )
                raise self.error(f"{key}.adapter", message)
            options = {k: v for k, v in body.items() if k not in ("adapter", "ignore")}
            path = options.get("path")
            if isinstance(path, str):
                options["path"] = self.relative_path(path)
            ignore = self.names(body.get("ignore"), f"{key}.ignore", "fields (TABLE.COLUMN)")
            stores[str(name)] = StoreConfig(
                name=str(name), adapter=adapter, options=options, ignore=tuple(ignore)
            )
        return stores

    def target(
        self, value: object, stores: Mapping[str, StoreConfig]
    ) -> tuple[str, TargetSpec | None]:
        """``target:``: a URL, or a mapping (``url`` and, to have VenomQA start the API,
        ``command`` ...); returns the URL (with a command, its template) and the launch spec."""
        if not isinstance(value, dict):
            if isinstance(value, list):
                raise self.error(
                    "target",
                    f"expected the API's base URL or a mapping {{url: ..., command: ...}}, "
                    f"got {_kind(value)}",
                )
            return self.url(value, "target"), None
        self.no_unknown_keys(value, _TARGET, "target")
        if value.get("url") is None:
            raise self.error(
                "target.url", "missing: expected the API's base URL, e.g. http://127.0.0.1:{port}"
            )
        url = self.url(value["url"], "target.url")
        if value.get("command") is None:
            needing = [name for name in _TARGET[2:] if name in value]
            if needing or "command" in value:
                key = "command" if "command" in value else needing[0]
                raise self.error(
                    f"target.{key}",
                    "needs a command: give target.command (the program that starts the API), "
                    "or write the URL alone",
                )
            if placeholders(url):
                raise self.error(
                    "target.url",
                    f"placeholders such as {{port}} need target.command (VenomQA fills them in "
                    f"when it starts the API), got {url!r}",
                )
            return url, None
        spec = TargetSpec(
            url=url,
            command=self.command(value["command"]),
            env=self.environment(value.get("env")),
            ready=self.ready(value.get("ready")),
            ready_timeout_s=self.number(
                value.get("ready_timeout", DEFAULT_READY_TIMEOUT_S),
                "target.ready_timeout",
                positive=True,
            )
            or DEFAULT_READY_TIMEOUT_S,
            stop_timeout_s=self.number(
                value.get("stop_timeout", DEFAULT_STOP_TIMEOUT_S),
                "target.stop_timeout",
                positive=True,
            )
            or DEFAULT_STOP_TIMEOUT_S,
            cwd=self.folder_option(value.get("cwd"), "target.cwd"),
            file=self.file,
        )
        spec.check({name: entry.options for name, entry in stores.items()})
        self.port_is_passed(spec)
        return url, spec

    def command(self, value: object) -> tuple[str, ...] | str:
        expected = (
            "expected the program and its arguments ([uvicorn, app:app, --port, '{port}']) or "
            "one shell command (a string)"
        )
        if isinstance(value, str):
            if not value.strip():
                raise self.error("target.command", f"{expected}, got an empty string")
            return value.strip()
        if not isinstance(value, list) or not value:
            raise self.error("target.command", f"{expected}, got {_kind(value)}")
        parts: list[str] = []
        for index, item in enumerate(value):
            key = f"target.command[{index}]"
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.error(key, f"expected a string, got {_kind(item)}")
            parts.append(str(item))
        if not parts[0].strip():
            raise self.error("target.command[0]", "expected the program to run, got ''")
        return tuple(parts)

    def environment(self, value: object) -> dict[str, str]:
        if value is None:
            return {}
        raw = self.mapping(value, "target.env", "environment variable names to values")
        env: dict[str, str] = {}
        for name, item in raw.items():
            key = f"target.env.{name}"
            if not isinstance(name, str) or not name or "=" in name or "\0" in name:
                raise self.error(key, "expected an environment variable name")
            text = option_text(item)
            if text is None:
                raise self.error(key, f"expected a string, got {_kind(item)}")
            env[name] = text
        return env

    def ready(self, value: object) -> str | None:
        if value is None:
            return None
        text = self.string(value, "target.ready").strip()
        if not (text.startswith("/") or re.match(r"^https?://[^/\s]+", text)):
            raise self.error(
                "target.ready",
                f"expected a path on target.url (/health) or a full http(s) URL, got {text!r}",
            )
        return text

    def folder_option(self, value: object, key: str) -> str:
        """A folder relative to the file's (default: the file's own); it must exist."""
        if value is None:
            return str(self.folder)
        path = Path(self.relative_path(self.string(value, key).strip()))
        if not path.is_dir():
            raise self.error(key, f"folder not found: {path}")
        return str(path)

    def port_is_passed(self, spec: TargetSpec) -> None:
        """A URL on ``{port}`` is only reachable if the command learns the port."""
        if "port" not in placeholders(spec.url) + placeholders(spec.ready or ""):
            return
        texts = [spec.command] if isinstance(spec.command, str) else list(spec.command or ())
        texts += spec.env.values()
        if not any("port" in placeholders(text) for text in texts):
            raise self.error(
                "target.url",
                "uses {port} but neither target.command nor target.env passes {port} to the "
                "API, so it cannot listen there (e.g. command: [..., --port, '{port}'])",
            )

    def context(self, value: object) -> list[str]:
        if value is None:
            return []
        raw = self.mapping(value, "context", "context settings ({ignore: [KEY, ...]})")
        self.no_unknown_keys(raw, ("ignore",), "context")
        return self.names(raw.get("ignore"), "context.ignore", "context keys")

    def names(self, value: object, key: str, what: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of {what}, got {_kind(value)}")
        return [self.string(item, f"{key}[{i}]").strip() for i, item in enumerate(value)]

    def explore(self, value: object) -> ExploreOptions:
        if value is None:
            return ExploreOptions()
        raw = self.mapping(value, "explore", "exploration limits")
        self.no_unknown_keys(raw, _EXPLORE, "explore")
        defaults = ExploreOptions()
        strategy = self.string(raw.get("strategy", defaults.strategy), "explore.strategy")
        known = self._known_strategies()
        if strategy not in known:
            raise self.error(
                "explore.strategy", f"expected one of {', '.join(sorted(known))}, got {strategy!r}"
            )
        switches: dict[str, bool] = {}
        for name in _BOOLEANS:
            switch = _typed(raw.get(name, getattr(defaults, name)), bool)
            if not isinstance(switch, bool):
                raise self.error(f"explore.{name}", f"expected true or false, got {_kind(switch)}")
            switches[name] = switch
        transitions = raw.get("max_transitions")
        return ExploreOptions(
            strategy=strategy,
            max_depth=self.integer(
                raw.get("max_depth", defaults.max_depth), "explore.max_depth", minimum=0
            ),
            max_states=self.integer(
                raw.get("max_states", defaults.max_states), "explore.max_states", minimum=1
            ),
            max_transitions=None
            if transitions is None
            else self.integer(transitions, "explore.max_transitions", minimum=0),
            time_budget_s=self.number(
                raw.get("time_budget_s"), "explore.time_budget_s", positive=True
            ),
            seed=self.integer(raw.get("seed", defaults.seed), "explore.seed", minimum=0),
            workers=self.integer(
                raw.get("workers", defaults.workers), "explore.workers", minimum=1
            ),
            stop_on_first=switches["stop_on_first"],
            check_server_errors=switches["check_server_errors"],
            shrink=switches["shrink"],
            learn=switches["learn"],
            verify_rollback=switches["verify_rollback"],
        )

    def reports(self, value: object) -> list[ReportConfig]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(
                "reports", f"expected a list of {{format: F, path: P}}, got {_kind(value)}"
            )
        known: Mapping[str, type] | None = None
        reports: list[ReportConfig] = []
        for index, entry in enumerate(value):
            key = f"reports[{index}]"
            body = self.mapping(entry, key, "{format: F, path: P}")
            fmt = self.string(body.get("format"), f"{key}.format")
            if known is None:
                known = self._known_reporters()
            if fmt not in known:
                message = unknown_name_message(
                    "report format", "formats", fmt, known, self._broken()
                )
                raise self.error(f"{key}.format", message)
            given = body.get("path")
            if given is None:  # like `--report FORMAT`: venomqa-report.EXT, beside this file
                given = default_report_path(fmt, known[fmt])
            path = self.relative_path(self.string(given, f"{key}.path"))
            options = {k: v for k, v in body.items() if k not in ("format", "path")}
            reports.append(ReportConfig(format=fmt, path=path, options=options))
        return reports

    def client(self, value: object) -> ClientConfig:
        if value is None:
            return ClientConfig()
        raw = self.mapping(value, "client", "client settings (timeout, retries, verify, cert)")
        self.no_unknown_keys(raw, _CLIENT, "client")
        retries = self.integer(raw.get("retries", 0), "client.retries", minimum=0)
        return ClientConfig(
            timeout=self.number(raw.get("timeout"), "client.timeout", positive=True),
            retries=retries,
            verify=self.verify(raw.get("verify", True)),
            cert=self.cert(raw.get("cert")),
        )

    def verify(self, value: object) -> bool | str:
        value = _typed(value, bool)
        if isinstance(value, bool):
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                "client.verify",
                f"expected true, false or the path of a CA bundle (PEM), got {_kind(value)}",
            )
        return self.existing_file(value, "client.verify", "CA bundle")

    def cert(self, value: object) -> str | tuple[str, str] | None:
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return self.existing_file(value, "client.cert", "client certificate")
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(item, str) and item.strip() for item in value)
        ):
            return (
                self.existing_file(value[0], "client.cert[0]", "client certificate"),
                self.existing_file(value[1], "client.cert[1]", "client key"),
            )
        raise self.error(
            "client.cert",
            "expected the path of a PEM file holding certificate and key, or "
            f"[CERTIFICATE, KEY] paths, got {_kind(value)}",
        )

    def existing_file(self, value: str, key: str, what: str) -> str:
        path = Path(self.relative_path(value.strip()))
        if not path.is_file():
            raise self.error(key, f"{what} file not found: {path}")
        return str(path)

    def auth(self, value: object) -> AuthConfig | None:
        if value is None:
            return None
        raw = self.mapping(value, "auth", "{type: bearer|api_key|basic, ...}")
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in _AUTH_KEYS:
            raise self.error(
                "auth.type", f"expected one of {', '.join(_AUTH_KEYS)}, got {_kind(kind)}"
            )
        self.no_unknown_keys(raw, _AUTH_KEYS[kind], "auth")
        fields = {
            k: self.string(raw.get(k), f"auth.{k}")
            for k in _AUTH_KEYS[kind][1:]
            if k != "header" or k in raw
        }
        return AuthConfig(type=kind, **fields)

    def headers(self, value: object) -> dict[str, str]:
        if value is None:
            return {}
        raw = self.mapping(value, "headers", "header names to values")
        headers: dict[str, str] = {}
        for name, header_value in raw.items():
            if isinstance(header_value, bool) or not isinstance(header_value, str | int | float):
                raise self.error(f"headers.{name}", f"expected a string, got {_kind(header_value)}")
            headers[str(name)] = str(header_value)
        return headers

    # -- registries -----------------------------------------------------------------------------

    def _known_adapters(self) -> Mapping[str, type]:
        if self._adapters is not None:
            return self._adapters()
        from venomqa.plugins import adapters

        return adapters()

    def _broken(self) -> list[PluginInfo]:
        """Installed plugins that failed to load (none when the registries were given)."""
        if self._adapters is not None or self._reporters is not None:
            return []
        from venomqa.plugins import broken_plugins

        return broken_plugins()

    def _known_sources(self) -> Mapping[str, type]:
        """The top-level keys plugins own (``openapi`` ...): their action source classes."""
        from venomqa.plugins import sources

        return sources()

    def _known_strategies(self) -> Mapping[str, type]:
        from venomqa.plugins import strategies

        return strategies()

    def _known_reporters(self) -> Mapping[str, type]:
        if self._reporters is not None:
            return self._reporters()
        from venomqa.plugins import reporters

        return reporters()
