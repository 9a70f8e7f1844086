"""Build the store adapters a Config names, turning constructor errors into ConfigErrors."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from venomqa.config.model import Config, StoreConfig
from venomqa.errors import ConfigError
from venomqa.ports.store import StorePort
from venomqa.stores.kit import hide_password

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
    stores: dict[str, StorePort] = {}
    for name, entry in config.stores.items():
        key = f"stores.{name}"
        cls = known.get(entry.adapter)
        if cls is None:
            raise ConfigError(
                f"unknown adapter {entry.adapter!r}; known adapters: "
                f"{', '.join(sorted(known)) or 'none installed'}",
                file=str(config.path),
                key=f"{key}.adapter",
            )
        try:
            stores[name] = cls(**entry.options)
        except TypeError as exc:
            raise ConfigError(
                f"adapter {entry.adapter!r} rejected the options "
                f"{sorted(entry.options) or '(none)'}: {exc}",
                file=str(config.path),
                key=key,
            ) from exc
        except ValueError as exc:
            raise ConfigError(
                f"adapter {entry.adapter!r}: {exc}", file=str(config.path), key=key
            ) from exc
    return stores


def describe_store(entry: StoreConfig) -> str:
    """Where a store lives, for error messages: adapter and location options, passwords hidden."""
    parts = [f"adapter {entry.adapter}"]
    for option in _LOCATION_KEYS:
        value = entry.options.get(option)
        if isinstance(value, str):
            parts.append(f"{option} {hide_password(value)}")
    return ", ".join(parts)
