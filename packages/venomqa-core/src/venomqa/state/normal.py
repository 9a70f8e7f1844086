"""Normal forms: one key for every concrete state of the same abstract state.

The input is a WorldView: the records each store changed since setup (or a store's own
fingerprint) and the context. Under the current VolatileRules:

1. Records of ignored collections are dropped; so is a record whose only changes since setup are
   in volatile fields (it is abstractly unchanged).
2. *Minted* values are the distinctive values of volatile fields that came into being during the
   run (text of 8+ characters, numbers of 1e6 and more; random-looking runs of letters and digits
   inside such text count too): random ids, tokens, timestamps. Each minted value has one
   *owner*, the record (or context key) it was made for: a primary-key field first, a whole value
   before a part of one, a store before the context, then a fixed order.
3. A record's *label* is a hash of its collection and fields, where each volatile field it owns
   reads ``<volatile>`` and every minted value it merely mentions (a foreign key, an id inside a
   Redis key name or a JSON blob) reads ``@`` plus the label of the owner. Labels are computed in
   three rounds so chains of references settle. Two rows that differ only in a random primary key
   and in the foreign keys that point at them get the same labels: they are the same row.
4. A store's part of the key is the sum (mod 2**64) of its records' labels now minus their
   labels at setup (setup images have no minted values), so it depends on the set of records
   only. The context is normalised the same way (volatile keys read ``<volatile>``; ids that are
   minted somewhere read ``@owner``; an id whose owner is gone reads ``<gone>`` when it has the
   *shape* (length and kinds of characters) of values some volatile field minted. The shape,
   not the value, is what is remembered: a replay mints new ids without keying the states it
   passes through, so its dangling ids were never seen; and the marker names no field, since
   which fields have minted a shape grows during the run).

Cost: O(size of the records changed since setup plus the context), independent of the size of
the stores. While normalising, fields not yet known to be volatile are checked for values that
give themselves away (see ``clues``); a hit adds a rule (``rules.version`` grows).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypeGuard

from venomqa.ports.store import FieldValue, RecordChange
from venomqa.state.clues import volatile_clue
from venomqa.state.rules import CONTEXT, VolatileRules
from venomqa.state.view import WorldView

VOLATILE = "<volatile>"
GONE = "<gone>"
_MASK = (1 << 64) - 1
_MIN_TEXT = 8
_MIN_NUMBER = 1_000_000
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,}")
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")
_ROUNDS = 3
#: Non-empty values of a field checked for clues before it is taken for a stable one.
_CLUE_CHECKS = 3

#: A value that can be minted: text, bytes or a number (see ``distinctive``).
Minted: TypeAlias = str | bytes | int | float
#: What ids of one kind share (see ``shape_of``).
Shape: TypeAlias = tuple[str, int, frozenset[str]] | tuple[str, int]
#: How a candidate owner ranks, the smallest first: (not a key field, a part of a value, in
#: the context, store, collection, field or context key).
_Rank: TypeAlias = tuple[bool, bool, bool, str, str, str]
#: Who owns a minted value: (rank, record index or -1 for the context, field or context key).
_Owner: TypeAlias = tuple[_Rank, int, str]


def distinctive(value: object) -> TypeGuard[Minted]:
    """Whether ``value`` is specific enough to recognise wherever it appears again."""
    if type(value) is str or type(value) is bytes:
        return len(value) >= _MIN_TEXT
    if type(value) is int or type(value) is float:
        return bool(abs(value) >= _MIN_NUMBER)
    return False


def random_tokens(text: str) -> list[str]:
    """The runs of 8+ letters, digits, ``-`` and ``_`` inside ``text`` that mix letters and
    digits (ids, hex, base64url), other than ``text`` itself."""
    return [
        token
        for token in _TOKEN.findall(text)
        if token != text and _LETTER.search(token) and _DIGIT.search(token)
    ]


def shape_of(value: Minted) -> Shape:
    """What ids of one kind share: type, length and the kinds of characters used."""
    if isinstance(value, str | bytes):
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        kinds = frozenset(
            "9" if c.isdigit() else "a" if c.islower() else "A" if c.isupper() else c for c in text
        )
        return (type(value).__name__, len(value), kinds)
    return (type(value).__name__, len(str(int(value))))


@dataclass(slots=True)
class NormalRecord:
    """One changed record in normal form: its raw change, its label now and at setup."""

    store: str
    change: RecordChange
    label: int = 0
    fields: dict[str, object] | None = None
    setup_label: int | None = None


@dataclass(slots=True)
class NormalForm:
    """A view in normal form: the key, plus the parts that ``explain`` compares."""

    key: str
    records: list[NormalRecord]
    natives: dict[str, str]
    context: dict[str, object]


class Normalizer:
    """Computes normal forms under ``rules``; with ``clues`` it also adds rules for values that
    look made up (clock readings, salted hashes, JWTs) as it meets them."""

    def __init__(self, rules: VolatileRules, *, clues: bool = True) -> None:
        self.rules = rules
        self.clues = clues
        #: The shapes of the values minted so far.
        self.minted_shapes: set[Shape] = set()
        self._clue_checks: dict[tuple[str, str, str], int] = {}

    def key(self, view: WorldView) -> str:
        """The state key of ``view``."""
        return self.normal_form(view).key

    def normal_form(self, view: WorldView) -> NormalForm:
        """``view`` in normal form (see the module docstring)."""
        rules = self.rules
        natives: dict[str, str] = {}
        records: list[NormalRecord] = []
        for store, part in view.stores.items():
            if isinstance(part, str):
                natives[store] = part
                continue
            for change in part:
                if rules.collection_ignored(store, change.collection):
                    continue
                if self.clues and change.after is not None:
                    self._look_for_clues(store, change.collection, change.after)
                if (
                    change.before is not None
                    and change.after is not None
                    and self._unchanged(store, change.collection, change.before, change.after)
                ):
                    continue
                records.append(NormalRecord(store, change))
        if self.clues and view.context:
            self._look_for_clues(CONTEXT, "", view.context)
        if not records and not self.minted_shapes and not rules.has_context_rules:
            # Nothing can be minted, referenced or gone: the context reads as it is.
            context = {key: _plain(value) for key, value in view.context.items()}
            return NormalForm(_state_key(natives, {}, context), [], natives, context)
        return _Resolver(self, records, view.context).resolve(natives)

    # -- helpers shared with the resolver ----------------------------------------------------

    def _unchanged(
        self,
        store: str,
        collection: str,
        before: Mapping[str, FieldValue],
        after: Mapping[str, FieldValue],
    ) -> bool:
        """Whether a record differs from its setup image in volatile fields only."""
        return self._masked(store, collection, before) == self._masked(store, collection, after)

    def _masked(
        self, store: str, collection: str, image: Mapping[str, FieldValue]
    ) -> dict[str, FieldValue]:
        field = self.rules.field
        return {
            name: VOLATILE if field(store, collection, name) else value
            for name, value in image.items()
        }

    def _look_for_clues(self, store: str, collection: str, image: Mapping[str, object]) -> None:
        rules = self.rules
        for name, value in image.items():
            if value is None:
                continue
            marker = (store, collection, name)
            checks = self._clue_checks.get(marker, 0)
            if checks >= _CLUE_CHECKS:
                continue
            if store == CONTEXT:
                if rules.context_key(name):
                    continue
            elif rules.field(store, collection, name):
                continue
            clue = volatile_clue(value)
            if clue is None:
                self._clue_checks[marker] = checks + 1
                continue
            self._clue_checks[marker] = _CLUE_CHECKS
            spec = name if store == CONTEXT else f"{collection}.{name}"
            rules.add(store, spec, f"{clue}: {_preview(value)}")


class _Resolver:
    """One normalisation: finds minted values and their owners, labels records, hashes."""

    def __init__(
        self, normalizer: Normalizer, records: list[NormalRecord], context: Mapping[str, object]
    ) -> None:
        self.normalizer = normalizer
        self.rules = normalizer.rules
        self.records = records
        self.context = context
        self.candidates: dict[Minted, list[_Owner]] = {}
        self.owners: dict[Minted, _Owner] = {}
        self.labels: list[int] = [0] * len(records)
        self.round = 0

    def resolve(self, natives: dict[str, str]) -> NormalForm:
        self._collect_minted()
        rounds = _ROUNDS if self.candidates else 1
        for self.round in range(rounds):
            self.labels = [self._label(index) for index in range(len(self.records))]
            if self.round == 0 and self.candidates:
                self._choose_owners()
        for index, record in enumerate(self.records):
            record.label = self.labels[index]
        context = {key: self._context_value(key, value) for key, value in self.context.items()}
        if self.owners:
            self._remember_minted()
        sums: dict[str, int] = {}
        for record in self.records:
            total = sums.get(record.store, 0)
            if record.change.after is not None:
                total += record.label
            if record.change.before is not None:
                record.setup_label = self._setup_label(record)
                total -= record.setup_label
            sums[record.store] = total & _MASK
        key = _state_key(natives, sums, context)
        return NormalForm(key, self.records, natives, context)

    # -- minted values ------------------------------------------------------------------------

    def _collect_minted(self) -> None:
        field = self.rules.field
        for index, record in enumerate(self.records):
            change = record.change
            after = change.after
            if after is None:
                continue
            before = change.before
            for name, value in after.items():
                if not distinctive(value) or not field(record.store, change.collection, name):
                    continue
                if before is not None and before.get(name) == value:
                    continue  # there at setup: the same on every run
                is_key = name in change.key_fields
                rank = (not is_key, False, False, record.store, change.collection, name)
                self._candidate(value, rank, index, name)
                if type(value) is str:
                    token_rank = (not is_key, True, False, record.store, change.collection, name)
                    for token in random_tokens(value):
                        self._candidate(token, token_rank, index, name)
        context_key = self.rules.context_key
        for key, held in self.context.items():
            if distinctive(held) and context_key(key):
                self._candidate(held, (True, False, True, CONTEXT, "", key), -1, key)

    def _candidate(self, value: Minted, rank: _Rank, index: int, name: str) -> None:
        self.candidates.setdefault(value, []).append((rank, index, name))

    def _choose_owners(self) -> None:
        labels = self.labels
        for value, candidates in self.candidates.items():
            rank, index, name = min(
                candidates, key=lambda c: (c[0], labels[c[1]] if c[1] >= 0 else 0, c[2])
            )
            self.owners[value] = (rank, index, name)

    def _remember_minted(self) -> None:
        shapes = self.normalizer.minted_shapes
        for value, (rank, _, _) in self.owners.items():
            is_key, is_part = not rank[0], rank[1]
            if not is_part or is_key:  # whole values, and ids inside key names (``post:<id>``)
                shapes.add(shape_of(value))

    def _reference(self, value: Minted) -> str | None:
        """``@label.field`` for a minted value (``?`` before owners are known), else None."""
        if value not in self.candidates:
            return None
        if self.round == 0:
            return "?"
        _, index, name = self.owners[value]
        if index < 0:
            return f"@context.{name}"
        return f"@{self.labels[index]:016x}.{name}"

    # -- labels -------------------------------------------------------------------------------

    def _label(self, index: int) -> int:
        record = self.records[index]
        change = record.change
        after = change.after
        if after is None:
            record.fields = None
            return 0
        field = self.rules.field
        fields: dict[str, object] = {}
        for name, value in after.items():
            if field(record.store, change.collection, name):
                fields[name] = self._volatile_value(value, index)
            else:
                there = name in change.key_fields or (
                    change.before is not None and change.before.get(name) == value
                )
                fields[name] = self._substitute(value, present=there)
        record.fields = fields
        return _hash64((record.store, change.collection, sorted(fields.items())))

    def _volatile_value(self, value: FieldValue, index: int) -> str | None:
        """A volatile field reads ``<volatile>`` unless it refers to a value another record (or
        the context) owns. Within one record, equal volatile values (``updated_at`` still equal
        to ``created_at``) say nothing about the state."""
        if self.round > 0 and distinctive(value) and value in self.owners:
            _, owner_index, _ = self.owners[value]
            if owner_index != index:
                return self._reference(value)
        return VOLATILE

    def _setup_label(self, record: NormalRecord) -> int:
        change = record.change
        before = change.before
        assert before is not None
        masked = self.normalizer._masked(record.store, change.collection, before)
        return _hash64((record.store, change.collection, sorted(masked.items())))

    def _context_value(self, key: str, value: object) -> object:
        if self.rules.context_key(key):
            if distinctive(value) and value in self.owners:
                _, index, name = self.owners[value]
                if (index, name) != (-1, key):
                    return self._reference(value)
            return VOLATILE
        return self._substitute(value)

    def _substitute(self, value: object, *, present: bool = False) -> object:
        """``value`` with every minted value in it replaced by a reference to its owner, and an
        id whose owner is gone by ``<gone>`` (not when it is known to be there: a record's own
        key, or a value the field already held at setup)."""
        if type(value) is str:
            reference = self._reference(value)
            if reference is not None:
                return reference
            if len(value) > _MIN_TEXT and self.candidates:
                replaced = _TOKEN.sub(self._token_reference, value)
                if replaced != value:
                    return replaced
            return value if present else self._gone(value)
        if type(value) is int or type(value) is float or type(value) is bytes:
            if distinctive(value):
                reference = self._reference(value)
                if reference is not None:
                    return reference
                return value if present else self._gone(value)
            return value
        if type(value) is list or type(value) is tuple:
            return tuple(self._substitute(item) for item in value)
        if type(value) is dict:
            return tuple(sorted((str(k), self._substitute(v)) for k, v in value.items()))
        return value

    def _gone(self, value: Minted) -> Minted:
        """``<gone>`` for a distinctive value shaped like the ids some volatile field minted."""
        if distinctive(value) and shape_of(value) in self.normalizer.minted_shapes:
            return GONE
        return value

    def _token_reference(self, match: re.Match[str]) -> str:
        token = match.group()
        return self._reference(token) or token


def _state_key(natives: dict[str, str], sums: dict[str, int], context: dict[str, object]) -> str:
    """The key: a short hash of the stores' fingerprints, their records' sums and the context."""
    text = repr(
        (
            sorted(natives.items()),
            sorted((store, value) for store, value in sums.items() if value),
            sorted(context.items(), key=_first),
        )
    )
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _plain(value: object) -> object:
    """A context value in normal form when nothing is minted: lists and tuples as tuples, dicts
    as sorted (key, value) tuples (what ``_Resolver._substitute`` makes of them then)."""
    if type(value) is list or type(value) is tuple:
        return tuple(_plain(item) for item in value)
    if type(value) is dict:
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    return value


def _first(item: tuple[str, object]) -> str:
    return item[0]


def _hash64(value: object) -> int:
    text = repr(value).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
