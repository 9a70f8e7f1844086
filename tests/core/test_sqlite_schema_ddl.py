"""SQLiteStore's triggers and table facts on schemas the other SQLite tests do not have: table
and column names holding double quotes, apostrophes, spaces, keywords and non-ASCII letters;
a WITHOUT ROWID key declared in another order than its columns; unique indexes listed after a
plain one or built on an expression. Each is checked on a real file written by another process:
rollback gives back the user's tables exactly, and teardown the whole file. Found by mutation
testing (docs/benchmarks.md), and with it three rollback bugs the last three tests keep fixed: a
comment saying "WITHOUT ROWID" made a rowid table one (its rows came back under new rowids), and
a REPLACE through a unique index on an expression, or with a collation of its own, deleted a row
no trigger logged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from _support_sqlite import create_db, logical_content, write_from_other_process
from venomqa.ports.store import RecordChange
from venomqa.stores import SQLiteStore
from venomqa.stores._sqlite_schema import _is_without_rowid, split_index_terms


def user_tables(path: Path) -> dict[str, Any]:
    """The user's tables of ``logical_content`` (without the store's undo log and meta table)."""
    tables = logical_content(path)["tables"]
    return {name: rows for name, rows in tables.items() if not name.startswith("_venomqa_")}


def roll_back_writes(path: Path, *statements: str) -> SQLiteStore:
    """Set a store up on ``path``, let another process run ``statements`` after a checkpoint,
    roll back, and check that the user's tables are as at setup. Returns the store (set up)."""
    at_setup = user_tables(path)
    store = SQLiteStore(str(path))
    store.setup()
    token = store.checkpoint()
    write_from_other_process(path, *statements, foreign_keys=False)
    assert user_tables(path) != at_setup
    store.rollback(token)
    assert user_tables(path) == at_setup
    return store


#: Identifiers as the SQL has them: a double quote doubled inside double quotes.
HI, HI_ID, HI_AB = '"say ""hi"""', '"the ""id"""', '"a ""b"""'
ITS, DONT, OK = '"it\'s"', '"don\'t"', '"o\'k"'
CAFE, NAIVE, SIZE = '"café ☕ 表"', '"naïve key"', '"Größe"'

ODD_NAMES = f"""
CREATE TABLE {HI} ({HI_ID} INTEGER PRIMARY KEY, {HI_AB} TEXT UNIQUE, n INTEGER);
CREATE TABLE {ITS} ({DONT} TEXT UNIQUE, {OK} INTEGER);
CREATE TABLE "order" ("select" TEXT, "group" INTEGER, "where" REAL,
    PRIMARY KEY ("group", "select")) WITHOUT ROWID;
CREATE TABLE {CAFE} ({NAIVE} TEXT PRIMARY KEY, {SIZE} INTEGER UNIQUE) WITHOUT ROWID;
INSERT INTO {HI} VALUES (1, 'x"y', 1), (2, 'plain', 2);
INSERT INTO {ITS} VALUES ('it''s', 1), ('b', 2);
INSERT INTO "order" VALUES ('s', 1, 0.5), ('t', 2, 1.5);
INSERT INTO {CAFE} VALUES ('ü', 1), ('ß', 2);
"""

ODD_WRITES = (
    f"INSERT INTO {HI}({HI_AB}, n) VALUES ('new', 3)",
    f"UPDATE {HI} SET n = 10, {HI_AB} = 'q\"q' WHERE {HI_ID} = 1",
    f"INSERT OR REPLACE INTO {HI} VALUES (7, 'plain', 70)",  # replaces row 2
    f"DELETE FROM {HI} WHERE {HI_ID} = 1",
    f"INSERT INTO {ITS} VALUES ('o''clock', 3)",
    f"UPDATE {ITS} SET {OK} = 20 WHERE {DONT} = 'b'",
    f"INSERT OR REPLACE INTO {ITS} VALUES ('it''s', 100)",  # replaces the first row
    f"DELETE FROM {ITS} WHERE {DONT} = 'b'",
    "INSERT INTO \"order\" VALUES ('u', 3, 2.5)",
    'UPDATE "order" SET "select" = \'z\', "where" = 9 WHERE "group" = 1',
    "INSERT OR REPLACE INTO \"order\" VALUES ('t', 2, 7.5)",
    'DELETE FROM "order" WHERE "group" = 3',
    f"INSERT INTO {CAFE} VALUES ('é', 3)",
    f"INSERT OR REPLACE INTO {CAFE} VALUES ('ñ', 1)",  # replaces 'ü' (Größe 1)
    f"UPDATE {CAFE} SET {NAIVE} = 'ø' WHERE {SIZE} = 2",
    f"DELETE FROM {CAFE} WHERE {NAIVE} = 'é'",
)


def test_names_with_quotes_apostrophes_spaces_keywords_and_unicode_are_rolled_back(
    tmp_path: Path,
) -> None:
    db = create_db(tmp_path / "odd names.db", ODD_NAMES)
    before = logical_content(db)
    store = roll_back_writes(db, *ODD_WRITES)
    try:
        write_from_other_process(db, f"DELETE FROM {ITS} WHERE {DONT} = 'it''s'")
        [record] = store.changed_records()
        assert record == RecordChange("it's", (1,), {"don't": "it's", "o'k": 1}, None, ())
    finally:
        store.teardown()
    assert logical_content(db) == before


def test_records_of_a_without_rowid_table_name_the_key_in_primary_key_order(
    tmp_path: Path,
) -> None:
    """As the PostgreSQL and MySQL stores do: the key's columns in the order PRIMARY KEY names
    them, not in the order of the table's columns."""
    db = create_db(
        tmp_path / "stock.db",
        "CREATE TABLE stock (sku TEXT, site INTEGER, qty REAL, PRIMARY KEY (site, sku))"
        " WITHOUT ROWID;"
        "INSERT INTO stock VALUES ('a', 1, 5), ('b', 2, 0.5);",
    )
    store = roll_back_writes(db, "UPDATE stock SET site = 3 WHERE sku = 'b'")
    try:
        write_from_other_process(db, "UPDATE stock SET qty = 9 WHERE sku = 'a'")
        assert store.changed_records() == [
            RecordChange(
                "stock",
                (1, "a"),
                {"sku": "a", "site": 1, "qty": 5.0},
                {"sku": "a", "site": 1, "qty": 9.0},
                ("site", "sku"),
            )
        ]
    finally:
        store.teardown()


def test_a_replace_on_a_unique_column_is_undone_whatever_other_indexes_the_table_has(
    tmp_path: Path,
) -> None:
    """The plain index created last is listed before the UNIQUE constraint's own index."""
    db = create_db(
        tmp_path / "users.db",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, team TEXT);"
        "CREATE INDEX users_team ON users(team);"
        "INSERT INTO users(email, team) VALUES ('a@x.io', 'red'), ('b@x.io', 'blue');",
    )
    before = logical_content(db)
    store = roll_back_writes(
        db, "INSERT OR REPLACE INTO users(email, team) VALUES ('a@x.io', 'green')"
    )
    store.teardown()
    assert logical_content(db) == before


def test_a_table_with_a_unique_index_on_an_expression_is_set_up_and_rolled_back(
    tmp_path: Path,
) -> None:
    db = create_db(
        tmp_path / "accounts.db",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT, handle TEXT UNIQUE);"
        "CREATE UNIQUE INDEX accounts_email ON accounts(lower(email));"
        "INSERT INTO accounts(email, handle) VALUES ('A@x.io', 'a'), ('b@x.io', 'b');",
    )
    before = logical_content(db)
    store = roll_back_writes(
        db,
        "INSERT INTO accounts(email, handle) VALUES ('c@x.io', 'c')",
        "UPDATE accounts SET email = 'B2@x.io' WHERE handle = 'b'",
        "INSERT OR REPLACE INTO accounts(email, handle) VALUES ('d@x.io', 'a')",
        "DELETE FROM accounts WHERE handle = 'c'",
    )
    store.teardown()
    assert logical_content(db) == before


def test_a_rowid_table_whose_definition_mentions_without_rowid_in_a_comment_is_a_rowid_table(
    tmp_path: Path,
) -> None:
    """SQLite says which tables are WITHOUT ROWID; a comment in the CREATE text does not."""
    db = create_db(
        tmp_path / "notes.db",
        "CREATE TABLE plain (a TEXT -- ) WITHOUT ROWID\n);"
        "CREATE TABLE keyed (k TEXT PRIMARY KEY, a TEXT /* ) without rowid */);"
        "INSERT INTO plain VALUES ('x');"
        "INSERT INTO keyed VALUES ('k', 'x'), ('j', 'y');",
    )
    before = logical_content(db)
    store = roll_back_writes(db, "DELETE FROM plain", "DELETE FROM keyed WHERE k = 'k'")
    store.teardown()
    assert logical_content(db) == before  # the rowids too: ('k', 'x') is row 1 again


def test_a_replace_through_a_unique_index_on_an_expression_is_undone(tmp_path: Path) -> None:
    """REPLACE deletes the row it conflicts with without firing delete triggers; the row is
    logged before the insert also when the index is on an expression (lower(email))."""
    db = create_db(
        tmp_path / "accounts.db",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT, team TEXT);"
        'CREATE UNIQUE INDEX "by (email)" ON accounts(lower(email) DESC, '
        "coalesce(team, ',)') COLLATE NOCASE);"
        "CREATE UNIQUE INDEX by_team ON accounts(id, upper(team));"  # a column, then a term
        "INSERT INTO accounts(email, team) VALUES ('a@x.io', 'red'), ('b@x.io', 'red');",
    )
    before = logical_content(db)
    store = roll_back_writes(
        db,
        "INSERT OR REPLACE INTO accounts(email, team) VALUES ('A@X.IO', 'RED')",
        "REPLACE INTO accounts(email, team) VALUES ('B@x.io', 'Red')",
    )
    store.teardown()
    assert logical_content(db) == before


def test_a_replace_through_a_unique_index_with_its_own_collation_is_undone(
    tmp_path: Path,
) -> None:
    """The index compares emails case-blind though the column compares them exactly."""
    db = create_db(
        tmp_path / "users.db",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
        "CREATE UNIQUE INDEX users_email ON users(email COLLATE NOCASE);"
        "CREATE TABLE tags (name TEXT PRIMARY KEY COLLATE NOCASE, n INTEGER) WITHOUT ROWID;"
        "INSERT INTO users(email) VALUES ('a@x.io');"
        "INSERT INTO tags VALUES ('Red', 1);",
    )
    before = logical_content(db)
    store = roll_back_writes(
        db,
        "INSERT OR REPLACE INTO users(email) VALUES ('A@X.IO')",
        "INSERT OR REPLACE INTO tags VALUES ('RED', 2)",
    )
    store.teardown()
    assert logical_content(db) == before


def test_rows_an_update_replaces_are_put_back(tmp_path: Path) -> None:
    """UPDATE OR REPLACE (and a constraint declared ON CONFLICT REPLACE) deletes the rows the
    updated one now conflicts with, without firing delete triggers: on a unique column, on a
    new rowid, on a WITHOUT ROWID key, and through an index on an expression."""
    db = create_db(
        tmp_path / "shop.db",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, nick TEXT);"
        "CREATE UNIQUE INDEX users_nick ON users(lower(nick));"
        "CREATE TABLE skus (code TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;"
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT UNIQUE ON CONFLICT REPLACE);"
        "INSERT INTO users(email, nick) VALUES ('a', 'Ann'), ('b', 'Bob'), ('c', 'Cy'),"
        " ('d', 'Di');"
        "INSERT INTO skus VALUES ('p1', 1), ('p2', 2);"
        "INSERT INTO tags(name) VALUES ('red'), ('blue');",
    )
    before = logical_content(db)
    store = roll_back_writes(
        db,
        "UPDATE OR REPLACE users SET nick = 'ANN' WHERE email = 'd'",  # deletes Ann (1)
        "UPDATE OR REPLACE users SET email = 'c' WHERE email = 'b'",  # deletes c (3)
        "UPDATE OR REPLACE users SET id = 2 WHERE email = 'd'",  # deletes b, now c (2)
        "UPDATE OR REPLACE skus SET code = 'p1' WHERE code = 'p2'",
        "UPDATE tags SET name = 'red' WHERE name = 'blue'",
        "UPDATE users SET nick = nick || '!'",  # no conflict: nothing but the updates to undo
    )
    store.teardown()
    assert logical_content(db) == before


def test_without_sqlites_answer_a_table_is_without_rowid_when_its_create_text_ends_so() -> None:
    """Before SQLite 3.37 (no ``PRAGMA table_list``) the end of the CREATE text decides."""
    conn = sqlite3.connect(":memory:")
    unlisted = "not_in_this_database"
    assert _is_without_rowid(conn, unlisted, "CREATE TABLE t (k PRIMARY KEY) WITHOUT ROWID")
    assert _is_without_rowid(conn, unlisted, "CREATE TABLE t (k PRIMARY KEY) STRICT, WITHOUT ROWID")
    assert not _is_without_rowid(conn, unlisted, "CREATE TABLE t (k PRIMARY KEY)")


@pytest.mark.parametrize(
    ("index", "terms"),
    [
        ("ON t(a)", ["a"]),
        ("ON t(a DESC, b ASC)", ["a", "b"]),
        ("ON t(lower(a), coalesce(b, 'x'))", ["lower(a)", "coalesce(b, 'x')"]),
        (
            "ON t(substr(a, 1, (2 + 3)) COLLATE NOCASE desc)",
            ["substr(a, 1, (2 + 3)) COLLATE NOCASE"],
        ),
        ("ON t(a || ',)' || 'it''s', b)", ["a || ',)' || 'it''s'", "b"]),
        ('ON "t (1)"("we ""(ird""", [b,c], `d)`)', ['"we ""(ird"""', "[b,c]", "`d)`"]),
        ("ON t(a -- one, (\n, b /* ), c */)", ["a", "b"]),
        ("ON t(a / 2 - 1) WHERE b > (1)", ["a / 2 - 1"]),
    ],
)
def test_the_terms_of_an_index_are_read_as_written(index: str, terms: list[str]) -> None:
    sql = f"CREATE INDEX i {index}"
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "t (1)" ("we ""(ird""", "b,c", "d)")')
    conn.execute("CREATE TABLE t (a, b, c)")
    conn.execute(sql)  # SQLite takes it
    assert split_index_terms(sql) == terms
    assert split_index_terms("CREATE TABLE t (a)") == ["a"]
    assert split_index_terms("no parentheses") == []


def test_a_replace_through_an_index_written_with_comments_and_quotes_is_undone(
    tmp_path: Path,
) -> None:
    db = create_db(
        tmp_path / "accounts.db",
        'CREATE TABLE accounts (id INTEGER PRIMARY KEY, "e-mail" TEXT, [team (b)] TEXT);'
        "CREATE UNIQUE INDEX by_mail ON accounts(\n"
        '  lower("e-mail") -- case-blind, (so: a@x = A@X\n'
        "  , /* and ) per */ [team (b)] DESC\n"
        ");"
        "INSERT INTO accounts(\"e-mail\", [team (b)]) VALUES ('a@x', 'red'), ('b@x', 'red');",
    )
    before = logical_content(db)
    store = roll_back_writes(
        db, "INSERT OR REPLACE INTO accounts(\"e-mail\", [team (b)]) VALUES ('A@X', 'red')"
    )
    store.teardown()
    assert logical_content(db) == before
