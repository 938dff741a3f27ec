"""The migrations in migrations/<dialect>/ build exactly the schema the models describe,
and a model change without a migration fails here rather than in production."""

import asyncio
import uuid
from datetime import datetime

import aiosqlite
import asyncpg
import pytest
from aerich import Command
from aerich.migrate import Migrate
from aerich.utils import decompress_dict, import_py_file
from tortoise.context import TortoiseContext

from hyperchat.store import database as db

DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _migration_files(dialect: str) -> list[str]:
    folder = db.MIGRATIONS_ROOT / dialect / "models"
    files = [p.name for p in folder.glob("*.py") if p.stem.split("_", 1)[0].isdigit()]
    return sorted(files, key=lambda name: int(name.split("_", 1)[0]))


@pytest.fixture(params=DIALECTS)
def new_database(request, tmp_path):
    """Return a factory of empty databases of one dialect; they are dropped after the test."""
    # Sync on purpose: the session fixture postgres_admin_url calls asyncio.run, which cannot
    # run inside the test's event loop.
    if request.param == "sqlite":

        async def make_sqlite(name: str) -> str:
            return f"sqlite://{tmp_path}/{name}.sqlite3"

        yield make_sqlite
        return

    admin = request.getfixturevalue("postgres_admin_url")
    created = []

    async def make_postgres(name: str) -> str:
        database = f"t_{uuid.uuid4().hex[:12]}_{name}"
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        created.append(database)
        return admin.rsplit("/", 1)[0] + "/" + database

    yield make_postgres

    async def drop_all():
        conn = await asyncpg.connect(admin)
        try:
            for database in created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop_all())


async def _generate_schema(url: str) -> None:
    """Create the tables the way Tortoise itself would for the current models."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=db.tortoise_config(url))
        await ctx.generate_schemas(safe=False)


async def _schema(url: str) -> dict:
    """Describe a database's tables: columns, indexes and foreign keys, in comparable form.

    Column order is left out (aerich appends added columns). Unique and primary-key indexes are
    compared by their columns only: the database names them after declaration order
    (sqlite_autoindex_message_1, conversation_share_id_key) and no query refers to them.
    Plain indexes keep their names, which the models choose (Meta.indexes, db_index).
    """
    if db.dialect(url) == "sqlite":
        return await _sqlite_schema(url.removeprefix("sqlite://"))
    return await _postgres_schema(url)


async def _sqlite_schema(path: str) -> dict:
    schema = {}
    async with aiosqlite.connect(path) as conn:
        tables = await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        for (table,) in tables:
            columns = {
                name: {"type": type_.upper(), "not_null": bool(notnull), "primary_key": pk > 0}
                for _, name, type_, notnull, _, pk in await conn.execute_fetchall(
                    f'PRAGMA table_info("{table}")'
                )
            }
            indexes = set()
            for _, name, unique, _origin, _ in await conn.execute_fetchall(
                f'PRAGMA index_list("{table}")'
            ):
                info = await conn.execute_fetchall(f'PRAGMA index_info("{name}")')
                cols = tuple(col for _, _, col in sorted(info))
                if unique:
                    indexes.add(("unique", cols))
                else:
                    indexes.add((name, cols))
            foreign_keys = {
                (from_, ref_table, to, on_delete)
                for _, _, ref_table, from_, to, _, on_delete, _ in await conn.execute_fetchall(
                    f'PRAGMA foreign_key_list("{table}")'
                )
            }
            schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": foreign_keys}
    return schema


async def _postgres_schema(url: str) -> dict:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        schema = {}
        for oid, table in tables:
            columns = {
                row["attname"]: {
                    "type": row["type"],
                    "not_null": row["attnotnull"],
                    "primary_key": row["pk"],
                }
                for row in await conn.fetch(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,"
                    " EXISTS (SELECT 1 FROM pg_index ix WHERE ix.indrelid = a.attrelid"
                    "   AND ix.indisprimary AND a.attnum = ANY (ix.indkey)) AS pk"
                    " FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0"
                    " AND NOT a.attisdropped",
                    oid,
                )
            }
            indexes = set()
            for row in await conn.fetch(
                "SELECT i.relname AS name, ix.indisunique AS unique, ARRAY("
                "   SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)"
                "   JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum"
                "   ORDER BY k.ord) AS cols"
                " FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid"
                " WHERE ix.indrelid = $1 AND NOT ix.indisprimary",
                oid,
            ):
                cols = tuple(row["cols"])
                indexes.add(("unique", cols) if row["unique"] else (row["name"], cols))
            foreign_keys = {
                row["definition"]
                for row in await conn.fetch(
                    "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint"
                    " WHERE conrelid = $1 AND contype = 'f'",
                    oid,
                )
            }
            schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": foreign_keys}
        return schema
    finally:
        await conn.close()


async def test_fresh_database_migrates_to_the_schema_of_the_models(new_database):
    migrated = await new_database("migrated")
    applied = await db.migrate(migrated)
    assert applied == _migration_files(db.dialect(migrated))

    generated = await new_database("generated")
    await _generate_schema(generated)

    schema = _without_search_objects(await _schema(migrated), db.dialect(migrated))
    differences = _differences(schema, await _schema(generated))
    assert differences == [], "the migrations do not build the models' schema"


# The full-text search objects of migration 2 (src/hyperchat/search.py), which the models do
# not describe: on SQLite the FTS5 tables and the shadow tables FTS5 keeps for each (external
# content, so no _content table); on PostgreSQL expression GIN indexes (no columns) of those names.
SEARCH_TABLES = {
    f"{name}{suffix}"
    for name in ("message_fts", "conversation_fts")
    for suffix in ("", "_data", "_idx", "_docsize", "_config")
}
SEARCH_INDEXES = {"message": ("message_fts", ()), "conversation": ("conversation_fts", ())}


def _without_search_objects(schema: dict, dialect: str) -> dict:
    """Check that the search objects exist, and return the schema without them."""
    if dialect == "sqlite":
        assert SEARCH_TABLES <= schema.keys(), "full-text search tables missing"
        return {table: info for table, info in schema.items() if table not in SEARCH_TABLES}
    out = {table: dict(info) for table, info in schema.items()}
    for table, index in SEARCH_INDEXES.items():
        assert index in out[table]["indexes"], f"full-text search index {index[0]} missing"
        out[table]["indexes"] = out[table]["indexes"] - {index}
    return out


def _differences(migrated: dict, generated: dict) -> list[str]:
    """List what the migrated schema has that the models' does not, and the reverse."""
    out = [f"table {t}: only in migrations" for t in migrated.keys() - generated.keys()]
    out += [f"table {t}: only in models" for t in generated.keys() - migrated.keys()]
    for table in sorted(migrated.keys() & generated.keys()):
        old, new = migrated[table], generated[table]
        for column in sorted(old["columns"].keys() | new["columns"].keys()):
            if old["columns"].get(column) != new["columns"].get(column):
                out.append(
                    f"{table}.{column}: migrations {old['columns'].get(column)}, "
                    f"models {new['columns'].get(column)}"
                )
        for aspect in ("indexes", "foreign_keys"):
            out += [
                f"{table} {aspect}: only in migrations {x}"
                for x in sorted(old[aspect] - new[aspect])
            ]
            out += [
                f"{table} {aspect}: only in models {x}" for x in sorted(new[aspect] - old[aspect])
            ]
    return out


async def test_migrating_twice_is_a_noop(new_database):
    url = await new_database("twice")
    assert await db.migrate(url) == _migration_files(db.dialect(url))
    schema = await _schema(url)

    assert await db.migrate(url) == []
    assert await _schema(url) == schema


async def test_models_match_the_newest_migration(new_database, monkeypatch):
    """Fail when a model changed without `make migrations NAME=...`, per dialect."""
    url = await new_database("head")
    async with TortoiseContext():
        await db.migrate(url)

    # aerich keeps its pending operations in class attributes: start from empty ones, and
    # return them instead of writing a migration file into the repository.
    for attr in (
        "upgrade_operators",
        "downgrade_operators",
        "_upgrade_fk_m2m_index_operators",
        "_downgrade_fk_m2m_index_operators",
        "_upgrade_m2m",
        "_downgrade_m2m",
    ):
        monkeypatch.setattr(Migrate, attr, [])
    monkeypatch.setattr(Migrate, "_rename_fields", {})
    monkeypatch.setattr(Migrate, "_rename_models", {})

    async def pending_operations(name, no_input=False, offline=False):
        return ";\n".join(Migrate.upgrade_operators)

    monkeypatch.setattr(Migrate, "_generate_diff_py", pending_operations)

    # The same diff `scripts/makemigrations` runs: the models against the newest migration's
    # MODELS_STATE, which upgrading stored in the aerich table.
    async with TortoiseContext():
        async with Command(
            tortoise_config=db.tortoise_config(url),
            app="models",
            location=str(db.migrations_location(url)),
        ) as command:
            pending = await command.migrate("unmigrated", no_input=True)

    assert pending == "", (
        f"the models changed without a migration; run `make migrations NAME=...`. "
        f"aerich would write:\n{pending}"
    )


def test_every_migrations_folder_is_checked():
    folders = sorted(p.name for p in db.MIGRATIONS_ROOT.iterdir() if p.is_dir())
    assert folders == ["postgres", "sqlite"]


def test_dialects_have_the_same_migrations():
    """scripts/makemigrations writes each migration for both dialects, from the same models."""

    def names(dialect):
        # "3_20261121141547_add_pinned.py" -> ("3", "add_pinned.py"): timestamps may differ.
        return [(f.split("_", 2)[0], f.split("_", 2)[2]) for f in _migration_files(dialect)]

    assert names("sqlite") == names("postgres")
    assert names("sqlite"), "no migrations"

    def newest_state(dialect):
        module = import_py_file(
            db.MIGRATIONS_ROOT / dialect / "models" / _migration_files(dialect)[-1]
        )
        return decompress_dict(module.MODELS_STATE)

    assert newest_state("sqlite") == newest_state("postgres")


async def test_shares_made_before_snapshots_get_the_copy_their_page_showed(new_database):
    """Migration 10 gives each conversation already shared the copy its page showed until
    then: the branch shown, finished by the moment of sharing, not deleted."""
    url = await new_database("shares")
    await db.migrate(url)
    dialect = db.dialect(url)
    (name,) = [n for n in _migration_files(dialect) if n.startswith("10_")]
    module = import_py_file(db.MIGRATIONS_ROOT / dialect / "models" / name)
    copy = (await module.upgrade(None)).split(";")[-2] + ";"
    assert copy.strip().startswith("INSERT INTO \"shared_message\"")

    shared_at, before, after = ("2026-12-01 12:00:00+00:00", "2026-12-01 11:00:00+00:00",
                                "2026-12-01 13:00:00+00:00")
    conversations = [
        (1, "a" * 22, shared_at),  # shared
        (2, "b" * 22, None),       # private: nothing copied
    ]
    messages = [  # id, conversation, role, status, on_path, deleted, finished
        (1, 1, "user", "complete", True, False, before),
        (2, 1, "assistant", "complete", True, False, before),
        (3, 1, "assistant", "complete", False, False, before),   # another version
        (4, 1, "user", "complete", True, True, before),          # deleted
        (5, 1, "user", "complete", True, False, after),          # after sharing
        (6, 1, "assistant", "streaming", True, False, None),     # not finished
        (7, 1, "assistant", "stopped", True, False, before),
        (8, 2, "user", "complete", True, False, before),
    ]
    conversation_sql = ('INSERT INTO "conversation" ("id", "share_id", "owner", "title", '
                        '"shared_at", "archived", "last_activity_at", "created_at", '
                        '"updated_at") VALUES ({})')
    message_sql = ('INSERT INTO "message" ("id", "conversation_id", "role", "content", "status",'
                   ' "on_path", "deleted_at", "finished_at", "created_at", "rating", '
                   '"tokens_estimated") VALUES ({})')
    if dialect == "sqlite":
        async with aiosqlite.connect(url.removeprefix("sqlite://")) as conn:
            marks = ", ".join("?" * 9)
            for cid, share_id, at in conversations:
                await conn.execute(conversation_sql.format(marks),
                                   (cid, share_id, "o", "t", at, 0, before, before, before))
            marks = ", ".join("?" * 11)
            for mid, cid, role, status, on_path, deleted, finished in messages:
                await conn.execute(message_sql.format(marks), (
                    mid, cid, role, f"text {mid}", status, int(on_path),
                    before if deleted else None, finished, before, 0, 0))
            await conn.execute(copy)
            await conn.commit()
            rows = await (await conn.execute(
                'SELECT "conversation_id", "position", "message_id", "content" '
                'FROM "shared_message" ORDER BY "position"')).fetchall()
    else:
        def moment(text):
            return datetime.fromisoformat(text) if text else None

        conn = await asyncpg.connect(url)
        try:
            marks = ", ".join(f"${i}" for i in range(1, 10))
            for cid, share_id, at in conversations:
                await conn.execute(conversation_sql.format(marks), cid, share_id, "o", "t",
                                   moment(at), False, moment(before), moment(before),
                                   moment(before))
            marks = ", ".join(f"${i}" for i in range(1, 12))
            for mid, cid, role, status, on_path, deleted, finished in messages:
                await conn.execute(message_sql.format(marks), mid, cid, role, f"text {mid}",
                                   status, on_path, moment(before) if deleted else None,
                                   moment(finished), moment(before), 0, False)
            await conn.execute(copy)
            rows = [tuple(r) for r in await conn.fetch(
                'SELECT "conversation_id", "position", "message_id", "content" '
                'FROM "shared_message" ORDER BY "position"')]
        finally:
            await conn.close()
    assert [tuple(r) for r in rows] == [(1, 0, 1, "text 1"), (1, 1, 2, "text 2"),
                                        (1, 2, 7, "text 7")]
