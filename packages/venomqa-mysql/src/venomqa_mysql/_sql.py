"""The SQL VenomQA installs in the database and runs there (generated per tracked table).

Objects, all named ``_venomqa_*`` so they are easy to recognise and to remove:

- ``_venomqa_meta``: what the run tracks and the AUTO_INCREMENT counters at setup (JSON), so a
  later run can undo a killed one.
- ``_venomqa_log_<i>``: the undo log of tracked table number ``i``. One row per written row:
  the old image (``o<j>`` columns, the table's own types) and the new image (``n<j>``), and a
  64-bit hash of each (NULL where there is no image: insert, delete).
- Triggers ``_venomqa_<i>_ins|upd|del`` (AFTER, FOR EACH ROW) append to that log, inside the
  writer's own transaction; they run as their definer, so the API's user needs no right on the
  log. They do nothing in a session with ``@venomqa_replay`` set (VenomQA's own replay).
- ``_venomqa_rollback(sig, n, p0.., a0..)``: undoes every entry above position ``p<i>`` of each
  log in one transaction and deletes those entries. Cost: for a table with a primary key, four
  statements over its entries above the position (the rows whose keys those entries touch are
  deleted, then each key's first old image is inserted back): O(rows changed); for a table
  without one, two statements per entry (newest first), each a scan of that table. Before
  anything it compares a digest of the tracked tables' catalog entries (creation time, InnoDB
  table id: DDL and TRUNCATE change them) with ``sig``/``n`` and refuses with SQLSTATE 45000
  when they differ. It does not set AUTO_INCREMENT counters back (that is DDL, which the store
  sends after it: ``MySQLStore._lower_counters``); when the tracked tables have any, it
  returns one row: the indices of the tables whose counter is not ``a<i>`` (``'0,3'``, or
  ``''``).
"""

from __future__ import annotations

from collections.abc import Sequence

from venomqa_mysql._catalog import META, PREFIX, ROLLBACK_PROC, TableInfo, quote_string

#: The message of the SIGNAL the rollback raises when the tracked tables' definitions changed.
SCHEMA_CHANGED = "VENOMQA_SCHEMA_CHANGED"
ID, H_OLD, H_NEW = "`_vq_id`", "`_vq_h_old`", "`_vq_h_new`"


def trigger_name(table: TableInfo, event: str) -> str:
    return f"`{PREFIX}{table.index}_{event}`"


def meta_ddl() -> str:
    return (
        f"CREATE TABLE {META} (k VARCHAR(64) NOT NULL PRIMARY KEY, v LONGTEXT NOT NULL) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )


def log_ddl(table: TableInfo) -> str:
    images = [f"`{side}{j}` {c.image_type()}" for side in "on" for j, c in enumerate(table.stored)]
    columns = [
        f"{ID} BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY",
        f"{H_OLD} BIGINT UNSIGNED NULL",
        f"{H_NEW} BIGINT UNSIGNED NULL",
        *images,
    ]
    return f"CREATE TABLE {table.log} ({', '.join(columns)}) ENGINE=InnoDB"


def row_hash(table: TableInfo, ref: str, nulls: tuple[str, ...] = ()) -> str:
    """A 64-bit hash of a row image (``ref``: ``NEW``, ``OLD`` or a table alias; the columns
    named in ``nulls`` taken as NULL), as an unsigned integer. TIMESTAMPs are hashed as epoch
    seconds, so the session's time zone does not matter; every value goes through QUOTE, which
    tells NULL from the text 'NULL'."""
    parts = [str(table.index)]
    for c in table.stored:
        value = "NULL" if c.name in nulls else f"{ref}.{c.q}"
        if c.data_type == "timestamp":
            value = f"UNIX_TIMESTAMP({value})"
        parts.append(f"CAST(QUOTE({value}) AS BINARY)")
    return f"CAST(CONV(LEFT(MD5(CONCAT_WS(0x1f, {', '.join(parts)})), 16), 16, 10) AS UNSIGNED)"


def trigger_ddl(table: TableInfo) -> list[str]:
    stored = table.stored
    olds = [f"`o{j}`" for j in range(len(stored))]
    news = [f"`n{j}`" for j in range(len(stored))]

    def values(ref: str) -> list[str]:
        return [f"{ref}.{c.q}" for c in stored]

    bodies = {
        "ins": (
            [H_NEW, *news],
            [row_hash(table, "NEW"), *values("NEW")],
            "INSERT",
        ),
        "upd": (
            [H_OLD, H_NEW, *olds, *news],
            [row_hash(table, "OLD"), row_hash(table, "NEW"), *values("OLD"), *values("NEW")],
            "UPDATE",
        ),
        "del": (
            [H_OLD, *olds],
            [row_hash(table, "OLD"), *values("OLD")],
            "DELETE",
        ),
    }
    out = []
    for event, (columns, exprs, verb) in bodies.items():
        out.append(
            f"CREATE TRIGGER {trigger_name(table, event)} AFTER {verb} ON {table.q} "
            f"FOR EACH ROW IF @venomqa_replay IS NULL THEN "
            f"INSERT INTO {table.log} ({', '.join(columns)}) VALUES ({', '.join(exprs)}); "
            "END IF"
        )
    return out


def _catalog_parts(tables: Sequence[TableInfo], innodb: str | None) -> tuple[str, str, str]:
    """(InnoDB table id expression, per-table digest expression, FROM clause)."""
    names = ", ".join(quote_string(t.name) for t in tables) or "NULL"
    if innodb:
        table_id = "i.TABLE_ID"
        join = (
            f"LEFT JOIN information_schema.{innodb} i "
            "ON i.NAME = CONCAT(t.TABLE_SCHEMA, '/', t.TABLE_NAME)"
        )
    else:
        table_id, join = "NULL", ""
    part = f"CONCAT_WS(':', t.TABLE_NAME, IFNULL(t.CREATE_TIME, ''), IFNULL({table_id}, ''))"
    digest = f"CAST(CONV(LEFT(MD5({part}), 16), 16, 10) AS UNSIGNED)"
    where = f"WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME IN ({names})"
    return table_id, digest, f"FROM information_schema.TABLES t {join} {where}"


def catalog_sql(tables: Sequence[TableInfo], innodb: str | None) -> str:
    """Per tracked table: name, AUTO_INCREMENT, CREATE_TIME, InnoDB table id (NULL when
    ``innodb`` is None: not readable), and a 64-bit digest of the last two and the name (what
    DDL and TRUNCATE change). The run's digest is the XOR of the tables' and their count."""
    table_id, digest, source = _catalog_parts(tables, innodb)
    return f"SELECT t.TABLE_NAME, t.AUTO_INCREMENT, t.CREATE_TIME, {table_id}, {digest} {source}"


def _replay_keyed(table: TableInfo, position: str) -> list[str]:
    """Undo the entries above ``position`` of a table with a primary key (set-based)."""
    log, stored, keys = table.log, table.stored, table.keys
    above = f"{ID} > {position}"
    new_keys = ", ".join(f"`n{k}`" for k in keys)
    old_keys = ", ".join(f"`o{k}`" for k in keys)
    on_current = " AND ".join(f"t.{stored[k].q} = x.`n{k}`" for k in keys)
    on_first = " AND ".join(f"b.`n{k}` = a.`o{k}`" for k in keys)
    columns = ", ".join(c.q for c in stored)
    olds = ", ".join(f"e.`o{j}`" for j in range(len(stored)))
    return [
        f"DELETE t FROM {table.q} t JOIN (SELECT DISTINCT {new_keys} FROM {log} "
        f"WHERE {above} AND {H_NEW} IS NOT NULL) x ON {on_current}",
        f"INSERT INTO {table.q} ({columns}) SELECT {olds} FROM {log} e "
        f"JOIN (SELECT {old_keys}, MIN({ID}) AS first_id FROM {log} "
        f"WHERE {above} AND {H_OLD} IS NOT NULL GROUP BY {old_keys}) a ON e.{ID} = a.first_id "
        f"LEFT JOIN (SELECT {new_keys}, MIN({ID}) AS first_id FROM {log} "
        f"WHERE {above} AND {H_NEW} IS NOT NULL GROUP BY {new_keys}) b ON {on_first} "
        "WHERE b.first_id IS NULL OR a.first_id <= b.first_id",
    ]


def _replay_keyless(table: TableInfo, position: str) -> str:
    """Undo the entries above ``position`` of a table without a primary key, newest first:
    delete one row equal to the new image, insert the old image."""
    stored = table.stored
    columns = ", ".join(c.q for c in stored)
    olds = ", ".join(f"`o{j}`" for j in range(len(stored)))
    same = " AND ".join(f"{table.q}.{c.q} <=> e.`n{j}`" for j, c in enumerate(stored))
    return (
        "BEGIN DECLARE done INT DEFAULT 0; DECLARE eid BIGINT UNSIGNED; "
        "DECLARE has_old, has_new INT; "
        f"DECLARE entries CURSOR FOR SELECT {ID}, {H_OLD} IS NOT NULL, {H_NEW} IS NOT NULL "
        f"FROM {table.log} WHERE {ID} > {position} ORDER BY {ID} DESC; "
        "DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; "
        "OPEN entries; entry_loop: LOOP FETCH entries INTO eid, has_old, has_new; "
        "IF done THEN LEAVE entry_loop; END IF; "
        f"IF has_new THEN DELETE FROM {table.q} WHERE EXISTS (SELECT 1 FROM {table.log} e "
        f"WHERE e.{ID} = eid AND {same}) LIMIT 1; END IF; "
        f"IF has_old THEN INSERT INTO {table.q} ({columns}) SELECT {olds} FROM {table.log} "
        f"WHERE {ID} = eid; END IF; "
        "END LOOP; CLOSE entries; END"
    )


def rollback_proc_ddl(tables: Sequence[TableInfo], innodb: str | None) -> str:
    params = ["IN sig BIGINT UNSIGNED", "IN n INT"]
    params += [f"IN p{t.index} BIGINT UNSIGNED" for t in tables]
    params += [f"IN a{t.index} BIGINT UNSIGNED" for t in tables]
    _, digest, source = _catalog_parts(tables, innodb)
    counted = [t for t in tables if t.auto_increment]
    counters = "".join(
        f", MAX(IF(BINARY t.TABLE_NAME = {quote_string(t.name)}, t.AUTO_INCREMENT, NULL))"
        for t in counted
    )
    into = "".join(f", c{t.index}" for t in counted)
    lowered = "".join(f" OR c{t.index} < a{t.index}" for t in counted)
    body = [
        "DECLARE cur_sig BIGINT UNSIGNED",
        "DECLARE cur_n INT",
        *(f"DECLARE c{t.index} BIGINT UNSIGNED" for t in counted),
        "DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; SET @venomqa_replay = NULL; "
        "RESIGNAL; END",
        # the counters are read before the replay: putting rows back below a counter never
        # moves it
        f"SELECT IFNULL(BIT_XOR({digest}), 0), COUNT(*){counters} INTO cur_sig, cur_n{into} "
        f"{source}",
        # a counter below the token's: TRUNCATE (or someone's ALTER) lowered it
        f"IF sig IS NOT NULL AND (NOT (cur_sig <=> sig AND cur_n = n){lowered}) THEN SIGNAL "
        f"SQLSTATE '45000' SET MESSAGE_TEXT = '{SCHEMA_CHANGED}'; END IF",
        "SET @venomqa_replay = 1",
        "START TRANSACTION",
    ]
    for t in tables:
        position = f"p{t.index}"
        steps = _replay_keyed(t, position) if t.key_columns else [_replay_keyless(t, position)]
        steps.append(f"DELETE FROM {t.log} WHERE {ID} > {position}")
        body.append(
            f"IF EXISTS (SELECT 1 FROM {t.log} WHERE {ID} > {position}) THEN "
            + "; ".join(steps)
            + "; END IF"
        )
    body += ["COMMIT", "SET @venomqa_replay = NULL"]
    if counted:
        moved = ", ".join(
            f"IF(a{t.index} IS NOT NULL AND NOT (c{t.index} <=> a{t.index}), {t.index}, NULL)"
            for t in counted
        )
        # (the counters read before the replay: putting rows back never moves one)
        body.append(f"SELECT CONCAT_WS(',', {moved})")
    return (
        f"CREATE PROCEDURE {ROLLBACK_PROC}({', '.join(params)}) MODIFIES SQL DATA BEGIN "
        + "; ".join(body)
        + "; END"
    )


def read_sql(table: TableInfo) -> str:
    """The entries of ``table``'s log above a position (a ``%s`` parameter), oldest first."""
    images = ", ".join(f"`{side}{j}`" for side in "on" for j in range(len(table.stored)))
    return f"SELECT {ID}, {H_OLD}, {H_NEW}, {images} FROM {table.log} WHERE {ID} > %s ORDER BY {ID}"


def count_sql(tables: Sequence[TableInfo]) -> str:
    """Row counts of every tracked table (one statement; for ``observe``)."""
    return " UNION ALL ".join(f"SELECT {t.index}, COUNT(*) FROM {t.q}" for t in tables)


def audit_sql(tables: Sequence[TableInfo]) -> str:
    """Per table: row count and the sum of its rows' hashes, read from the table itself."""
    return " UNION ALL ".join(
        f"SELECT {t.index}, COUNT(*), CAST(IFNULL(SUM({row_hash(t, 'r')}), 0) AS CHAR) FROM {t.q} r"
        for t in tables
    )
