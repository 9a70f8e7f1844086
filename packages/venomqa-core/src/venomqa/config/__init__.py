"""Loading and validating ``venomqa.yaml``: the Config dataclass and ``load_config``.

Every problem raises :class:`venomqa.errors.ConfigError` naming the file, the key path and what
was expected.
"""

from venomqa.config.loader import DEFAULT_CONFIG_NAME, load_config
from venomqa.config.model import (
    AuthConfig,
    ClientConfig,
    Config,
    ExploreOptions,
    ReportConfig,
    StoreConfig,
    default_report_path,
)
from venomqa.config.stores import build_stores, describe_store

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "AuthConfig",
    "ClientConfig",
    "Config",
    "ExploreOptions",
    "ReportConfig",
    "StoreConfig",
    "build_stores",
    "default_report_path",
    "describe_store",
    "load_config",
]
