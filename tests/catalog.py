"""A comparable snapshot of the schema objects this project owns, read from pg_catalog.

Extensions' own objects (PostGIS's spatial_ref_sys, pgvector's types) are left
out: they come with the database, not with our revisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

_OWN_RELATIONS = """
    c.relnamespace = 'public'::regnamespace
    AND NOT EXISTS (
        SELECT FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    )
"""


@dataclass(frozen=True)
class Column:
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True)
class CatalogSnapshot:
    tables: frozenset[str]
    columns: dict[tuple[str, str], Column]
    constraints: dict[tuple[str, str], str]
    indexes: dict[tuple[str, str], str]
    enums: dict[str, tuple[str, ...]]
    sequences: frozenset[str]


def snapshot(
    connection: Connection, *, exclude_tables: frozenset[str] = frozenset()
) -> CatalogSnapshot:
    def rows(sql: str) -> list[tuple[str, ...]]:
        return [tuple(row) for row in connection.execute(text(sql)) if row[0] not in exclude_tables]

    tables = rows(
        f"SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND {_OWN_RELATIONS}"
    )
    columns = rows(
        f"""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(ad.adbin, ad.adrelid)
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p') AND {_OWN_RELATIONS}
        """
    )
    constraints = rows(
        f"""
        SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        WHERE {_OWN_RELATIONS}
        """
    )
    indexes = rows(
        f"""
        SELECT c.relname, i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE {_OWN_RELATIONS}
        """
    )
    enums = connection.execute(
        text(
            """
            SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE t.typnamespace = 'public'::regnamespace
            GROUP BY t.typname
            """
        )
    ).all()
    sequences = rows(f"SELECT c.relname FROM pg_class c WHERE c.relkind = 'S' AND {_OWN_RELATIONS}")
    return CatalogSnapshot(
        tables=frozenset(name for (name,) in tables),
        columns={(t, c): Column(type_, bool(nn), default) for t, c, type_, nn, default in columns},
        constraints={(t, name): definition for t, name, definition in constraints},
        indexes={(t, name): definition for t, name, definition in indexes},
        enums={name: tuple(labels) for name, labels in enums},
        sequences=frozenset(name for (name,) in sequences),
    )
