"""The state abstraction on its own: normal forms, learning by comparison, telltale values and
declared rules, on views built by hand (the end-to-end tests run them against real stores)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from venomqa.errors import UsageError
from venomqa.ports.store import RecordChange
from venomqa.state import Normalizer, VolatileRules, WorldView, explain
from venomqa.state.clues import volatile_clue

NOW = datetime.now(UTC)


def post(pid: str, title: str, *, created: str = "", checksum: str = "") -> RecordChange:
    fields = {
        "id": pid,
        "title": title,
        "created_at": created or NOW.isoformat(),
        "checksum": checksum or uuid.uuid4().hex[:12],
    }
    return RecordChange("posts", (pid,), None, fields, ("id",))


def comment(cid: str, post_id: str, text: str) -> RecordChange:
    fields = {"id": cid, "post_id": post_id, "text": text}
    return RecordChange("comments", (cid,), None, fields, ("id",))


def blog(titles: list[str], commented: int | None = None, **ctx: Any) -> WorldView:
    """Posts with fresh random ids; one comment on post number ``commented``."""
    ids = [str(uuid.uuid4()) for _ in titles]
    records = [post(pid, title) for pid, title in zip(ids, titles, strict=True)]
    if commented is not None:
        records.append(comment(str(uuid.uuid4()), ids[commented], "nice"))
    context = {k: (ids[v] if isinstance(v, int) else v) for k, v in ctx.items()}
    return WorldView({"db": records}, context)


def learned_from(*views: WorldView) -> tuple[Normalizer, list[str]]:
    normalizer = Normalizer(VolatileRules())
    explanation = explain(normalizer, views[0], views[1], "test")
    assert not explanation.unexplained, explanation.unexplained
    return normalizer, sorted(rule.spec for rule in explanation.learned)


def test_two_runs_differ_only_in_made_up_values_and_learning_makes_them_equal() -> None:
    first, second = blog(["a"], 0, post_id=0), blog(["a"], 0, post_id=0)
    normalizer, learned = learned_from(first, second)

    # posts.created_at is a clock reading, recognised before the comparison
    assert learned == ["comments.id", "posts.checksum", "posts.id"]
    assert (
        normalizer.key(first) == normalizer.key(second) == normalizer.key(blog(["a"], 0, post_id=0))
    )


def test_foreign_keys_and_context_ids_resolve_to_what_they_point_at() -> None:
    normalizer, _ = learned_from(blog(["a"], 0), blog(["a"], 0))
    on_a = blog(["a", "b"], 0, post_id=0)
    on_b = blog(["a", "b"], 1, post_id=0)
    holding_b = blog(["a", "b"], 0, post_id=1)

    keys = {normalizer.key(view) for view in (on_a, on_b, holding_b)}
    assert len(keys) == 3  # which post the comment and the context point at still counts
    assert normalizer.key(on_a) == normalizer.key(blog(["a", "b"], 0, post_id=0))


def test_records_are_a_set_whatever_order_they_were_made_in() -> None:
    normalizer, _ = learned_from(blog(["a"]), blog(["a"]))
    assert normalizer.key(blog(["x", "y"])) == normalizer.key(blog(["y", "x"]))
    assert normalizer.key(blog(["x", "y"])) != normalizer.key(blog(["x", "x"]))


def test_equal_volatile_values_within_one_record_say_nothing() -> None:
    rules = VolatileRules.declared({"db": ["posts.id", "posts.created_at", "posts.updated_at"]})
    normalizer = Normalizer(rules)
    stamp, later = NOW.isoformat(), (NOW + timedelta(seconds=3)).isoformat()

    def with_times(created: str, updated: str) -> WorldView:
        fields = {"id": str(uuid.uuid4()), "created_at": created, "updated_at": updated}
        return WorldView({"db": [RecordChange("posts", (1,), None, fields, ("id",))]}, {})

    assert normalizer.key(with_times(stamp, stamp)) == normalizer.key(with_times(stamp, later))


def test_an_id_whose_record_is_gone_reads_the_same_on_every_run() -> None:
    normalizer, _ = learned_from(blog(["a"], post_id=0), blog(["a"], post_id=0))
    deleted = [WorldView({"db": []}, {"post_id": str(uuid.uuid4())}) for _ in range(2)]
    assert normalizer.key(deleted[0]) == normalizer.key(deleted[1])
    never = WorldView({"db": []}, {})
    assert normalizer.key(deleted[0]) != normalizer.key(never)


def test_a_record_changed_only_in_volatile_fields_is_unchanged() -> None:
    rules = VolatileRules.declared({"db": ["users.seen_at"]})
    normalizer = Normalizer(rules, clues=False)
    before = {"id": 1, "name": "carol", "seen_at": "x"}
    touched = RecordChange("users", (1,), before, {**before, "seen_at": "y"}, ("id",))
    renamed = RecordChange("users", (1,), before, {**before, "name": "dave"}, ("id",))
    nothing = WorldView({"db": []}, {})
    assert normalizer.key(WorldView({"db": [touched]}, {})) == normalizer.key(nothing)
    assert normalizer.key(WorldView({"db": [renamed]}, {})) != normalizer.key(nothing)


def test_ids_inside_text_resolve_too() -> None:
    """A Redis key name or JSON blob that embeds a random id."""
    normalizer = Normalizer(VolatileRules.declared({"cache": ["user.@key"]}))

    def cache(user: str, cart_owner: str) -> WorldView:
        records = [
            RecordChange("user", (f"user:{user}",), None, {"@key": f"user:{user}"}, ("@key",)),
            RecordChange(
                "cart",
                ("cart",),
                None,
                {"@key": "cart", "@value": json.dumps({"owner": cart_owner})},
                ("@key",),
            ),
        ]
        return WorldView({"cache": records}, {})

    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    assert normalizer.key(cache(one, one)) == normalizer.key(cache(two, two))
    assert normalizer.key(cache(one, one)) != normalizer.key(cache(one, "someone-else-entirely"))


def test_what_no_field_explains_is_reported() -> None:
    normalizer = Normalizer(VolatileRules())
    one = blog(["a"])
    two = blog(["a", "a"])
    explanation = explain(normalizer, one, two, "test")
    assert any("posts: 1 changed record(s) in one run and 2" in u for u in explanation.unexplained)
    native = explain(
        normalizer, WorldView({"m": "aa"}, {}), WorldView({"m": "bb"}, {}), "test", learn=True
    )
    assert native.unexplained == [
        "store 'm': its fingerprint differs, and it cannot list what changed "
        "(it does not offer changed_records())"
    ]


def test_without_learning_differences_are_reported_not_learned() -> None:
    normalizer = Normalizer(VolatileRules(), clues=False)
    explanation = explain(normalizer, blog(["a"]), blog(["a"]), "test", learn=False)
    assert explanation.learned == []
    assert explanation.unexplained


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJlLXNpZw"


@pytest.mark.parametrize(
    ("value", "clue"),
    [
        (NOW.isoformat(), "a clock reading"),
        (NOW.strftime("%Y-%m-%d %H:%M:%S"), "a clock reading"),
        (int(NOW.timestamp()), "a clock reading"),
        (NOW.timestamp() * 1000, "a clock reading"),
        (NOW.strftime("%a, %d %b %Y %H:%M:%S GMT"), "a clock reading"),
        ("Wed, 02 Dec 2020 00:00:00 GMT", None),
        ("$2b$12$KIXQJr7x5hQfnmCgR3aeVebuXcE2jUe8LzTHQmOZsV0PqnB8s7xXy", "a salted hash"),
        ("pbkdf2:sha256:600000$abcd1234$0123456789abcdef", "a salted hash"),
        (_jwt({"sub": "1", "iat": 1}), "a token with a timestamp or id (JWT)"),
        (_jwt({"sub": "1"}), None),
        ("2020-01-01T00:00:00+00:00", None),
        (NOW.strftime("%Y-%m-%d"), None),
        ("hello world, how are you", None),
        (42, None),
        (True, None),
    ],
)
def test_telltale_values(value: Any, clue: str | None) -> None:
    assert volatile_clue(value, NOW) == clue


def test_declared_rules_take_globs_and_check_their_input() -> None:
    rules = VolatileRules.declared({"db": ["*.updated_at", "audit"]}, ["*_token"])
    assert rules.field("db", "posts", "updated_at")
    assert not rules.field("db", "posts", "title")
    assert not rules.field("cache", "posts", "updated_at")
    assert rules.collection_ignored("db", "audit")
    assert rules.context_key("alice_token") and not rules.context_key("token_count")
    with pytest.raises(UsageError, match="list of fields"):
        VolatileRules.declared({"db": "posts.id"})
    with pytest.raises(UsageError, match="non-empty strings"):
        VolatileRules.declared({"db": [""]})


def test_an_id_minted_inside_a_key_name_reads_gone_once_its_record_is_gone() -> None:
    """Redis keeps ids in key names (``post:<uuid>``); a context value holding a deleted
    post's id must read the same on every run, as it does for a SQL primary key."""

    def cache(pid: str) -> RecordChange:
        key = f"post:{pid}"
        return RecordChange("post", (key,), None, {"@key": key, "title": "a"}, ("@key",))

    normalizer = Normalizer(VolatileRules())
    views = []
    for _ in range(2):
        pid = str(uuid.uuid4())
        views.append(WorldView({"cache": [cache(pid)]}, {"post_id": pid}))
    explain(normalizer, views[0], views[1], "test")
    gone = [WorldView({"cache": []}, {"post_id": str(uuid.uuid4())}) for _ in range(2)]
    assert normalizer.key(gone[0]) == normalizer.key(gone[1])


def test_a_value_there_at_setup_is_never_taken_for_a_gone_id() -> None:
    """An index record (``users:by-name``) that already held carol's id at setup still holds
    it; adding bob must not turn carol's id into ``<gone>``, or the record never equals its
    setup image again."""
    rules = VolatileRules.declared({"db": ["users.id"]})
    normalizer = Normalizer(rules)
    carol, bob = str(uuid.uuid4()), str(uuid.uuid4())
    user = RecordChange("users", (bob,), None, {"id": bob, "name": "bob"}, ("id",))
    index_before = {"@key": "by-name", "carol": carol}
    added = RecordChange("index", ("by-name",), index_before, {**index_before, "bob": bob}, ())
    form = normalizer.normal_form(WorldView({"db": [user, added]}, {}))
    [index] = [r for r in form.records if r.change.collection == "index"]
    assert index.fields is not None
    assert index.fields["carol"] == carol
    assert index.fields["bob"].startswith("@")


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"orders": [1, 2], "user": {"name": "ada", "tags": ["x", "y"]}, "n": 3, "f": 1.5},
        {"nested": ({"b": 1, "a": [None, True]},), "bytes": b"12345678", "text": "hello world"},
    ],
)
def test_the_shortcut_for_views_without_records_keys_like_the_full_normal_form(
    context: dict[str, Any],
) -> None:
    from venomqa.state.normal import _Resolver

    normalizer = Normalizer(VolatileRules())
    view = WorldView({"m": "abc"}, context)
    full = _Resolver(normalizer, [], view.context).resolve({"m": "abc"})
    assert normalizer.key(view) == full.key
