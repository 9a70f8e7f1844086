"""The one pluggy PluginManager of VenomQA, loaded lazily and once, and what plugins provide.

``get_plugin_manager()`` builds the manager on first use: the hookspecs, the built-in plugin, then
every selected entry point of the ``venomqa`` group (see ``venomqa.plugins.loading``). Nothing in
here raises because of a broken plugin except ``adapters()`` / ``reporters()``, which refuse to
hand out an ambiguous or invalid set of classes. ``plugin_infos()`` shows every problem instead.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import pluggy

from venomqa.json_types import Json
from venomqa.plugins import builtin, hookspecs
from venomqa.plugins.loading import describe_exception, load_entry_points
from venomqa.plugins.markers import PROJECT_NAME
from venomqa.plugins.registry import ClassCheck, PluginHookResult, Registry, build_registry
from venomqa.ports.store import missing_store_methods

if TYPE_CHECKING:
    import click

    from venomqa.config import Config

CORE_DISTRIBUTION = "venomqa-core"


@dataclass
class PluginInfo:
    """One plugin as ``venomqa plugins list`` shows it; ``error`` is None when it works."""

    name: str
    distribution: str | None
    version: str | None
    entry_point: str
    adapters: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    error: str | None = None
    strategies: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Json]:
        """The JSON form: name, distribution, version, entry_point, adapters, reporters,
        commands, error, strategies, sources, backends."""
        return asdict(self)

    def add_error(self, message: str) -> None:
        """Record one more problem with this plugin."""
        if self.error is None:
            self.error = message
        elif message not in self.error:
            self.error = f"{self.error}; {message}"


class _LoadedPlugins:
    """The manager, one PluginInfo per plugin, and the registries computed from them."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.registries: dict[str, Registry] = {}
        self.commands_checked = False
        self.lock = threading.RLock()

    def load(self) -> None:
        self.manager.register(builtin, name=builtin.PLUGIN_NAME)
        self.infos[builtin.PLUGIN_NAME] = PluginInfo(
            name=builtin.PLUGIN_NAME,
            distribution=CORE_DISTRIBUTION,
            version=_core_version(),
            entry_point=builtin.__name__,
        )
        for entry in load_entry_points():
            info = PluginInfo(
                name=entry.name,
                distribution=entry.distribution,
                version=entry.version,
                entry_point=entry.value,
                error=entry.error,
            )
            self.infos.setdefault(entry.name, info)
            if entry.error is not None:
                continue
            try:
                self.manager.register(entry.plugin, name=entry.name)
            except Exception as exc:  # invalid hookimpl signature, registered twice, ...
                info.add_error(f"invalid hook implementation: {exc}")
        self._reject_unknown_hooks()

    def _reject_unknown_hooks(self) -> None:
        """pluggy's check_pending, turned into a per-plugin error instead of a crash."""
        known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("venomqa_")))
        while True:
            try:
                self.manager.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                plugin = exc.plugin
                name = self.manager.get_name(plugin) or repr(plugin)
                unknown = sorted(
                    caller.name
                    for caller in self.manager.get_hookcallers(plugin) or []
                    if not caller.has_spec()
                )
                self.manager.unregister(plugin)
                info = self.infos.get(name)
                if info is not None:
                    info.add_error(
                        f"implements unknown hook(s) {', '.join(unknown)} "
                        f"(misspelt? known hooks: {known})"
                    )

    def label(self, plugin_name: str) -> str:
        info = self.infos.get(plugin_name)
        if plugin_name == builtin.PLUGIN_NAME:
            return f"the built-in plugin ({CORE_DISTRIBUTION})"
        if info is None:
            return f"plugin {plugin_name!r}"
        origin = f"distribution {info.distribution}" if info.distribution else "no distribution"
        return f"plugin {plugin_name!r} ({origin}, entry point {info.entry_point!r})"

    def call_each(
        self, hook_name: str, *, only: str | None = None, **kwargs: object
    ) -> list[PluginHookResult]:
        """Call every loaded plugin's implementation of ``hook_name`` separately, in load order
        (or only the plugin named ``only``)."""
        caller = getattr(self.manager.hook, hook_name)
        impls = [
            impl
            for impl in caller.get_hookimpls()
            if not (impl.hookwrapper or getattr(impl, "wrapper", False))
        ]
        results: list[PluginHookResult] = []
        for plugin_name in self.infos if only is None else [only]:
            for impl in impls:
                if impl.plugin_name != plugin_name:
                    continue
                result = PluginHookResult(plugin_name=plugin_name, label=self.label(plugin_name))
                try:
                    result.value = impl.function(*(kwargs[arg] for arg in impl.argnames))
                except Exception as exc:  # a plugin's bug is reported, not raised
                    result.error = describe_exception(exc)
                results.append(result)
        return results

    def registry(self, kind: str) -> Registry:
        with self.lock:
            if kind not in self.registries:
                hook_name, check, field_name = _KINDS[kind]
                found = build_registry(kind, hook_name, self.call_each(hook_name), check=check)
                for plugin_name, names in found.provided.items():
                    setattr(self.infos[plugin_name], field_name, list(names))
                for involved, problem in found.problems:
                    for plugin_name in involved:
                        self.infos[plugin_name].add_error(str(problem))
                self.registries[kind] = found
            return self.registries[kind]

    def check_commands(self) -> None:
        """Find each plugin's commands by letting it add them to a throwaway group."""
        import click

        with self.lock:
            if self.commands_checked:
                return
            self.commands_checked = True
            for plugin_name in self.infos:
                group = click.Group("venomqa")
                results = self.call_each("venomqa_register_commands", only=plugin_name, cli=group)
                self.infos[plugin_name].commands = sorted(group.commands)
                for result in results:
                    if result.error is not None:
                        self.infos[plugin_name].add_error(
                            f"venomqa_register_commands() failed: {result.error}"
                        )


def _check_adapter(cls: type) -> str | None:
    missing = missing_store_methods(cls)
    return f"lacks the store contract method(s) {', '.join(missing)}" if missing else None


def _check_reporter(cls: type) -> str | None:
    return None if callable(getattr(cls, "report", None)) else "has no report(run) method"


def _check_source(cls: type) -> str | None:
    return None if callable(getattr(cls, "contribute", None)) else "has no contribute() method"


def _check_backend(cls: type) -> str | None:
    return None if callable(getattr(cls, "hosts", None)) else "has no hosts(recipes) method"


def _check_strategy(cls: type) -> str | None:
    if not callable(getattr(cls, "search", None)):
        return "has no search(search) method"
    if not isinstance(getattr(cls, "shortest_paths", None), bool):
        return "has no bool class attribute 'shortest_paths'"
    return None


#: Each kind of named class plugins register: its hook, the check every class must pass, and
#: the PluginInfo field listing a plugin's names.
_KINDS: dict[str, tuple[str, ClassCheck, str]] = {
    "adapter": ("venomqa_register_adapters", _check_adapter, "adapters"),
    "reporter": ("venomqa_register_reporters", _check_reporter, "reporters"),
    "strategy": ("venomqa_register_strategies", _check_strategy, "strategies"),
    "source": ("venomqa_register_sources", _check_source, "sources"),
    "backend": ("venomqa_register_backends", _check_backend, "backends"),
}


def _core_version() -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(CORE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from venomqa import __version__

        return __version__


_state: _LoadedPlugins | None = None
_state_lock = threading.Lock()


def _loaded() -> _LoadedPlugins:
    global _state
    state = _state
    if state is not None:
        return state
    with _state_lock:
        if _state is None:
            fresh = _LoadedPlugins()
            fresh.load()
            _state = fresh
        return _state


def get_plugin_manager() -> pluggy.PluginManager:
    """The PluginManager with the built-in plugin and the selected entry points registered.

    Loads on the first call only; later calls return the same manager.
    """
    return _loaded().manager


def reset_plugins() -> None:
    """Forget the loaded manager; the next call loads again (for tests)."""
    global _state
    with _state_lock:
        _state = None


def adapters() -> dict[str, type]:
    """Every registered store class by its ``name`` (the ``adapter:`` value in venomqa.yaml).

    Raises DuplicateNameError when two plugins register the same name (naming both), or
    PluginError when a plugin's hook fails or a class lacks contract methods (naming the plugin).
    """
    registry = _loaded().registry("adapter")
    registry.raise_first_problem()
    return dict(registry.classes)


def reporters() -> dict[str, type]:
    """Every registered reporter class by its ``name`` (the FORMAT of ``--report FORMAT:PATH``).

    Raises like ``adapters()``.
    """
    registry = _loaded().registry("reporter")
    registry.raise_first_problem()
    return dict(registry.classes)


def strategies() -> dict[str, type]:
    """Every registered search strategy class by its ``name`` (``explore: {strategy: NAME}``).

    Raises like ``adapters()``.
    """
    registry = _loaded().registry("strategy")
    registry.raise_first_problem()
    return dict(registry.classes)


def sources() -> dict[str, type]:
    """Every registered action source class by its ``name`` (the top-level key of venomqa.yaml
    it reads, e.g. ``openapi``). Raises like ``adapters()``."""
    registry = _loaded().registry("source")
    registry.raise_first_problem()
    return dict(registry.classes)


def backends() -> dict[str, type]:
    """Every registered execution backend class by its ``name`` (``--backend NAME``). Raises
    like ``adapters()``."""
    registry = _loaded().registry("backend")
    registry.raise_first_problem()
    return dict(registry.classes)


def plugin_infos() -> list[PluginInfo]:
    """Every plugin (built-in first), what it provides and its problems. Never raises for a
    broken plugin: problems are in each PluginInfo's ``error``."""
    state = _loaded()
    for kind in _KINDS:
        state.registry(kind)
    state.check_commands()
    return [copy.deepcopy(info) for info in state.infos.values()]


def broken_plugins() -> list[PluginInfo]:
    """The third-party plugins that are installed but failed to load (their import raised, or
    pluggy refused them), each with its ``error``. Cheap: computes no registry."""
    state = _loaded()
    return [
        copy.deepcopy(info)
        for name, info in state.infos.items()
        if info.error is not None
        and not state.manager.is_registered(state.manager.get_plugin(name))
    ]


def register_commands(cli: click.Group) -> None:
    """Let every plugin add its commands to the click group ``cli``.

    A plugin whose hook fails is recorded as broken (see ``plugin_infos()``); the others still
    add theirs.
    """
    state = _loaded()
    for result in state.call_each("venomqa_register_commands", cli=cli):
        if result.error is not None:
            state.infos[result.plugin_name].add_error(
                f"venomqa_register_commands() failed: {result.error}"
            )


def configure(config: Config) -> None:
    """Call the historic ``venomqa_configure(config)`` hook; plugins registered later get it too."""
    get_plugin_manager().hook.venomqa_configure.call_historic(kwargs={"config": config})
