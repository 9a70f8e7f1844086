"""The validated form of ``venomqa.yaml``: plain dataclasses, no I/O."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from venomqa.explorer.options import ExploreOptions as ExploreOptions


@dataclass(frozen=True)
class StoreConfig:
    """One entry of ``stores:``: the adapter name and its options (constructor kwargs)."""

    name: str
    adapter: str
    options: dict[str, Any] = field(default_factory=dict)
    #: Volatile fields of this store (``ignore:``), left out of the state.
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportConfig:
    """One entry of ``reports:``; ``path`` None means standard output."""

    format: str
    path: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthConfig:
    """How the client authenticates: ``bearer`` (token), ``api_key`` (key, header) or ``basic``."""

    type: str
    token: str | None = None
    key: str | None = None
    header: str = "X-API-Key"
    username: str | None = None
    password: str | None = None

    def headers(self) -> dict[str, str]:
        """The request headers that carry these credentials."""
        if self.type == "bearer":
            return {"Authorization": f"Bearer {self.token}"}
        if self.type == "api_key":
            return {self.header: str(self.key)}
        raw = f"{self.username}:{self.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


@dataclass(frozen=True)
class Config:
    """A loaded, validated ``venomqa.yaml``."""

    path: Path
    target: str
    actions: list[str] = field(default_factory=list)
    stores: dict[str, StoreConfig] = field(default_factory=dict)
    #: The ``explore:`` section, with every store's ``ignore`` and ``context.ignore`` in it.
    explore: ExploreOptions = field(default_factory=ExploreOptions)
    reports: list[ReportConfig] = field(default_factory=list)
    auth: AuthConfig | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    @property
    def folder(self) -> Path:
        """The folder holding the file; relative paths and action modules resolve from here."""
        return self.path.parent

    def client_headers(self) -> dict[str, str]:
        """Headers for every request: the configured ones plus the auth header, if any."""
        merged = dict(self.headers)
        if self.auth is not None:
            merged.update(self.auth.headers())
        return merged
