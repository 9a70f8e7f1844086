"""``RayBackend``: parallel workers 2..N as Ray actors (``venomqa run --backend ray``).

``hosts(recipes)`` connects to the cluster (``_connect``), starts one ``WorkerActor`` per recipe
(spread over the nodes, each asking for a tenth of a CPU: the work is waiting on the API, so
eight actors fit on two cores) and builds every worker at once: each actor starts its own API
process on its node and opens its copies of the stores there. It yields a ``RemoteHost`` per
actor whose transport is one ``ray.get`` per call; a worker sends its next fire to its actor
while the one before runs there, so the round trip is hidden. When the block ends, however it
ends (a finding, an error, Ctrl-C), every actor is closed (its exploration ends: its stores
rolled back and torn down; its API stopped) and then killed, with stop signals held.

Errors: a worker that fails to build is an error naming the worker and its exception; an actor
lost mid-run (its node or process died) is an ``InfrastructureError`` naming the worker, so the
run aborts (exit 3) and the other workers' stores are rolled back as usual.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from venomqa.errors import InfrastructureError, VenomQAError
from venomqa.interrupts import INTERRUPTS
from venomqa.parallel_worker import Receive, RemoteHost
from venomqa.ports.backend import WorkerRecipe

from venomqa_ray._actor import WorkerActor
from venomqa_ray._connect import connected

if TYPE_CHECKING:
    from venomqa.explorer import WorkerHost

#: How long closing one actor (rollback, teardown, API stop) may take before it is killed.
CLOSE_TIMEOUT_S = 120.0


class RayBackend:
    """Workers 2..N as Ray actors on the cluster at ``address`` (see the module docstring).

    ``address``: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``; None uses ``RAY_ADDRESS`` or
    starts a private local Ray instance for the run. ``num_cpus``: the CPUs each actor asks of
    Ray (it waits on its API most of the time).
    """

    name: ClassVar[str] = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: float = 0.1) -> None:
        self.address = address
        self.num_cpus = num_cpus

    @contextmanager
    def hosts(self, recipes: Sequence[WorkerRecipe]) -> Iterator[Sequence[WorkerHost]]:
        with connected(self.address) as ray, ExitStack() as stack:
            actors: list[tuple[str, Any]] = []
            stack.callback(_stop_actors, ray, actors)
            actor_class = ray.remote(WorkerActor).options(
                num_cpus=self.num_cpus, scheduling_strategy="SPREAD", max_restarts=0
            )
            for recipe in recipes:
                actors.append((recipe.label, actor_class.remote()))
            opening = [
                actor.open.remote(recipe)
                for (_, actor), recipe in zip(actors, recipes, strict=True)
            ]
            places = _gather_opened(ray, [label for label, _ in actors], opening)
            yield [
                RemoteHost(ActorTransport(ray, actor, label, place))
                for (label, actor), place in zip(actors, places, strict=True)
            ]


class ActorTransport:
    """Carries calls to a worker's actor and back (a ``Transport`` that ``SendsAhead``: the
    actor runs the calls of its one caller in the order they were sent): the worker's own
    errors are raised as they were raised there; a lost actor is an InfrastructureError."""

    def __init__(self, ray: ModuleType, actor: Any, label: str, place: str) -> None:
        self._ray = ray
        self._actor = actor
        self.label = label
        self.place = place
        self._calls = 0
        self._lost: str | None = None

    def __call__(self, method: str, args: tuple[object, ...]) -> tuple[object, int]:
        return self.send(method, args)()

    def send(self, method: str, args: tuple[object, ...]) -> Receive:
        """Send the call now; what it returns waits for the answer."""
        if self._lost is not None:
            return partial(self._after_loss, method)
        return partial(self._receive, self._actor.handle.remote(method, args))

    def _receive(self, ref: Any) -> tuple[object, int]:
        from ray.exceptions import RayActorError, RayTaskError

        if self._lost is not None:  # an earlier call found the actor gone
            return self._after_loss("")
        try:
            result, calls = self._ray.get(ref)
        except RayActorError as exc:
            self._lost = (
                f"worker {self.label}: its Ray actor ({self.place}) was lost mid-run: "
                f"{_first_line(exc)}"
            )
            raise InfrastructureError(self._lost) from exc
        except RayTaskError as exc:
            raise _cause(exc) from None
        self._calls = calls
        return result, calls

    def _after_loss(self, method: str) -> tuple[object, int]:
        if method == "end":  # nothing left to end: the actor and its API are gone
            return None, self._calls
        raise InfrastructureError(self._lost)


def _gather_opened(ray: ModuleType, labels: Sequence[str], opening: Sequence[Any]) -> list[str]:
    """Wait until every worker is built; where each runs. The first failure is raised (after
    all were waited for) as an error naming the worker and its exception."""
    from ray.exceptions import RayActorError, RayTaskError

    places: list[str] = []
    failures: list[BaseException] = []
    for label, ref in zip(labels, opening, strict=True):
        try:
            places.append(ray.get(ref))
        except RayTaskError as exc:
            failures.append(_renamed(_cause(exc), f"worker {label} could not start on Ray"))
        except RayActorError as exc:
            failures.append(
                InfrastructureError(
                    f"worker {label} could not start on Ray: its actor died: {_first_line(exc)}"
                )
            )
    if failures:
        raise failures[0]
    return places


def _stop_actors(ray: ModuleType, actors: Sequence[tuple[str, Any]]) -> None:
    """Close every actor (stores rolled back and torn down, API stopped), then kill it; stop
    signals held. A close that fails is a warning; the actor is killed all the same."""
    from ray.exceptions import GetTimeoutError, RayActorError

    with INTERRUPTS.handled(), INTERRUPTS.critical():
        closing = [(label, actor, actor.close.remote()) for label, actor in actors]
        for label, actor, ref in closing:
            try:
                ray.get(ref, timeout=CLOSE_TIMEOUT_S)
            except RayActorError:
                pass  # gone already: so is its API (it dies with the actor's process)
            except GetTimeoutError:
                warnings.warn(
                    f"worker {label}: its Ray actor did not close within {CLOSE_TIMEOUT_S:.0f}s; "
                    "killed (its copies are removed all the same)",
                    stacklevel=2,
                )
            except Exception as exc:
                warnings.warn(
                    f"worker {label}: closing its Ray actor failed: {_cause(exc)}", stacklevel=2
                )
            with suppress(Exception):  # already dead, or the cluster is gone: nothing to kill
                ray.kill(actor, no_restart=True)


def _cause(exc: BaseException) -> BaseException:
    """The exception a Ray task raised in the actor (Ray wraps it)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _renamed(exc: BaseException, prefix: str) -> BaseException:
    """``exc`` with ``prefix`` before its message: the same VenomQA error class (so the same
    exit code) when it is one, else an InfrastructureError naming the exception's type."""
    if isinstance(exc, VenomQAError):
        try:
            renamed = type(exc)(f"{prefix}: {exc}")
        except TypeError:
            renamed = InfrastructureError(f"{prefix}: {exc}")
    else:
        renamed = InfrastructureError(f"{prefix}: {type(exc).__name__}: {exc}")
    renamed.__cause__ = exc
    return renamed


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
