"""What the PostgreSQL store needs to know about the user's tables and sequences.

Read from pg_catalog once, at ``setup()``: the tables to track (their stored and generated
columns, primary key, and how to read their row images as JSON), and the sequences whose values
shape future ids (SERIAL and IDENTITY sequences owned by a tracked table, plus free-standing
sequences of the schema).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SCHEMA = "_venomqa"


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal (standard_conforming_strings on)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class TableInfo:
    """One tracked table: name, stored columns, primary key, and the row type to read its row
    images as when listing changed records."""

    oid: int
    schema: str
    name: str
    columns: tuple[str, ...]  # stored (non-generated) columns, in attnum order
    key_columns: tuple[str, ...]  # primary key; empty when the table has none
    #: Every column of the row image (generated ones too), in attnum order, with the type to
    #: read it as; empty when the table's own row type serves. A column of a numeric type
    #: (or an array of one, domains looked through) reads as text (text[]), so its JSON form
    #: is its exact decimal text instead of a JSON number.
    image_columns: tuple[tuple[str, str], ...] = ()

    @property
    def q(self) -> str:
        """The schema-qualified, quoted name."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def label(self) -> str:
        """The name for messages: ``schema.table``."""
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class SequenceInfo:
    """A sequence whose value a checkpoint records: its oid and qualified, quoted name."""

    oid: int
    q: str
    label: str


_TABLES_SQL = """
SELECT c.oid::bigint, n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

# Each column: name, generated?, its type as SQL, and 'text'/'text[]' when its type is numeric
# or an array of numeric (through domains; the walk follows domains to their base type and an
# array type to its element type, once).
_COLUMNS_SQL = """
SELECT a.attname, a.attgenerated <> '', pg_catalog.format_type(a.atttypid, a.atttypmod),
  (WITH RECURSIVE walk(typ, in_array) AS (
     SELECT a.atttypid, false
     UNION ALL
     SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END,
            walk.in_array OR t.typtype <> 'd'
     FROM walk JOIN pg_catalog.pg_type t ON t.oid = walk.typ
     WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0 AND NOT walk.in_array))
   SELECT CASE WHEN in_array THEN 'text[]' ELSE 'text' END FROM walk
   WHERE typ = 'pg_catalog.numeric'::pg_catalog.regtype LIMIT 1)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = %s::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_KEY_SQL = """
SELECT a.attname
FROM pg_catalog.pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::oid AND i.indisprimary
ORDER BY k.ord
"""

_SEQUENCES_SQL = """
SELECT s.oid::bigint, quote_ident(n.nspname) || '.' || quote_ident(s.relname),
       n.nspname || '.' || s.relname
FROM pg_catalog.pg_class s
JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = s.oid
      AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
WHERE s.relkind = 'S'
  AND (d.refobjid = ANY(%s::oid[]) OR (d.refobjid IS NULL AND n.nspname = %s))
ORDER BY 2
"""


class UnknownTableError(Exception):
    """A table named in ``tables`` or ``exclude`` does not exist in the schema."""


def user_tables(
    cur: Any, schema: str, only: Sequence[str] | None, exclude: Sequence[str]
) -> list[TableInfo]:
    """The tables of ``schema`` to track: ``only`` (or all of them) minus ``exclude``."""
    cur.execute(_TABLES_SQL, (schema,))
    found = {str(name): (int(oid), str(nsp)) for oid, nsp, name in cur.fetchall()}
    for name in [*(only or ()), *exclude]:
        if name not in found:
            known = ", ".join(sorted(found)) or "none"
            raise UnknownTableError(
                f"table {schema}.{name} does not exist (tables in schema {schema}: {known})"
            )
    names = [n for n in (only if only is not None else sorted(found)) if n not in set(exclude)]
    tables: list[TableInfo] = []
    for name in names:
        oid, nsp = found[name]
        cur.execute(_COLUMNS_SQL, (oid,))
        described = cur.fetchall()
        columns = tuple(str(col) for col, generated, _, _ in described if not generated)
        image = tuple(
            (str(col), str(read_as or sql_type)) for col, _, sql_type, read_as in described
        )
        exact = all(read_as is None for _, _, _, read_as in described)
        cur.execute(_KEY_SQL, (oid,))
        key = tuple(str(row[0]) for row in cur.fetchall())
        tables.append(TableInfo(oid, nsp, name, columns, key, () if exact else image))
    return tables


def tracked_sequences(cur: Any, schema: str, tables: Sequence[TableInfo]) -> list[SequenceInfo]:
    """Sequences owned by a tracked table (SERIAL, IDENTITY) and unowned ones of ``schema``."""
    cur.execute(_SEQUENCES_SQL, ([t.oid for t in tables], schema))
    seen: dict[int, SequenceInfo] = {}
    for oid, q, label in cur.fetchall():
        seen.setdefault(int(oid), SequenceInfo(int(oid), str(q), str(label)))
    return list(seen.values())
