"""Explaining why two runs of the same path reached different keys, field by field.

``explain(normalizer, a, b, reason)`` compares two views that *should* be the same state (the
same actions from the same state: a calibration run, or a replay of a recorded path). Records are
matched per store and collection: equal normal forms first, then the same identity, then the
same record at setup, then the most similar of what is left. Fields whose normal values differ
are candidates; a candidate whose pair of values is (part of) another candidate's pair is a
*reference* to it (a foreign key holding a random primary key, a context value holding a
server-made id, a Redis key name embedding a user id) and is not learned: once its owner is
volatile, the reference resolves by itself. The rest become volatile fields, and the comparison
is repeated under the new rules until nothing new is learned.

What no field explains (a record more or less, a context key set in one run only, a store that
cannot list its records and fingerprints differently) is returned as ``unexplained``: the API is
not deterministic there, and the explorer reports it as a ``nondeterminism`` finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from venomqa.state.normal import NormalForm, Normalizer, NormalRecord
from venomqa.state.rules import CONTEXT, VolatileField
from venomqa.state.view import WorldView

_MAX_ROUNDS = 8
_SHOWN = 3


@dataclass(slots=True)
class Explanation:
    """What ``explain`` learned (new volatile fields) and what it could not explain."""

    learned: list[VolatileField] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Candidate:
    store: str
    collection: str
    name: str
    is_key: bool
    pair: tuple[str, str]

    @property
    def rank(self) -> tuple[bool, bool, int]:
        """Higher ranks own values: key fields, then stores over the context, then shorter."""
        return (self.is_key, self.store != CONTEXT, -len(self.pair[0]))

    @property
    def spec(self) -> str:
        return self.name if self.store == CONTEXT else f"{self.collection}.{self.name}"


def explain(
    normalizer: Normalizer, a: WorldView, b: WorldView, reason: str, *, learn: bool = True
) -> Explanation:
    """Learn the volatile fields that make ``a`` and ``b`` differ (``reason`` is recorded with
    each rule); whatever is left is in ``unexplained``. With ``learn=False`` nothing is learned
    and every difference is unexplained."""
    rules = normalizer.rules
    result = Explanation()
    for _ in range(_MAX_ROUNDS):
        first, second = normalizer.normal_form(a), normalizer.normal_form(b)
        if first.key == second.key:
            return result
        candidates, unexplained = _differences(first, second)
        learned = False
        for candidate in _owners(candidates) if learn else ():
            if rules.add(candidate.store, candidate.spec, reason):
                result.learned.append(rules.rules[-1])
                learned = True
        if not learned:
            result.unexplained = unexplained or [
                f"{c.store if c.store == CONTEXT else 'store ' + repr(c.store)}: "
                f"{c.spec} is {c.pair[0]} in one run and {c.pair[1]} in the other"
                for c in candidates[:_SHOWN]
            ]
            return result
    result.unexplained = ["the difference did not settle after learning volatile fields"]
    return result


def _differences(a: NormalForm, b: NormalForm) -> tuple[list[_Candidate], list[str]]:
    candidates: list[_Candidate] = []
    unexplained: list[str] = []
    for store in sorted(set(a.natives) | set(b.natives)):
        if a.natives.get(store) != b.natives.get(store):
            unexplained.append(
                f"store {store!r}: its fingerprint differs, and it cannot list what changed "
                "(it does not offer changed_records())"
            )
    groups: dict[tuple[str, str], tuple[list[NormalRecord], list[NormalRecord]]] = {}
    for side, form in enumerate((a, b)):
        for record in form.records:
            key = (record.store, record.change.collection)
            groups.setdefault(key, ([], []))[side].append(record)
    for (store, collection), (left, right) in sorted(groups.items()):
        pairs, rest_left, rest_right = _match(left, right)
        if rest_left or rest_right:
            unexplained.append(
                f"store {store!r}: {collection}: {len(left)} changed record(s) in one run and "
                f"{len(right)} in the other (e.g. {_identities(rest_left or rest_right)})"
            )
        for one, other in pairs:
            candidates.extend(_field_differences(store, collection, one, other, unexplained))
    _context_differences(a.context, b.context, candidates, unexplained)
    return candidates, unexplained


def _match(
    left: list[NormalRecord], right: list[NormalRecord]
) -> tuple[list[tuple[NormalRecord, NormalRecord]], list[NormalRecord], list[NormalRecord]]:
    """Pair records that are the same record in two runs; returns pairs that differ and the
    unpaired records of each side."""
    rest_right = list(right)
    rest_left: list[NormalRecord] = []
    for record in left:  # identical normal forms need no pairing
        twin = next((r for r in rest_right if _same(r, record)), None)
        if twin is None:
            rest_left.append(record)
        else:
            rest_right.remove(twin)
    pairs: list[tuple[NormalRecord, NormalRecord]] = []
    for matcher in (_same_identity, _same_setup_record):
        unpaired: list[NormalRecord] = []
        for record in rest_left:
            twin = next((r for r in rest_right if matcher(record, r)), None)
            if twin is None:
                unpaired.append(record)
            else:
                rest_right.remove(twin)
                pairs.append((record, twin))
        rest_left = unpaired
    if len(rest_left) == len(rest_right):
        for record in rest_left:
            twin = max(rest_right, key=lambda r: _similarity(record, r))
            rest_right.remove(twin)
            pairs.append((record, twin))
        rest_left = []
    return pairs, rest_left, rest_right


def _same(one: NormalRecord, other: NormalRecord) -> bool:
    return one.label == other.label and one.setup_label == other.setup_label


def _same_identity(one: NormalRecord, other: NormalRecord) -> bool:
    return one.change.identity == other.change.identity


def _same_setup_record(one: NormalRecord, other: NormalRecord) -> bool:
    return one.change.before is not None and one.setup_label == other.setup_label


def _similarity(one: NormalRecord, other: NormalRecord) -> int:
    if one.fields is None or other.fields is None:
        return 0 if one.fields is not other.fields else 1
    return sum(1 for name, value in one.fields.items() if other.fields.get(name) == value)


def _field_differences(
    store: str,
    collection: str,
    one: NormalRecord,
    other: NormalRecord,
    unexplained: list[str],
) -> list[_Candidate]:
    before, after = one.change.after, other.change.after
    if before is None or after is None or one.fields is None or other.fields is None:
        gone = _identities([one if before is not None else other])
        unexplained.append(f"store {store!r}: {collection}: {gone} exists in one run only")
        return []
    found: list[_Candidate] = []
    for name in sorted(set(one.fields) | set(other.fields)):
        if name not in one.fields or name not in other.fields:
            unexplained.append(
                f"store {store!r}: {collection}.{name} is set in one run only "
                f"({_identities([one])})"
            )
        elif one.fields[name] != other.fields[name]:
            pair = (_text(before[name]), _text(after[name]))
            is_key = name in one.change.key_fields
            found.append(_Candidate(store, collection, name, is_key, pair))
    return found


def _context_differences(
    one: Mapping[str, object],
    other: Mapping[str, object],
    candidates: list[_Candidate],
    unexplained: list[str],
) -> None:
    for key in sorted(set(one) | set(other)):
        if key not in one or key not in other:
            unexplained.append(f"context: {key!r} is set in one run only")
        elif one[key] != other[key]:
            pair = (_text(one[key]), _text(other[key]))
            candidates.append(_Candidate(CONTEXT, "", key, False, pair))


def _owners(candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates that are not references to a higher-ranked candidate's values."""
    owners: list[_Candidate] = []
    for candidate in candidates:
        if not any(
            other is not candidate and other.rank > candidate.rank and _related(other, candidate)
            for other in candidates
        ):
            owners.append(candidate)
    return owners or candidates[:1]


def _related(one: _Candidate, other: _Candidate) -> bool:
    """Whether the two pairs carry the same values, one inside the other."""
    (a1, b1), (a2, b2) = one.pair, other.pair
    if len(a1) < 8 or len(a2) < 8:
        return (a1, b1) == (a2, b2)
    return (a1 in a2 and b1 in b2) or (a2 in a1 and b2 in b1)


def _text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def _identities(records: Iterable[NormalRecord]) -> str:
    shown = [repr(r.change.identity) for r in records][:_SHOWN]
    return ", ".join(shown)
