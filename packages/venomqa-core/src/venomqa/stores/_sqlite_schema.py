"""What the SQLite store needs to know about the user's tables, and the SQL it installs.

Every user table gets three (five) real triggers that copy the *old* image of each changed row
into one undo log, ``_venomqa_undo``, inside the writer's own transaction, so writes made by any
connection of any process are recorded:

- ``AFTER INSERT``  logs ``I`` with the new row's key (undo: delete it);
- ``AFTER UPDATE``  logs ``U`` with the old row and the new key (undo: update it back);
- ``AFTER DELETE``  logs ``D`` with the old row (undo: insert it again);
- ``BEFORE INSERT`` logs ``R`` with any existing row the insert conflicts with on the rowid or a
  unique index, because ``INSERT OR REPLACE`` deletes such rows without firing delete triggers;
- ``BEFORE UPDATE`` does the same for any other row the updated one would conflict with
  (``UPDATE OR REPLACE``, a constraint declared ``ON CONFLICT REPLACE``).
  Each unique index is compared as SQLite compares it: by its own collation, and an index on
  expressions (``lower(email)``) by those expressions, evaluated on the new row through a
  subquery. A partial index is compared as if it were whole: a row logged that the insert did
  not delete is put back as it already is.

Whether a table is WITHOUT ROWID is SQLite's answer (``PRAGMA table_list``, 3.37+); older
SQLite versions are read from the end of the CREATE statement.

Log columns ``c0..cN`` have no declared type, so SQLite stores every value exactly as it was
(INTEGER, REAL, TEXT, BLOB, NULL): no text conversion, so floats and blobs round-trip bit for bit.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

PREFIX = "_venomqa_"
LOG_TABLE = "_venomqa_undo"
META_TABLE = "_venomqa_meta"

_WITHOUT_ROWID = re.compile(r"\)\s*(?:STRICT\s*,\s*)?WITHOUT\s+ROWID\b", re.IGNORECASE)
#: The sort order ending an index term.
_ORDER = re.compile(r"\s+(?:ASC|DESC)\s*$", re.IGNORECASE)
#: SQL text as tokens: a string or quoted name whole, a comment, a parenthesis or comma, a run
#: of anything else.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|\Z)"""
    r"""|[(),]|[^'"`\[(),/-]+|.""",
    re.DOTALL,
)


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(value: str) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


class UnsupportedTableError(Exception):
    """A user table the store cannot track (the message says which and why)."""


@dataclass(frozen=True)
class TableInfo:
    """One user table: its stored columns and how a row is addressed.

    Rowid tables are addressed by ``rowid_name`` (an alias of the rowid no column shadows);
    WITHOUT ROWID tables by their primary key columns ``key_columns``.
    """

    name: str
    columns: tuple[str, ...]
    rowid_name: str | None
    key_columns: tuple[str, ...]
    #: The terms of each unique index, each with the collation the index compares it by (which
    #: may differ from the column's own): a column as a quoted name, an expression in parentheses
    #: as the index's CREATE statement writes it.
    unique_sets: tuple[tuple[tuple[str, str], ...], ...]

    @property
    def without_rowid(self) -> bool:
        return self.rowid_name is None

    @property
    def q(self) -> str:
        return quote_ident(self.name)

    @property
    def row_columns(self) -> tuple[str, ...]:
        """The columns of a row image, rowid first for rowid tables (SQL expressions)."""
        cols = tuple(quote_ident(c) for c in self.columns)
        return (self.rowid_name, *cols) if self.rowid_name else cols

    @property
    def key_expr(self) -> str:
        """The SQL expression addressing a row: the rowid, or the primary key as a row value."""
        if self.rowid_name:
            return self.rowid_name
        return "(" + ", ".join(quote_ident(c) for c in self.key_columns) + ")"

    @property
    def log_width(self) -> int:
        """How many ``cN`` log columns this table's entries use."""
        return len(self.columns) + (len(self.key_columns) if self.without_rowid else 0)


def user_tables(conn: sqlite3.Connection) -> list[TableInfo]:
    """Every table of the main schema except SQLite's own and the store's."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "AND substr(name, 1, ?) <> ? ORDER BY name",
        (len(PREFIX), PREFIX),
    ).fetchall()
    return [_table_info(conn, name, sql or "") for name, sql in rows]


def _table_info(conn: sqlite3.Connection, name: str, sql: str) -> TableInfo:
    if sql.lstrip().upper().startswith("CREATE VIRTUAL"):
        raise UnsupportedTableError(
            f"table {name!r} is a virtual table; the sqlite store cannot track its writes"
        )
    xinfo = conn.execute(f"PRAGMA table_xinfo({quote_ident(name)})").fetchall()
    # (cid, name, type, notnull, dflt, pk, hidden); hidden 2/3 = generated columns.
    columns = tuple(r[1] for r in xinfo if r[6] == 0)
    pk = tuple(r[1] for r in sorted((r for r in xinfo if r[5] > 0), key=lambda r: r[5]))
    lowered = {c.lower() for c in columns}
    if _is_without_rowid(conn, name, sql):
        rowid_name = None
        if not pk:
            raise UnsupportedTableError(f"WITHOUT ROWID table {name!r} has no primary key")
    else:
        rowid_name = next((a for a in ("rowid", "_rowid_", "oid") if a not in lowered), None)
        if rowid_name is None:
            raise UnsupportedTableError(
                f"table {name!r} has columns named rowid, _rowid_ and oid, which hide its rowid"
            )
    return TableInfo(
        name=name,
        columns=columns,
        rowid_name=rowid_name,
        key_columns=pk,
        unique_sets=_unique_sets(conn, name),
    )


def _is_without_rowid(conn: sqlite3.Connection, name: str, sql: str) -> bool:
    """Whether ``name`` is a WITHOUT ROWID table: SQLite's own answer (``PRAGMA table_list``,
    SQLite 3.37+), else the end of its CREATE statement (which a comment could mislead)."""
    listed = conn.execute(f"PRAGMA table_list({quote_ident(name)})").fetchall()
    if listed:  # (schema, name, type, ncol, wr, strict)
        return bool(listed[0][4])
    return bool(_WITHOUT_ROWID.search(sql))


def _unique_sets(conn: sqlite3.Connection, table: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    sets: list[tuple[tuple[str, str], ...]] = []
    for _seq, index, unique, _origin, _partial in conn.execute(
        f"PRAGMA index_list({quote_ident(table)})"
    ).fetchall():
        if not unique:
            continue
        # (seqno, cid, name, desc, collation, key): the key columns, in index order; an
        # expression (cid -2) is taken as written in the index's CREATE statement
        info = conn.execute(f"PRAGMA index_xinfo({quote_ident(index)})").fetchall()
        keys = [r for r in sorted(info, key=lambda r: r[0]) if r[5]]
        on_expressions = any(r[1] == -2 for r in keys)
        expressions = _index_terms(conn, index) if on_expressions else []
        if on_expressions and len(expressions) != len(keys):
            raise UnsupportedTableError(
                f"table {table!r}: the terms of its unique index {index!r} could not be read"
            )
        sets.append(
            tuple(
                (f"({expressions[i]})" if r[1] == -2 else quote_ident(r[2]), r[4])
                for i, r in enumerate(keys)
            )
        )
    return tuple(sets)


def _index_terms(conn: sqlite3.Connection, index: str) -> list[str]:
    """The terms of the index ``index`` as its CREATE statement writes them (see
    ``split_index_terms``)."""
    row = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
    ).fetchone()
    return split_index_terms(row[0] if row and row[0] else "")


def split_index_terms(sql: str) -> list[str]:
    """The terms between the parentheses of ``CREATE INDEX name ON table(term, ...)``, without
    their ASC/DESC and with comments blanked (a term goes into a one-line trigger); ``[]`` when
    there are none. Strings and quoted names are taken whole, parentheses inside them too."""
    terms: list[str] = []
    parts: list[str] = []
    depth = 0
    for token in _TOKEN.findall(sql):
        if token.startswith(("--", "/*")):
            token = " "
        if token == "(":
            depth += 1
            if depth == 1:
                continue
        elif token == ")":
            depth -= 1
            if depth == 0:
                return [*terms, _ORDER.sub("", "".join(parts)).strip()]
        elif token == "," and depth == 1:
            terms.append(_ORDER.sub("", "".join(parts)).strip())
            parts = []
            continue
        if depth:
            parts.append(token)
    return []


def log_ddl(width: int) -> str:
    """The undo log: a global sequence, the table, the operation, keys and an old row image."""
    cols = "".join(f", c{i}" for i in range(max(width, 1)))
    return (
        f"CREATE TABLE {LOG_TABLE} (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, "
        f"op TEXT NOT NULL, new_rid, old_rid{cols})"
    )


def meta_ddl() -> str:
    """Key/value facts a crashed run's successor needs (the original sqlite_sequence)."""
    return f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def trigger_ddl(table: TableInfo, index: int) -> list[str]:
    """The CREATE TRIGGER statements that log every change of ``table``."""
    t, tname = table.q, quote_text(table.name)
    n = len(table.columns)
    old_cols = [f"OLD.{quote_ident(c)}" for c in table.columns]
    image_targets = "".join(f", c{i}" for i in range(n))
    base = f"{PREFIX}{index}_"
    if table.rowid_name:
        r = table.rowid_name
        ins_cols, ins_vals = "new_rid", f"NEW.{r}"
        upd_cols = f"new_rid, old_rid{image_targets}"
        upd_vals = ", ".join([f"NEW.{r}", f"OLD.{r}", *old_cols])
        del_cols, del_vals = f"old_rid{image_targets}", ", ".join([f"OLD.{r}", *old_cols])
    else:
        keys = [f"c{n + i}" for i in range(len(table.key_columns))]
        new_keys = [f"NEW.{quote_ident(c)}" for c in table.key_columns]
        ins_cols, ins_vals = ", ".join(keys), ", ".join(new_keys)
        upd_cols = image_targets.lstrip(", ") + ", " + ", ".join(keys)
        upd_vals = ", ".join(old_cols + new_keys)
        del_cols, del_vals = image_targets.lstrip(", "), ", ".join(old_cols)
    log = f"INSERT INTO {LOG_TABLE}(tbl, op, "
    stmts = [
        f"CREATE TRIGGER {quote_ident(base + 'ai')} AFTER INSERT ON {t} BEGIN "
        f"{log}{ins_cols}) VALUES ({tname}, 'I', {ins_vals}); END",
        f"CREATE TRIGGER {quote_ident(base + 'au')} AFTER UPDATE ON {t} BEGIN "
        f"{log}{upd_cols}) VALUES ({tname}, 'U', {upd_vals}); END",
        f"CREATE TRIGGER {quote_ident(base + 'ad')} AFTER DELETE ON {t} BEGIN "
        f"{log}{del_cols}) VALUES ({tname}, 'D', {del_vals}); END",
    ]
    conflict = _conflict_condition(table)
    if conflict:
        replaced = f"{log}{del_cols}) SELECT {tname}, 'R', {', '.join(table.row_columns)} FROM {t}"
        old_key = (
            f"OLD.{table.rowid_name}"
            if table.rowid_name
            else "(" + ", ".join(f"OLD.{quote_ident(c)}" for c in table.key_columns) + ")"
        )
        stmts += [
            f"CREATE TRIGGER {quote_ident(base + 'bi')} BEFORE INSERT ON {t} BEGIN "
            f"{replaced} WHERE {conflict}; END",
            f"CREATE TRIGGER {quote_ident(base + 'bu')} BEFORE UPDATE ON {t} BEGIN "
            f"{replaced} WHERE ({conflict}) AND {table.key_expr} <> {old_key}; END",
        ]
    return stmts


def _conflict_condition(table: TableInfo) -> str:
    terms: list[str] = []
    if table.rowid_name:
        terms.append(f"{table.rowid_name} = NEW.{table.rowid_name}")
    new_row = ", ".join(f"NEW.{quote_ident(c)} AS {quote_ident(c)}" for c in table.columns)
    for keys in table.unique_sets:
        equal = (
            f"{term} = (SELECT {term} FROM (SELECT {new_row})) COLLATE {quote_ident(coll)}"
            if term.startswith("(")
            else f"{term} = NEW.{term} COLLATE {quote_ident(coll)}"
            for term, coll in keys
        )
        terms.append("(" + " AND ".join(equal) + ")")
    return " OR ".join(terms)
