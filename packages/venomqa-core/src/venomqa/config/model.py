"""The validated form of ``venomqa.yaml``: plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from venomqa.explorer.options import ExploreOptions as ExploreOptions
from venomqa.target.spec import TargetSpec

if TYPE_CHECKING:
    import httpx

    from venomqa.client import Client, RetryPolicy


@dataclass(frozen=True)
class StoreConfig:
    """One entry of ``stores:``: the adapter name and its options (constructor kwargs)."""

    name: str
    adapter: str
    options: dict[str, object] = field(default_factory=dict)
    #: Volatile fields of this store (``ignore:``), left out of the state.
    ignore: tuple[str, ...] = ()


#: The file a report given without a path goes to: ``venomqa-report.EXT``.
DEFAULT_REPORT_STEM = "venomqa-report"
#: The path that means standard output.
STDOUT_PATH = "-"


def default_report_path(fmt: str, cls: type) -> str:
    """``venomqa-report.EXT``, EXT being the reporter's ``file_extension`` (else its format)."""
    extension = getattr(cls, "file_extension", None) or fmt
    return f"{DEFAULT_REPORT_STEM}.{str(extension).lstrip('.')}"


@dataclass(frozen=True)
class ReportConfig:
    """One entry of ``reports:`` or ``--report``; ``path`` None or ``-`` means standard output
    (the loader gives an entry without a path ``default_report_path`` beside the file)."""

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
class ClientConfig:
    """The ``client:`` section: how VenomQA's HTTP client talks to the API.

    ``retries`` re-sends a request whose connection could not be opened (refused, timed out),
    never one the API answered or dropped. ``verify`` is True, False or a CA bundle path;
    ``cert`` a PEM path (certificate and key) or a (certificate, key) pair of paths.
    """

    timeout: float | None = None
    retries: int = 0
    verify: bool | str = True
    cert: str | tuple[str, str] | None = None

    def client_kwargs(self) -> ClientKwargs:
        """``venomqa.client.Client`` keyword arguments for these settings (``timeout`` aside)."""
        from venomqa.client import RetryPolicy

        kwargs: ClientKwargs = {"verify": self.verify, "cert": self.cert}
        if self.retries:
            import httpx

            kwargs["retry"] = RetryPolicy(
                attempts=self.retries + 1,
                retry_statuses=frozenset(),
                retry_exceptions=(httpx.ConnectError, httpx.ConnectTimeout),
            )
        return kwargs


class ClientKwargs(TypedDict, total=False):
    """What ``ClientConfig.client_kwargs`` gives ``Client``."""

    verify: bool | str
    cert: str | tuple[str, str] | None
    retry: RetryPolicy


@dataclass(frozen=True)
class Config:
    """A loaded, validated ``venomqa.yaml``."""

    path: Path
    #: The API's base URL; with ``launch``, its template (``http://127.0.0.1:{port}``): use the
    #: ``url`` of the RunningTarget ``start_target(config.launch, ...)`` returns instead.
    target: str
    actions: list[str] = field(default_factory=list)
    stores: dict[str, StoreConfig] = field(default_factory=dict)
    #: The ``explore:`` section, with every store's ``ignore`` and ``context.ignore`` in it.
    explore: ExploreOptions = field(default_factory=ExploreOptions)
    reports: list[ReportConfig] = field(default_factory=list)
    auth: AuthConfig | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    #: The ``client:`` section (its ``timeout``, when given, is ``timeout`` above).
    client: ClientConfig = field(default_factory=ClientConfig)
    #: Values ``${VAR}`` put into ``headers`` and ``auth``: masked wherever they appear.
    secrets: frozenset[str] = frozenset()
    #: Top-level sections owned by plugins' action sources (``openapi:`` ...), by key, as
    #: written (environment interpolated); ``venomqa.discovery.discover_config`` builds them.
    sections: dict[str, object] = field(default_factory=dict)
    #: How to start the API (``target:`` as a mapping with a ``command``); None when VenomQA
    #: only connects to ``target``.
    launch: TargetSpec | None = None

    @property
    def folder(self) -> Path:
        """The folder holding the file; relative paths and action modules resolve from here."""
        return self.path.parent

    def store_options(self) -> dict[str, dict[str, object]]:
        """Each store's options by key, as ``{stores.KEY.OPTION}`` placeholders read them."""
        return {name: dict(entry.options) for name, entry in self.stores.items()}

    def client_auth(self) -> httpx.Auth | None:
        """The client's authentication from ``auth:``, if any."""
        return None if self.auth is None else self.auth.client_auth()

    def build_client(self, target: str | None = None) -> Client:
        """A ``venomqa.client.Client`` for ``target`` (default: the file's) with the file's
        headers, auth, timeout, retries, TLS settings and secrets."""
        from venomqa.client import Client

        client = Client(
            target or self.target,
            headers=dict(self.headers),
            auth=self.client_auth(),
            timeout=self.timeout,
            **self.client.client_kwargs(),
        )
        for secret in self.secrets:
            client.secrets.register(secret)
        return client
