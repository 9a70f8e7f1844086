"""The validated form of ``venomqa.yaml``: plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from venomqa.explorer.options import ExploreOptions as ExploreOptions

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class StoreConfig:
    """One entry of ``stores:``: the adapter name and its options (constructor kwargs)."""

    name: str
    adapter: str
    options: dict[str, object] = field(default_factory=dict)
    #: Volatile fields of this store (``ignore:``), left out of the state.
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportConfig:
    """One entry of ``reports:``; ``path`` None means standard output."""

    format: str
    path: str | None = None
    #: Other keys of the entry: the reporter's constructor keyword arguments.
    options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthConfig:
    """How the client authenticates: ``bearer`` (token), ``api_key`` (key, header) or ``basic``."""

    type: str
    token: str | None = None
    key: str | None = None
    header: str = "X-API-Key"
    username: str | None = None
    password: str | None = None

    def client_auth(self) -> httpx.Auth:
        """The client's authentication for these credentials (``venomqa.client.auth``), which
        also keeps them out of every record."""
        from venomqa.client.auth import ApiKeyAuth, BasicAuth, BearerAuth

        if self.type == "bearer":
            return BearerAuth(str(self.token))
        if self.type == "api_key":
            return ApiKeyAuth(str(self.key), header=self.header)
        return BasicAuth(str(self.username), str(self.password))


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
    #: Values ``${VAR}`` put into ``headers`` and ``auth``: masked wherever they appear.
    secrets: frozenset[str] = frozenset()

    @property
    def folder(self) -> Path:
        """The folder holding the file; relative paths and action modules resolve from here."""
        return self.path.parent

    def client_auth(self) -> httpx.Auth | None:
        """The client's authentication from ``auth:``, if any."""
        return None if self.auth is None else self.auth.client_auth()
