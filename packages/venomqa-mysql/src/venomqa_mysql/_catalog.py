"""What the store tracks, read from ``information_schema``: tables, columns, keys, counters.

``user_tables`` reads every base table of the connection's database (VenomQA's own
``_venomqa_*`` objects left out), its columns (type, character set, whether generated), its
primary key and whether it has an AUTO_INCREMENT column (foreign-key cascades: ``_cascades``).
Cost: a few catalog queries, once per setup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Every object VenomQA installs in the database starts with this (tables, triggers, routines).
PREFIX = "_venomqa_"
META = f"`{PREFIX}meta`"
ROLLBACK_PROC = f"`{PREFIX}rollback`"


def quote_ident(name: str) -> str:
    """``name`` as a MySQL identifier: in backticks, backticks doubled."""
    return "`" + name.replace("`", "``") + "`"


def quote_string(value: str) -> str:
    """``value`` as a MySQL string literal (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class UnknownTableError(ValueError):
    """A table named in ``tables``/``exclude`` is not in the database."""


class CascadeError(ValueError):
    """A tracked table is changed by a foreign-key cascade, which fires no triggers."""


@dataclass(frozen=True)
class Column:
    """One column of a tracked table."""

    name: str
    column_type: str  # as information_schema.COLUMNS.COLUMN_TYPE gives it: "decimal(10,2)"
    data_type: str  # "decimal", "timestamp", ...
    charset: str | None
    collation: str | None
    generated: bool

    @property
    def q(self) -> str:
        return quote_ident(self.name)

    def image_type(self) -> str:
        """The type of this column's copy in the undo log: the same type, NULL allowed; long
        VARCHARs as TEXT so that two images of a wide row fit InnoDB's row size limit."""
        kind = self.column_type
        if self.data_type in ("varchar", "varbinary"):
            length = int(kind[kind.index("(") + 1 : kind.index(")")])
            if length > 255:
                kind = "mediumtext" if self.data_type == "varchar" else "mediumblob"
        if self.charset:
            kind += f" CHARACTER SET {self.charset}"
            if self.collation:
                kind += f" COLLATE {self.collation}"
        if self.data_type == "timestamp":
            return f"{kind} NULL DEFAULT NULL"
        return f"{kind} NULL"


@dataclass(frozen=True)
class TableInfo:
    """A tracked table: its position in the run (names its log), columns, key and counter."""

    index: int
    name: str
    columns: tuple[Column, ...]
    key_columns: tuple[str, ...]
    auto_increment: bool

    @property
    def q(self) -> str:
        return quote_ident(self.name)

    @property
    def label(self) -> str:
        return self.name

    @property
    def log(self) -> str:
        """Its undo log table (quoted)."""
        return quote_ident(f"{PREFIX}log_{self.index}")

    @property
    def stored(self) -> tuple[Column, ...]:
        """The columns a row image holds (generated columns follow from these)."""
        return tuple(c for c in self.columns if not c.generated)

    @property
    def keys(self) -> tuple[int, ...]:
        """Positions (in ``stored``) of the primary-key columns."""
        names = [c.name for c in self.stored]
        return tuple(names.index(k) for k in self.key_columns)


_TABLES_SQL = (
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
    "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT LIKE '\\_venomqa\\_%' ORDER BY TABLE_NAME"
)
_COLUMNS_SQL = (
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, CHARACTER_SET_NAME, "
    "COLLATION_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
    "ORDER BY TABLE_NAME, ORDINAL_POSITION"
)
_KEYS_SQL = (
    "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
    "WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX"
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def user_tables(
    cur: Any, only: Sequence[str] | None, exclude: Sequence[str], database: str
) -> list[TableInfo]:
    """The tables to track, in name order; UnknownTableError for a name that is not there."""
    cur.execute(_TABLES_SQL)
    present = [_text(r[0]) for r in cur.fetchall()]
    for name in [*(only or ()), *exclude]:
        if name not in present:
            raise UnknownTableError(
                f"table {name!r} (named in option 'tables' or 'exclude') is not a base table "
                f"of database {database!r}; its tables are: {', '.join(present) or '(none)'}"
            )
    chosen = [t for t in present if (only is None or t in only) and t not in exclude]
    columns: dict[str, list[Column]] = {t: [] for t in chosen}
    auto: set[str] = set()
    cur.execute(_COLUMNS_SQL)
    for table, name, ctype, dtype, charset, collation, extra in cur.fetchall():
        table, extra = _text(table), _text(extra or "").upper()
        if table not in columns:
            continue
        generated = any(word in extra for word in ("VIRTUAL", "STORED", "PERSISTENT"))
        columns[table].append(
            Column(
                name=_text(name),
                column_type=_text(ctype),
                data_type=_text(dtype).lower(),
                charset=None if charset is None else _text(charset),
                collation=None if collation is None else _text(collation),
                generated=generated,
            )
        )
        if "AUTO_INCREMENT" in extra:
            auto.add(table)
    keys: dict[str, list[str]] = {t: [] for t in chosen}
    cur.execute(_KEYS_SQL)
    for table, name in cur.fetchall():
        if _text(table) in keys:
            keys[_text(table)].append(_text(name))
    tables = []
    for i, t in enumerate(chosen):
        computed = {c.name for c in columns[t] if c.generated}
        key = () if computed & set(keys[t]) else tuple(keys[t])  # a generated key: no key
        tables.append(TableInfo(i, t, tuple(columns[t]), key, t in auto))
    return tables


def user_triggers(cur: Any, tables: Sequence[TableInfo]) -> list[tuple[str, str]]:
    """The user's own triggers on the tracked tables: (trigger, table), by name."""
    tracked = {t.name for t in tables}
    cur.execute(
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME NOT LIKE '\\_venomqa\\_%' "
        "ORDER BY TRIGGER_NAME"
    )
    return [(_text(n), _text(t)) for n, t in cur.fetchall() if _text(t) in tracked]
