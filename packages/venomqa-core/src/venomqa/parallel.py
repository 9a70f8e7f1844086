"""The worlds of parallel workers (``venomqa run --workers N``): copies of the stores, one API
process per copy, one World each.

Worker 1 is the run's own world (the stores of venomqa.yaml and the API started from
``target.command``). Each further worker ``wK`` gets a copy of every store (``SupportsClone``:
a database from a template, a file copy, another database number, another bucket), an API
process of its own started from the same ``target.command`` with that copy's options in
``{stores.KEY.OPTION}``, and a client and World over them. The copies are made before any
API process starts (a database copy needs its original idle). The explorer sets each world's
stores up and tears them down like the run's own; ``worker_worlds`` stops the API processes
and removes the copies when its block ends, whatever ended it (a Ctrl-C included: the copies
are removed with stop signals held). A copy a killed run left is removed by ``venomqa
recover``, or replaced by the next run that makes a copy of that name.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from venomqa.config import Config
from venomqa.config.stores import build_store
from venomqa.errors import UsageError
from venomqa.interrupts import INTERRUPTS
from venomqa.json_types import Json
from venomqa.ports.store import StorePort, SupportsClone
from venomqa.world import World


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
def worker_worlds(
    config: Config, stores: Mapping[str, StorePort], workers: int
) -> Iterator[list[World]]:
    """The worlds of workers 2..``workers`` for the block (see the module docstring)."""
    check_parallel(config, stores, workers)
    if workers <= 1:
        yield []
        return
    launch = config.launch
    assert launch is not None
    from venomqa.target import start_target

    with ExitStack() as stack:
        copies: list[dict[str, dict[str, Json]]] = []
        for number in range(2, workers + 1):
            copies.append(_copy_stores(stack, stores, f"w{number}"))
        labels = [f"w{number}" for number in range(2, workers + 1)]
        with ThreadPoolExecutor(max_workers=len(copies)) as pool:  # start the APIs together
            starting = [
                pool.submit(start_target, launch, stores=options, label=label)
                for options, label in zip(copies, labels, strict=True)
            ]
            for future in starting:  # each one that started is stopped at the end
                stack.callback(_stop_when_started, future)
            running = [future.result() for future in starting]
        worlds: list[World] = []
        for options, target in zip(copies, running, strict=True):
            client = config.build_client(target.url)
            stack.callback(client.close)
            built = {key: build_store(config, key, options[key]) for key in stores}
            worlds.append(World(client, built))
        yield worlds


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


def _stop_when_started(future: object) -> None:
    from concurrent.futures import Future

    assert isinstance(future, Future)
    if future.done() and future.exception() is None:
        future.result().stop()
