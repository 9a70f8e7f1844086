"""The contract of an execution backend: where parallel workers 2..N run.

``venomqa run --workers N --backend NAME`` explores with N workers. Worker 1 is always the run's
own world in the VenomQA process; workers 2..N each get a copy of every store (made by the
coordinator, ``SupportsClone``) and run wherever the backend puts them: ``local`` (built in)
runs them as threads of this process, each with its own API process; a plugin's backend (the
``venomqa_register_backends`` hook; ``venomqa-ray`` runs them as Ray actors) may put them in other
processes or on other machines.

A backend class has a ``name`` and is built with the command line's backend options as keyword
arguments (``--address`` is ``address=...``). ``hosts(recipes)`` is a context manager: it starts
one worker per ``WorkerRecipe`` and yields a ``WorkerHost`` for each (``venomqa.explorer``), in
the recipes' order; when the block ends it stops every worker it started, whatever ended the
block. A worker built from a recipe loads ``config_path`` with ``overrides``, builds each store
from ``stores`` (its copy's options), starts the API from ``target.command`` with those options
and builds a World; ``venomqa.parallel_worker.WorkerProcess`` does exactly that, in any process.
Everything in a recipe is plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from venomqa.json_types import Json

if TYPE_CHECKING:
    from venomqa.explorer import WorkerHost


@dataclass(frozen=True)
class WorkerRecipe:
    """How to build one parallel worker in any process, as plain data."""

    #: The venomqa.yaml of the run (absolute).
    config_path: str
    #: The command line's overrides of the file (``load_config(path, overrides=...)``).
    overrides: Mapping[str, object]
    #: The worker's name in messages and in its copies' names (``w2``).
    label: str
    #: Each store's options for this worker (its copy's, from ``SupportsClone.clone``).
    stores: Mapping[str, Mapping[str, Json]] = field(default_factory=dict)


@runtime_checkable
class ExecutionBackend(Protocol):
    """Where workers 2..N run (see the module docstring)."""

    name: ClassVar[str]

    def hosts(
        self, recipes: Sequence[WorkerRecipe]
    ) -> AbstractContextManager[Sequence[WorkerHost]]: ...
