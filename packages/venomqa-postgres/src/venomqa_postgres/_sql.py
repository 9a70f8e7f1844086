"""The SQL the PostgreSQL store installs in the private schema ``_venomqa``.

- ``_venomqa.log``: the undo log. One row per changed row: the table's index, the operation
  (``I``/``U``/``D``) and the old and new row images as the row type's text form (which
  round-trips every type exactly: bytea, arrays, jsonb, NULLs, floats).
- ``_venomqa.log_insert()``, ``log_update()``, ``log_delete()``: the ``AFTER ... FOR EACH ROW``
  trigger functions, one per operation so each does only its own work (an insert logs just the
  new image). They run as the writer, not SECURITY DEFINER (which costs on every row): instead
  PUBLIC may append to the log, and nothing else. ``_venomqa.log_truncate()``, a ``BEFORE
  TRUNCATE`` statement trigger function (SECURITY DEFINER: it reads the table), logs every row of
  the table as deleted. They write in the writer's own transaction, so the changes of any
  connection of any process are recorded, and only once they commit.
- ``_venomqa.rollback_to(token, values, called, replica)``: generated per run with static SQL
  for every tracked table (so PL/pgSQL caches its plans). It first locks every tracked table
  against writers (``_locks``: a write in flight finishes first and is undone too), then
  replays the log backwards down to ``token`` with triggers and foreign-key checks off
  (``session_replication_role = replica``; without that privilege, a GUC the trigger functions
  check and deferred constraints), deletes those entries and restores the sequences.
- ``_venomqa.meta``: the sequence values (and oids) at setup, for teardown and crash recovery.
- ``_venomqa.read_above(seen)``: generated per run; what VenomQA reads after every action
  (see below), after locking the tracked tables against writers like ``rollback_to``.
- ``_venomqa.image_<n>``: for a table with numeric columns, a composite type like its row type
  but with those columns as text, so a row image read as it keeps their exact decimal text.

The content hash (fingerprint) is the sum mod 2**64 over log entries of ``hash(new) -
hash(old)``, seeded with the table's index: a function of the set of rows only, relative to the
content at setup, maintained at O(rows changed). VenomQA computes the hashes when it reads new
entries (each entry once), keeping them out of the writer's path. The same call
(``read_above``) returns the new entries themselves, each row image read as its table's row type
and turned into JSON server-side (``to_json``: timestamps as ISO-8601 in UTC, uuids as text,
jsonb and arrays nested, bytea as ``\\x``-hex text, numerics as text through ``image_<n>``), all
of them in one ``json_agg`` value, for ``changed_records()``.
"""

from __future__ import annotations

from collections.abc import Sequence

from venomqa_postgres._catalog import SCHEMA, SequenceInfo, TableInfo, quote_ident
from venomqa_postgres._locks import lock_sql

S = quote_ident(SCHEMA)
LOG = f"{S}.log"
META = f"{S}.meta"
REPLAY_GUC = "venomqa.replaying"
ROW_TRIGGER = "_venomqa_log"
TRUNCATE_TRIGGER = "_venomqa_truncate"


def base_ddl(replica: bool) -> list[str]:
    """The schema, log, meta table, grants and the trigger functions.

    With ``replica`` the rollback turns triggers off through ``session_replication_role``, so
    the row functions need not check the replay GUC.
    """
    guard = (
        ""
        if replica
        else f"  IF pg_catalog.current_setting('{REPLAY_GUC}', true) = 'on' THEN RETURN NULL; "
        "END IF;\n"
    )
    ddl = [
        f"CREATE SCHEMA {S}",
        f"CREATE TABLE {LOG} (id bigserial PRIMARY KEY, tbl integer NOT NULL, "
        'op "char" NOT NULL, old_row text, new_row text)',
        f"CREATE TABLE {META} (key text PRIMARY KEY, value text NOT NULL)",
        # The row functions run as the writer (SECURITY DEFINER costs on every row), so any
        # role may append to the log; nothing else is granted.
        f"GRANT USAGE ON SCHEMA {S} TO PUBLIC",
        f"GRANT INSERT ON {LOG} TO PUBLIC",
        f"GRANT USAGE ON SEQUENCE {LOG}_id_seq TO PUBLIC",
    ]
    bodies = {
        "log_insert": f"  INSERT INTO {LOG}(tbl, op, new_row) VALUES (TG_ARGV[0]::integer, 'I', "
        "NEW::text);\n",
        "log_update": "  o := OLD::text;\n  n := NEW::text;\n  IF o <> n THEN\n"
        f"    INSERT INTO {LOG}(tbl, op, old_row, new_row) "
        "VALUES (TG_ARGV[0]::integer, 'U', o, n);\n  END IF;\n",
        "log_delete": f"  INSERT INTO {LOG}(tbl, op, old_row) VALUES (TG_ARGV[0]::integer, 'D', "
        "OLD::text);\n",
    }
    declare = "DECLARE\n  o text;\n  n text;\n"
    for name, body in bodies.items():
        ddl.append(
            f"CREATE FUNCTION {S}.{name}() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
            f"{declare if name == 'log_update' else ''}BEGIN\n{guard}{body}  RETURN NULL;\nEND\n$f$"
        )
    ddl.append(
        f"""CREATE FUNCTION {S}.log_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
AS $f$
BEGIN
{guard}  EXECUTE pg_catalog.format(
    'INSERT INTO {LOG}(tbl, op, old_row) SELECT %1$s, ''D'', t::text FROM %2$s t',
    TG_ARGV[0]::integer, TG_RELID::regclass);
  RETURN NULL;
END
$f$"""
    )
    return ddl


def trigger_ddl(table: TableInfo, index: int) -> list[str]:
    """The triggers that log every change of ``table``: one per row operation, and TRUNCATE."""
    return [
        *(
            f"CREATE TRIGGER {ROW_TRIGGER}_{op[0]} AFTER {op.upper()} ON {table.q} "
            f"FOR EACH ROW EXECUTE FUNCTION {S}.log_{op}('{index}')"
            for op in ("insert", "update", "delete")
        ),
        f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {table.q} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {S}.log_truncate('{index}')",
    ]


def _undo_branch(table: TableInfo, index: int) -> str:
    """PL/pgSQL that undoes one log entry ``e`` of ``table`` using row variable ``r{index}``."""
    r = f"r{index}"
    if table.key_columns:
        match = " AND ".join(f"{quote_ident(c)} = {r}.{quote_ident(c)}" for c in table.key_columns)
        remove = f"DELETE FROM {table.q} WHERE {match};"
    else:  # no primary key: remove one row whose whole image matches
        remove = (
            f"DELETE FROM {table.q} WHERE ctid = (SELECT t.ctid FROM {table.q} t "
            "WHERE t::text = e.new_row LIMIT 1);"
        )
    cols = ", ".join(quote_ident(c) for c in table.columns)
    values = ", ".join(f"{r}.{quote_ident(c)}" for c in table.columns)
    restore = (
        f"INSERT INTO {table.q} ({cols}) OVERRIDING SYSTEM VALUE VALUES ({values});"
        if table.columns
        else f"INSERT INTO {table.q} DEFAULT VALUES;"
    )
    return (
        f"    IF e.op <> 'D' THEN\n"
        f"      {r} := e.new_row::{table.q};\n"
        f"      {remove}\n"
        f"    END IF;\n"
        f"    IF e.op <> 'I' THEN\n"
        f"      {r} := e.old_row::{table.q};\n"
        f"      {restore}\n"
        f"    END IF;\n"
    )


def rollback_function_ddl(tables: Sequence[TableInfo], sequences: Sequence[SequenceInfo]) -> str:
    """``_venomqa.rollback_to(token, vals, called, replica)`` for these tables: lock them all
    (one statement each, so an error's context names the table), then replay."""
    locks = "".join(f"  {lock_sql(t.q)};\n" for t in tables)
    declare = "".join(f"  r{i} {t.q};\n" for i, t in enumerate(tables))
    branches = "".join(
        f"  {'IF' if i == 0 else 'ELSIF'} e.tbl = {i} THEN\n{_undo_branch(t, i)}"
        for i, t in enumerate(tables)
    )
    if branches:
        branches += "  END IF;\n"
    seqs = "".join(
        f"  SELECT last_value, is_called INTO lv, ic FROM {s.q};\n"
        f"  IF lv <> vals[{i + 1}] OR ic <> called[{i + 1}] THEN\n"
        f"    PERFORM pg_catalog.setval({s.oid}::oid, vals[{i + 1}], called[{i + 1}]);\n"
        f"  END IF;\n"
        for i, s in enumerate(sequences)
    )
    return f"""CREATE FUNCTION {S}.rollback_to(
  token bigint, vals bigint[], called boolean[], replica boolean) RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE
  e record;
  lv bigint;
  ic boolean;
{declare}BEGIN
{locks}  IF replica THEN
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
  ELSE
    PERFORM pg_catalog.set_config('{REPLAY_GUC}', 'on', true);
    SET CONSTRAINTS ALL DEFERRED;
  END IF;
  FOR e IN SELECT id, tbl, op, old_row, new_row FROM {LOG} WHERE id > token ORDER BY id DESC
  LOOP
{branches}  END LOOP;
  DELETE FROM {LOG} WHERE id > token;
  IF vals IS NOT NULL THEN
{seqs}  END IF;
END
$f$"""


def image_type_ddl(tables: Sequence[TableInfo]) -> list[str]:
    """``_venomqa.image_<n>`` for each table whose row images need other column types."""
    return [
        f"CREATE TYPE {image_type(t, i)} AS ("
        + ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in t.image_columns)
        + ")"
        for i, t in enumerate(tables)
        if t.image_columns
    ]


def image_type(table: TableInfo, index: int) -> str:
    """The type a row image of ``table`` is read as: ``_venomqa.image_<n>`` or the row type."""
    return f"{S}.image_{index}" if table.image_columns else table.q


def _as_json(tables: Sequence[TableInfo], image: str) -> str:
    """SQL turning log entry ``e``'s ``image`` column (old_row/new_row) into json (or NULL)."""
    if not tables:
        return "NULL::json"
    branches = " ".join(
        f"WHEN {i} THEN pg_catalog.to_json(e.{image}::{image_type(t, i)})"
        for i, t in enumerate(tables)
    )
    return f"CASE e.tbl {branches} END"


#: Settings the JSON form of row images depends on, fixed inside ``read_above`` (and restored
#: when it returns), so the same row reads the same whatever VenomQA's (or, in savepoint mode,
#: the app's) session has set.
READ_SETTINGS = {
    "TimeZone": "UTC",
    "bytea_output": "hex",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
}


def read_function_ddl(tables: Sequence[TableInfo]) -> str:
    """``_venomqa.read_above(seen)``: the newest log id (``seen`` when there is none above it),
    the hash delta of the entries above ``seen``, and those entries as the text of a JSON array
    of ``[id, tbl, old, new]`` (in id order; ``old``/``new`` are the row images as JSON objects
    or null), or NULL. PL/pgSQL, so its plan is cached; generated per run for these tables.

    It first locks the tracked tables against writers, as a rollback does (``_locks``), and only
    then reads the log (a VOLATILE function: each statement sees what committed before it). Log
    ids are taken when a row is written, not when its transaction commits: without the locks, a
    write still in flight (id 5) could commit after a later one (id 6) was read, and ``seen``
    would already be past it for good."""
    entry = f"e.id, e.tbl, {_as_json(tables, 'old_row')}, {_as_json(tables, 'new_row')}"
    settings = " ".join(f"SET {name} TO '{value}'" for name, value in READ_SETTINGS.items())
    locks = "".join(f"  {lock_sql(t.q)};\n" for t in tables)
    return f"""CREATE FUNCTION {S}.read_above(
  seen bigint, OUT top bigint, OUT delta numeric, OUT entries text)
LANGUAGE plpgsql VOLATILE {settings} AS $f$
BEGIN
{locks}  SELECT coalesce(max(e.id), seen),
         coalesce(sum(pg_catalog.hashtextextended(e.new_row, e.tbl)), 0)
         - coalesce(sum(pg_catalog.hashtextextended(e.old_row, e.tbl)), 0),
         pg_catalog.json_agg(pg_catalog.json_build_array({entry}) ORDER BY e.id)::text
  INTO top, delta, entries
  FROM {LOG} e WHERE e.id > seen;
END
$f$"""


#: Taking ``(token, values, called, replica)``: undo every log entry above ``token``.
ROLLBACK_SQL = f"SELECT {S}.rollback_to(%s, %s::bigint[], %s::boolean[], %s)"

#: Taking ``(seen,)``: ``top, delta, entries`` (see ``read_function_ddl``).
READ_SQL = f"SELECT f.top, f.delta, f.entries FROM {S}.read_above(%s) f"


def checkpoint_sql(sequences: Sequence[SequenceInfo]) -> str:
    """``READ_SQL`` (taking ``(seen,)``) followed by ``last_value, is_called`` of each sequence,
    in one statement."""
    parts = ["f.top", "f.delta", "f.entries"]
    parts += [f"s{i}.last_value, s{i}.is_called" for i in range(len(sequences))]
    sources = "".join(f", {s.q} s{i}" for i, s in enumerate(sequences))
    return f"SELECT {', '.join(parts)} FROM {S}.read_above(%s) f{sources}"
