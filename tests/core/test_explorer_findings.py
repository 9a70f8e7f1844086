"""Each distinct problem is reported once: with its shortest path, how many states showed it and a
few other paths; server and action errors are told apart by what they say, not only by status."""

from __future__ import annotations

import json
from typing import Any

from _support_explorer import MemoryStore, ShopApp, counter_of, dec, inc
from venomqa import ExecutionContext, action, invariant
from venomqa.client import Client
from venomqa.explorer import explore
from venomqa.explorer._findings import body_signature, text_signature
from venomqa.world import World


def counter_world(store: MemoryStore, cap: int) -> World:
    return World(Client(app=ShopApp(store, counter_cap=cap)), {"db": store})


def test_an_invariant_broken_in_many_states_is_one_entry_with_its_count() -> None:
    @invariant
    def below_three(world: World) -> bool:
        return counter_of(world) < 3

    result = explore(counter_world(MemoryStore(), cap=6), [inc, dec], [below_three], max_depth=8)

    assert result.states == 7
    [violation] = result.violations
    assert violation.invariant == "below_three"
    assert violation.path == ["inc", "inc", "inc"]
    assert violation.occurrences == 4  # counter 3, 4, 5 and 6
    assert violation.examples  # other ways to a broken state, each longer
    assert all(len(path) > 3 for path in violation.examples)
    assert violation.to_dict()["occurrences"] == 4


class ErrorApp(ShopApp):
    """``POST /boom`` fails in two different ways, depending on the counter's parity."""

    def _route(self, method: str, parts: list[str]) -> tuple[int, Any]:
        if parts == ["boom"]:
            if self.store.data["counter"] % 2:
                return 500, {"error": "KeyError", "detail": f"order {self.store.data['counter']}"}
            return 500, "database is locked"
        return super()._route(method, parts)


@action
def boom(api: Client, ctx: ExecutionContext) -> Any:
    return api.post("/boom")


def test_two_different_server_errors_of_one_action_stay_two_entries() -> None:
    store = MemoryStore()
    world = World(Client(app=ErrorApp(store, counter_cap=4)), {"db": store})
    result = explore(world, [inc, dec, boom], max_depth=6)

    errors = sorted(
        (v.path, v.occurrences) for v in result.violations if v.invariant == "server_error"
    )
    assert errors == [(["boom"], 3), (["inc", "boom"], 2)]  # even counters 0, 2, 4; odd 1, 3


def test_action_errors_are_grouped_by_what_they_say() -> None:
    @action
    def fragile(api: Client, ctx: ExecutionContext) -> Any:
        value = api.get("/counter").json()["value"]
        if value == 0:
            raise ValueError("counter is zero")
        raise KeyError(f"order {value}")

    store = MemoryStore()
    result = explore(counter_world(store, cap=3), [inc, dec, fragile], max_depth=5)

    errors = {tuple(v.path): (v.message, v.occurrences) for v in result.violations}
    assert errors == {
        ("fragile",): ("action 'fragile' raised ValueError: counter is zero", 1),
        ("inc", "fragile"): ("action 'fragile' raised KeyError: 'order 1'", 3),
    }


def test_signatures_mask_ids_and_numbers_but_keep_the_words() -> None:
    assert text_signature("no order 17 for user 3f2a9c1e-77aa-4b1c") == text_signature(
        "no order 204 for user 9d8e7f6a-11bb-4c2d"
    )
    assert text_signature("no such order") != text_signature("order is locked")
    assert body_signature(json.dumps({"error": "x", "id": 7})) == body_signature(
        {"error": "x", "id": 9}
    )
    assert body_signature({"error": "x"}) != body_signature({"message": "x"})
    assert body_signature("<html>Internal Server Error</html>") != body_signature({"error": "x"})
