"""Parallel workers (``venomqa run --workers N``): copies of the stores, and where the workers run.

Worker 1 is the run's own world (the stores of venomqa.yaml and the API started from
``target.command``). Each further worker ``wK`` gets a copy of every store (``SupportsClone``:
a database from a template, a file copy, another database number, another bucket), made here
before any API process starts (a database copy needs its original idle), and described by a
``WorkerRecipe``; an execution backend (``venomqa.ports.backend``) builds the worker from it: an
API process of its own started from the same ``target.command`` with the copy's options in
``{stores.KEY.OPTION}``, and a client and World over them. ``local`` (``LocalBackend``) runs them
as threads of this process; plugins add others (``venomqa-ray``). The explorer sets each world's
stores up and tears them down like the run's own; ``worker_hosts`` has the backend stop the
workers and removes the copies when its block ends, whatever ended it (a Ctrl-C included: the
copies are removed with stop signals held). A copy a killed run left is removed by ``venomqa
recover``, or replaced by the next run that makes a copy of that name.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, ClassVar

from venomqa.config import Config
from venomqa.errors import UsageError
from venomqa.interrupts import INTERRUPTS
from venomqa.json_types import Json
from venomqa.ports.backend import ExecutionBackend, WorkerRecipe
from venomqa.ports.store import StorePort, SupportsClone

if TYPE_CHECKING:
    from venomqa.explorer import WorkerHost


def check_parallel(config: Config, stores: Mapping[str, StorePort], workers: int) -> None:
    """UsageError unless ``workers`` workers can run: the file starts the API itself and every
    store can be copied."""
    if workers <= 1:
        return
    if config.launch is None:
        raise UsageError(
            f"{config.path}: --workers {workers} needs `target:` with a `command`: each worker "
            "runs its own API process over its own copy of the stores (see docs/parallel.md)"
        )
    for key, store in stores.items():
        if not isinstance(store, SupportsClone):
            adapter = config.stores[key].adapter if key in config.stores else type(store).__name__
            raise UsageError(
                f"{config.path}: --workers {workers}: store {key!r} (adapter {adapter}) cannot "
                "be copied for a worker (it does not offer SupportsClone); run with one worker"
            )


@contextmanager
def worker_hosts(
    config: Config,
    stores: Mapping[str, StorePort],
    workers: int,
    *,
    backend: ExecutionBackend | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Iterator[Sequence[WorkerHost]]:
    """The hosts of workers 2..``workers`` for the block (see the module docstring): a copy of
    every store each, then the backend (default: local threads) starts the workers."""
    check_parallel(config, stores, workers)
    if workers <= 1:
        yield []
        return
    with ExitStack() as stack:
        recipes = [
            WorkerRecipe(
                config_path=str(config.path.resolve()),
                overrides=dict(overrides or {}),
                label=f"w{number}",
                stores=_copy_stores(stack, stores, f"w{number}"),
            )
            for number in range(2, workers + 1)
        ]
        chosen = backend if backend is not None else LocalBackend()
        yield stack.enter_context(chosen.hosts(recipes))


class LocalBackend:
    """Workers 2..N as threads of this process, each with its own API process and World."""

    name: ClassVar[str] = "local"

    @contextmanager
    def hosts(self, recipes: Sequence[WorkerRecipe]) -> Iterator[Sequence[WorkerHost]]:
        from venomqa.explorer import LocalHost
        from venomqa.parallel_worker import open_worker_world

        with ExitStack() as stack:
            stacks = [stack.enter_context(ExitStack()) for _ in recipes]
            with ThreadPoolExecutor(max_workers=len(recipes)) as pool:  # start the APIs together
                opening = [
                    pool.submit(open_worker_world, recipe, own)
                    for recipe, own in zip(recipes, stacks, strict=True)
                ]
            yield [LocalHost(future.result()[1]) for future in opening]


def _copy_stores(
    stack: ExitStack, stores: Mapping[str, StorePort], label: str
) -> dict[str, dict[str, Json]]:
    """Copy every store for worker ``label``; each copy is removed when ``stack`` closes."""
    options: dict[str, dict[str, Json]] = {}
    for key, store in stores.items():
        assert isinstance(store, SupportsClone)
        copied = store.clone(label)
        stack.callback(_drop_copy, store, copied, key, label)
        options[key] = copied
    return options


def _drop_copy(store: SupportsClone, options: Mapping[str, Json], key: str, label: str) -> None:
    """Remove one copy, stop signals held; a failure is a warning naming the copy and how to
    remove it later (the run's own result stands)."""
    try:
        with INTERRUPTS.handled(), INTERRUPTS.critical():
            store.drop_clone(options)
    except Exception as exc:
        warnings.warn(
            f"store {key!r}: the copy of worker {label} could not be removed ({exc}); "
            "`venomqa recover` removes it",
            stacklevel=2,
        )
