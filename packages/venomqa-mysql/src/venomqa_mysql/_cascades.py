"""Foreign keys whose cascades change tracked rows, which InnoDB does without firing triggers.

``ON DELETE CASCADE`` and ``ON DELETE SET NULL`` are supported: a BEFORE DELETE trigger on the
parent table (``_venomqa_<i>_bdel``) logs, in each affected table's own undo log, the rows the
cascade is about to delete (old image) or to set NULL (old and new image), following chains of
cascades (parent -> child -> grandchild) through joins. Refused with a CascadeError, naming the
key: ``ON UPDATE CASCADE/SET NULL`` on a tracked table, a cascade into a tracked table from an
untracked one (nothing would log it), a cycle of cascades, and a table reached by two cascade
paths from one table (its rows would be logged twice). Cost: one INSERT ... SELECT per path per
deleted parent row, in the writer's statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from venomqa_mysql._catalog import PREFIX, CascadeError, TableInfo, quote_ident

_KEYS_SQL = (
    "SELECT r.CONSTRAINT_NAME, r.TABLE_NAME, r.REFERENCED_TABLE_NAME, r.DELETE_RULE, "
    "r.UPDATE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME "
    "FROM information_schema.REFERENTIAL_CONSTRAINTS r "
    "JOIN information_schema.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA "
    "AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME AND k.TABLE_NAME = r.TABLE_NAME "
    "WHERE r.CONSTRAINT_SCHEMA = DATABASE() AND (r.DELETE_RULE NOT IN ('RESTRICT', 'NO ACTION') "
    "OR r.UPDATE_RULE NOT IN ('RESTRICT', 'NO ACTION')) "
    "ORDER BY r.TABLE_NAME, r.CONSTRAINT_NAME, k.ORDINAL_POSITION"
)
_DELETE_RULES = ("CASCADE", "SET NULL")


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key with a cascading rule: ``child`` columns reference ``parent`` columns."""

    name: str
    child: str
    parent: str
    pairs: tuple[tuple[str, str], ...]  # (child column, parent column)
    on_delete: str
    on_update: str

    def describe(self) -> str:
        return (
            f"foreign key {self.name!r} of table {self.child!r} (references {self.parent!r} "
            f"ON DELETE {self.on_delete} ON UPDATE {self.on_update})"
        )


#: A chain of cascades from a deleted row: edges[0].parent is its table, edges[-1].child the
#: table whose rows the chain changes (deleted, or set NULL by the last edge).
Path = tuple[ForeignKey, ...]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def read_keys(cur: Any) -> list[ForeignKey]:
    """Every foreign key of the database with a rule other than RESTRICT/NO ACTION."""
    cur.execute(_KEYS_SQL)
    keys: dict[tuple[str, str], ForeignKey] = {}
    for name, child, parent, on_delete, on_update, column, referenced in cur.fetchall():
        ident = (_text(child), _text(name))
        pair = (_text(column), _text(referenced))
        known = keys.get(ident)
        if known is None:
            keys[ident] = ForeignKey(
                _text(name), _text(child), _text(parent), (pair,), _text(on_delete),
                _text(on_update),
            )  # fmt: skip
        else:
            keys[ident] = ForeignKey(
                known.name, known.child, known.parent, (*known.pairs, pair), known.on_delete,
                known.on_update,
            )  # fmt: skip
    return list(keys.values())


def cascade_paths(keys: Sequence[ForeignKey], tracked: set[str]) -> dict[str, list[Path]]:
    """Per tracked table: the cascade chains a delete of one of its rows sets off into tracked
    tables. CascadeError for what cannot be logged (see the module docstring)."""
    relevant = [k for k in keys if k.child in tracked]
    why = (
        "InnoDB applies cascades without firing triggers, so VenomQA logs their rows itself, "
        "which it can do for ON DELETE CASCADE and ON DELETE SET NULL from a tracked table"
    )
    for key in relevant:
        if key.on_update not in ("RESTRICT", "NO ACTION"):
            raise CascadeError(
                f"{key.describe()}: {why}, not for ON UPDATE {key.on_update}; make it ON UPDATE "
                "RESTRICT on a test database, or leave the table out with 'exclude'"
            )
        if key.on_delete not in _DELETE_RULES:
            raise CascadeError(f"{key.describe()}: {why}, not ON DELETE {key.on_delete}")
        if key.parent not in tracked:
            raise CascadeError(
                f"{key.describe()}: {why}; {key.parent!r} is not tracked, so nothing would log "
                f"the rows its deletes remove from {key.child!r}: track both tables or neither"
            )
    children: dict[str, list[ForeignKey]] = {}
    for key in relevant:
        children.setdefault(key.parent, []).append(key)
    out: dict[str, list[Path]] = {}
    for root in sorted(children):
        paths: list[Path] = []
        _walk(root, root, (), children, paths)
        targets = [p[-1].child for p in paths]
        for target in targets:
            if targets.count(target) > 1:
                raise CascadeError(
                    f"a delete in {root!r} cascades into {target!r} along two paths, so its "
                    "rows could be logged twice; VenomQA cannot track that: leave one of the "
                    "tables out with 'exclude'"
                )
        out[root] = paths
    return out


def _walk(
    root: str, table: str, path: Path, children: dict[str, list[ForeignKey]], out: list[Path]
) -> None:
    """Add to ``out`` every chain of cascades from ``table`` (reached from ``root`` by ``path``)."""
    for key in children.get(table, []):
        if key.child == root or any(key.child == e.parent for e in path):
            raise CascadeError(
                f"{key.describe()} closes a cycle of cascades from {root!r}; VenomQA cannot log "
                "such cascades: break the cycle on a test database, or leave the tables out "
                "with 'exclude'"
            )
        chain = (*path, key)
        out.append(chain)
        if key.on_delete == "CASCADE":
            _walk(root, key.child, chain, children, out)


def before_delete_ddl(
    table: TableInfo, paths: Sequence[Path], infos: dict[str, TableInfo], row_hash: Any
) -> str:
    """The BEFORE DELETE trigger on ``table`` logging what its cascades will change
    (``row_hash(table, ref, nulls)``: the hash expression of ``_sql``)."""
    inserts = []
    for path in paths:
        target = infos[path[-1].child]
        depth = len(path)
        joins = []
        for j in range(depth - 1, 0, -1):  # x{j+1} joins x{j}
            edge = path[j]
            on = " AND ".join(
                f"x{j + 1}.{quote_ident(c)} = x{j}.{quote_ident(p)}" for c, p in edge.pairs
            )
            joins.append(f"JOIN {quote_ident(path[j - 1].child)} x{j} ON {on}")
        where = " AND ".join(
            f"x1.{quote_ident(c)} = OLD.{quote_ident(p)}" for c, p in path[0].pairs
        )
        ref = f"x{depth}"
        olds = [f"{ref}.{c.q}" for c in target.stored]
        columns = ["`_vq_h_old`", *(f"`o{j}`" for j in range(len(target.stored)))]
        values = [row_hash(target, ref, ()), *olds]
        if path[-1].on_delete == "SET NULL":
            nulled = {c for c, _ in path[-1].pairs}
            news = ["NULL" if c.name in nulled else f"{ref}.{c.q}" for c in target.stored]
            columns += ["`_vq_h_new`", *(f"`n{j}`" for j in range(len(target.stored)))]
            values += [row_hash(target, ref, tuple(nulled)), *news]
        source = f"{quote_ident(target.name)} {ref} {' '.join(joins)}"
        inserts.append(
            f"INSERT INTO {target.log} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {source} WHERE {where}"
        )
    name = quote_ident(f"{PREFIX}{table.index}_bdel")
    return (
        f"CREATE TRIGGER {name} BEFORE DELETE ON {table.q} FOR EACH ROW "
        f"IF @venomqa_replay IS NULL THEN {'; '.join(inserts)}; END IF"
    )
