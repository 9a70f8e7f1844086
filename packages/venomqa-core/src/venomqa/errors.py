"""The one exception tree of VenomQA, with the process exit code each error maps to.

    VenomQAError (exit 2)
    ├── UsageError (exit 2)                 bad CLI arguments or API use
    ├── ConfigError (exit 2)                a malformed venomqa.yaml: file, key path, expectation
    ├── PluginError (exit 2)                a plugin that is broken or clashes with another
    │   └── DuplicateNameError (exit 2)     two plugins register the same adapter/reporter name
    ├── ActionDefinitionError (exit 2)      an action/invariant/journey declared wrongly
    └── InfrastructureError (exit 3)        something VenomQA depends on is unreachable or failed
        ├── TargetUnreachableError (exit 3) the API under test cannot be reached
        ├── StoreError (exit 3)             a store failed (setup, checkpoint, rollback, ...)
        │   ├── StoreUnreachableError (exit 3) the store's server cannot be connected to
        │   └── StorePermissionError (exit 3)  the store lacks a privilege VenomQA needs
        └── CircuitOpenError (exit 3)       the client's circuit breaker refuses calls

    RunInterrupted (a KeyboardInterrupt; exit 128 + signal: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
                                            the run was stopped; it carries what was found so far

Warnings: ``VenomQAWarning`` (a UserWarning) and its ``LeftoversRepaired``, which a store issues
when ``setup()`` found and repaired what an earlier run that never tore down left behind. The CLI
prints them as one plain line each.

Exit code 0 means a clean run and 1 means violations were found; those are not errors.
Calls that reach different states on two runs are not an error either: the explorer reports
them as ``nondeterminism`` findings and goes on.
Code that wraps a backend error raises one of these ``from`` the original exception.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 3


class VenomQAError(Exception):
    """Base class of every error VenomQA raises on purpose."""

    exit_code: int = EXIT_USAGE


class UsageError(VenomQAError):
    """The command line or the Python API was called with arguments that make no sense."""

    exit_code = EXIT_USAGE


class ConfigError(VenomQAError):
    """A configuration file is malformed; the message names the file, key path and expectation."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class PluginError(VenomQAError):
    """A plugin could not be loaded or registered something invalid."""

    exit_code = EXIT_USAGE


class DuplicateNameError(PluginError):
    """Two plugins registered an adapter or reporter under the same name."""


class ActionDefinitionError(VenomQAError):
    """An action, invariant, journey or graph was declared in a way that cannot run."""

    exit_code = EXIT_USAGE


class InfrastructureError(VenomQAError):
    """Something the run depends on (the API, a store) is unreachable or failed. When it ended
    an exploration, ``partial`` holds what the exploration found until then."""

    exit_code = EXIT_INFRASTRUCTURE
    partial: object = None


class TargetUnreachableError(InfrastructureError):
    """The API under test could not be reached at all."""


class TargetStartError(TargetUnreachableError):
    """The API's ``target.command`` could not run, exited, or did not answer in time (exit code
    3); the message names the command, its exit code and the last lines of its output."""


class StoreError(InfrastructureError):
    """A store failed during setup, checkpoint, rollback, fingerprint or teardown."""

    def __init__(
        self, message: str, *, store: str | None = None, adapter: str | None = None
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.detail = message
        kind = f" ({adapter})" if adapter and adapter != store else ""
        super().__init__(f"store {store!r}{kind}: {message}" if store else message)

    def located(self, name: str) -> StoreError:
        """The same error named after the store's key in the World (``db``), with the adapter's
        own name (``postgres``) beside it: ``store 'db' (postgres): ...``."""
        if self.store == name:
            return self
        return type(self)(self.detail, store=name, adapter=self.adapter or self.store)


class RollbackDriftError(StoreError):
    """A rollback did not bring a store back to its checkpoint (``verify_rollback``), or the
    final rollback of a run did not bring it back to the start; the message says what differs."""


class StoreUnreachableError(StoreError):
    """The store's server cannot be connected to (down, wrong address, credentials refused);
    the message is one sentence naming where and as whom, then the driver's detail."""


class StorePermissionError(StoreError):
    """The store's credentials lack a privilege VenomQA needs; the message names both."""


class CircuitOpenError(InfrastructureError):
    """The client's circuit breaker is open and refuses to send requests."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP stopped a run. Raised once the stores are rolled back;
    ``partial`` holds what the exploration found until then (None if it had not started)."""

    def __init__(
        self, signum: int = 2, partial: object = None, restored: tuple[str, ...] = ()
    ) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
        self.partial = partial
        #: The stores rolled back to the start of the run and checked to be there.
        self.restored = restored

    @property
    def exit_code(self) -> int:
        """128 plus the signal number, as a shell reports a process a signal ended."""
        return 128 + self.signum

    @classmethod
    def of(
        cls, interrupt: KeyboardInterrupt, partial: object, restored: tuple[str, ...] = ()
    ) -> RunInterrupted:
        """``interrupt`` (a RunInterrupted with its signal, or a plain Ctrl-C) with ``partial``
        and the names of the stores ``restored``."""
        return cls(getattr(interrupt, "signum", 2), partial, restored)


class VenomQAWarning(UserWarning):
    """Something the user should know that does not stop the run (the CLI prints one line)."""


class LeftoversRepaired(VenomQAWarning):
    """A store found what an earlier run left behind (it was killed before its clean-up) and
    repaired it: the message names the store and what was undone."""


__all__ = [
    "EXIT_INFRASTRUCTURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_VIOLATIONS",
    "ActionDefinitionError",
    "CircuitOpenError",
    "ConfigError",
    "DuplicateNameError",
    "InfrastructureError",
    "LeftoversRepaired",
    "PluginError",
    "RollbackDriftError",
    "RunInterrupted",
    "StoreError",
    "StorePermissionError",
    "StoreUnreachableError",
    "TargetUnreachableError",
    "UsageError",
    "VenomQAError",
    "VenomQAWarning",
]
