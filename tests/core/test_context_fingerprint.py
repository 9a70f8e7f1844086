"""The context's fingerprint (part of the explorer's state key), its step results, and restoring
values held directly in it (a list, a tuple of containers, an object) after in-place changes.

A restore is exact, as ``copy.deepcopy`` is: a value held in two places (two keys, inside one
value, an object's part) is one value afterwards too, so an action that changes it through one
place sees the change through the other, as on a path run from the root; a value that holds
itself is copied; a value ``deepcopy`` refuses is shared and only that one.

Two contexts holding the same data must fingerprint alike whatever order the keys were set in,
or the explorer counts one state twice; a value that JSON cannot encode (an object an action
stored) must still fingerprint, by its repr. Found by mutation testing (docs/benchmarks.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from venomqa.context import ExecutionContext


@dataclass
class Order:
    """An object an action might keep in ``ctx`` (not JSON-encodable)."""

    id: int
    items: list[str] = field(default_factory=list)


def test_same_content_set_in_another_order_has_the_same_fingerprint() -> None:
    first = ExecutionContext()
    first["user"] = "ada"
    first["order"] = {"id": 7, "items": ["pen"]}
    second = ExecutionContext()
    second["order"] = {"items": ["pen"], "id": 7}
    second["user"] = "ada"
    assert list(first) != list(second)  # really inserted in different orders
    assert first.fingerprint() == second.fingerprint()
    second["user"] = "bob"
    assert first.fingerprint() != second.fingerprint()


def test_a_value_json_cannot_encode_fingerprints_by_its_repr() -> None:
    ctx = ExecutionContext({"order": Order(7)})
    same = ExecutionContext({"order": Order(7)})
    other = ExecutionContext({"order": Order(8)})
    assert ctx.fingerprint() == same.fingerprint()
    assert ctx.fingerprint() != other.fingerprint()


def test_step_result_of_a_step_that_has_not_run_is_the_default() -> None:
    ctx = ExecutionContext()
    assert ctx.step_result("login") is None
    assert ctx.step_result("login", default="not yet") == "not yet"
    ctx.set_step_result("login", {"token": "t"})
    assert ctx.step_result("login", default="not yet") == {"token": "t"}


def test_restore_undoes_in_place_changes_of_a_list_held_directly_in_ctx() -> None:
    ctx = ExecutionContext({"ids": [1], "pair": ([1], {"n": 1}), "order": Order(7, ["pen"])})
    snapshot = ctx.snapshot()
    ctx["ids"].append(2)
    ctx["pair"][0].append(2)
    ctx["pair"][1]["n"] = 2
    ctx["order"].id = 8
    ctx["order"].items.append("ink")
    ctx.restore(snapshot)
    assert ctx.to_dict() == {"ids": [1], "pair": ([1], {"n": 1}), "order": Order(7, ["pen"])}


def test_a_value_that_cannot_be_copied_is_shared_by_the_snapshot() -> None:
    lock = threading.Lock()  # deepcopy refuses locks
    ctx = ExecutionContext({"lock": lock, "ids": [1]})
    snapshot = ctx.snapshot()
    ctx["ids"] = [1, 2]
    ctx.restore(snapshot)
    assert ctx["lock"] is lock and ctx["ids"] == [1]


def test_restore_keeps_a_value_shared_between_two_keys_shared() -> None:
    order = {"id": 7, "status": "new"}
    ctx = ExecutionContext({"orders": [order], "last_order": order})
    snapshot = ctx.snapshot()
    ctx["last_order"]["status"] = "paid"
    ctx.restore(snapshot)
    # an action that updates the last order sees the change in the list, as before the restore
    ctx["last_order"]["status"] = "paid"  # type: ignore[index]
    assert ctx["orders"] == [{"id": 7, "status": "paid"}]
    assert ctx["orders"][0] is ctx["last_order"]  # type: ignore[index]


def test_restore_keeps_values_shared_inside_one_value_shared() -> None:
    tags: list[str] = ["a"]
    ctx = ExecutionContext({"post": {"tags": tags, "draft": {"tags": tags}}, "rows": [tags, tags]})
    ctx.set_step_result("create", tags)
    ctx.restore(ctx.snapshot())
    post = ctx["post"]
    assert post["tags"] is post["draft"]["tags"]  # type: ignore[index]
    assert ctx["rows"][0] is ctx["rows"][1] is post["tags"]  # type: ignore[index]
    pair = ctx.copy_data()
    assert pair["rows"][0] is pair["rows"][1]  # type: ignore[index]


def test_a_value_that_holds_itself_is_copied() -> None:
    loop: list[object] = [1]
    loop.append(loop)
    ctx = ExecutionContext({"loop": loop, "ids": [1]})
    snapshot = ctx.snapshot()
    ctx["loop"].append(2)  # type: ignore[attr-defined]
    ctx["ids"].append(2)  # type: ignore[attr-defined]
    ctx.restore(snapshot)
    restored = ctx["loop"]
    assert len(restored) == 2 and restored[1] is restored  # type: ignore[arg-type,index]
    assert ctx["ids"] == [1]


def test_only_the_value_that_cannot_be_copied_is_shared() -> None:
    lock = threading.Lock()
    ctx = ExecutionContext({"session": {"lock": lock, "ids": [1]}, "order": Order(7, ["pen"])})
    snapshot = ctx.snapshot()
    ctx["session"]["ids"].append(2)  # type: ignore[index]
    ctx["order"].items.append("ink")  # type: ignore[attr-defined]
    ctx.restore(snapshot)
    assert ctx["session"]["lock"] is lock  # type: ignore[index]
    assert ctx["session"]["ids"] == [1]  # type: ignore[index]
    assert ctx["order"] == Order(7, ["pen"])


def test_a_value_that_holds_itself_fingerprints_by_its_repr() -> None:
    loop: list[object] = [1]
    loop.append(loop)
    ctx = ExecutionContext({"loop": loop, "ids": [1]})
    same = ExecutionContext({"ids": [1], "loop": [1, [1, [1]]]})
    assert ctx.fingerprint() != same.fingerprint()
    fingerprint = ctx.fingerprint()
    ctx["ids"].append(2)  # type: ignore[attr-defined]
    assert ctx.fingerprint() != fingerprint  # the other values still count
    ctx["ids"].pop()  # type: ignore[attr-defined]
    assert ctx.fingerprint() == fingerprint
    loop.append(2)
    assert ctx.fingerprint() != fingerprint


def test_restore_keeps_an_objects_parts_shared_with_the_other_values() -> None:
    items = ["pen"]
    ctx = ExecutionContext({"order": Order(7, items), "items": items})
    ctx.restore(ctx.snapshot())
    ctx["items"].append("ink")  # type: ignore[attr-defined]
    assert ctx["order"] == Order(7, ["pen", "ink"])  # one list, as before the restore


def test_restore_gives_back_each_tuple_of_containers_its_own_contents() -> None:
    shared = ([1], {"n": 1})
    ctx = ExecutionContext({"a": ([1],), "b": ([2], [3]), "c": shared, "d": shared})
    ctx.restore(ctx.snapshot())
    assert ctx.to_dict() == {"a": ([1],), "b": ([2], [3]), "c": shared, "d": shared}
    assert ctx["c"] is ctx["d"]
