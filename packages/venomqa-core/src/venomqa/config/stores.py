"""Build the store adapters (and reporters) a Config names, turning an unknown name or a
constructor's complaint into a ConfigError that names the file and key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from venomqa.config.model import Config, StoreConfig
from venomqa.config.suggest import unknown_name_message
from venomqa.errors import ConfigError
from venomqa.ports.store import StorePort
from venomqa.stores.kit import hide_password

T = TypeVar("T")

_LOCATION_KEYS = ("path", "url", "dsn", "host", "bucket", "endpoint_url", "database")


def build_stores(
    config: Config, *, adapters: Callable[[], Mapping[str, type]] | None = None
) -> dict[str, StorePort]:
    """Instantiate every configured store as ``adapter_class(**options)``, in file order.

    A constructor that rejects the options (TypeError) becomes a ConfigError naming
    ``stores.NAME`` and the constructor's complaint (unexpected or missing option).
    """
    if not config.stores:
        return {}
    if adapters is None:
        from venomqa.plugins import adapters as registered

        adapters = registered
    known = adapters()
    found: Registered[StorePort] = Registered(
        "adapter", "adapters", "adapter", known, str(config.path)
    )
    return {
        name: found.build(entry.adapter, f"stores.{name}", entry.options)
        for name, entry in config.stores.items()
    }


def build_store(config: Config, name: str, options: Mapping[str, object]) -> StorePort:
    """The store ``stores.NAME`` of ``config`` built with other ``options`` (a parallel
    worker's copy: ``SupportsClone.clone``)."""
    from venomqa.plugins import adapters

    entry = config.stores[name]
    found: Registered[StorePort] = Registered(
        "adapter", "adapters", "adapter", adapters(), str(config.path)
    )
    return found.build(entry.adapter, f"stores.{name}", options)


class Registered(Generic[T]):
    """Classes plugins registered under names (adapters, reporters), built from configuration:
    an unknown name or options the class rejects become a ConfigError naming file and key."""

    def __init__(
        self, kind: str, plural: str, field: str, known: Mapping[str, type[T]], file: str
    ) -> None:
        self.kind, self.plural, self.field = kind, plural, field
        self.known = known
        self.file = file

    def build(self, name: str, key: str, options: Mapping[str, object], **fixed: object) -> T:
        """``known[name](**fixed, **options)``."""
        cls = self.known.get(name)
        if cls is None:
            raise ConfigError(
                unknown_name_message(self.kind, self.plural, name, self.known),
                file=self.file,
                key=f"{key}.{self.field}",
            )
        try:
            return cls(**fixed, **options)
        except TypeError as exc:
            raise ConfigError(
                f"{self.kind} {name!r} rejected the options {sorted(options) or '(none)'}: {exc}",
                file=self.file,
                key=key,
            ) from exc
        except ValueError as exc:
            raise ConfigError(f"{self.kind} {name!r}: {exc}", file=self.file, key=key) from exc


def describe_store(entry: StoreConfig) -> str:
    """Where a store lives, for error messages: adapter and location options, passwords hidden."""
    parts = [f"adapter {entry.adapter}"]
    for option in _LOCATION_KEYS:
        value = entry.options.get(option)
        if isinstance(value, str):
            parts.append(f"{option} {hide_password(value)}")
    return ", ".join(parts)
