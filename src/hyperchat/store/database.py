"""Database setup: Tortoise config, aerich migrations per dialect, connect and disconnect."""

import asyncio
from pathlib import Path

from aerich import Command
from tortoise import Model, Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext

MODELS = ["hyperchat.store.schema", "aerich.models"]
MIGRATIONS_ROOT = Path(__file__).resolve().parents[3] / "migrations"


def dialect(url: str) -> str:
    """Return the migrations folder name for a DATABASE_URL: aerich writes dialect-specific SQL."""
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "asyncpg", "psycopg"):
        return "postgres"
    raise ValueError(f"unsupported DATABASE_URL scheme: {scheme!r}")


def tortoise_config(url: str) -> dict:
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://") and "synchronous=" not in url:
        # WAL (tortoise's default) with synchronous=NORMAL: commits skip the fsync, and the
        # database stays consistent; only the last moments can be lost, and only to power loss.
        url += ("&" if "?" in url else "?") + "synchronous=NORMAL"
    return {
        "connections": {"default": url},
        "apps": {"models": {"models": MODELS, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def migrations_location(url: str) -> Path:
    return MIGRATIONS_ROOT / dialect(url)


def placeholder(n: int) -> str:
    """The placeholder of the n-th parameter (from 1) of SQL written by hand, in the default
    connection's dialect: $n for asyncpg, ?n for SQLite. By hand on hot paths only, where the
    ORM spent more CPU composing a statement than the database spent running it."""
    return f"${n}" if connections.get("default").capabilities.dialect == "postgres" else f"?{n}"


def _forget_cached_queries() -> None:
    # Tortoise caches each model's INSERT statement per connection *name*, not per dialect:
    # a process that reconnects "default" to another kind of database (the test suite runs
    # SQLite then PostgreSQL) would reuse SQLite's "?" placeholders on PostgreSQL.
    EXECUTOR_CACHE.clear()


async def migrate(url: str) -> list[str]:
    """Apply pending aerich migrations for the URL's dialect; return the names applied."""
    _forget_cached_queries()
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://").split("?", 1)[0])
        path.parent.mkdir(parents=True, exist_ok=True)
    # A context of its own: aerich would otherwise reuse (closed) state left in this task by an
    # earlier init. Command's __aexit__ closes its connections; the app connects afterwards.
    async with TortoiseContext(), Command(tortoise_config=tortoise_config(url), app="models",
                                          location=str(migrations_location(url))) as command:
        return await command.upgrade(run_in_transaction=True)


async def connect(url: str) -> None:
    # _enable_global_fallback: request tasks do not inherit the lifespan task's context
    # (tortoise 1.x keeps its state in a ContextVar; register_tortoise for Quart is broken).
    _forget_cached_queries()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()


# For the aerich CLI (pyproject [tool.aerich]); makemigrations is run per dialect by
# scripts/makemigrations, which points DATABASE_URL at a scratch database of each kind.
def _aerich_config() -> dict:
    import os

    return tortoise_config(os.environ.get("DATABASE_URL", "sqlite://data/hyperchat.sqlite3"))


AERICH_CONFIG = _aerich_config()


class Insert:
    """Rows (new, of one model) to insert in one statement, as bulk_create does, but with their
    values converted for the database beforehand, in a thread: tortoise's per-row conversion
    costs about 100 microseconds, which for an import of 10,000 messages held the event loop,
    and on SQLite the only connection (inside a transaction), for a second or more.

        insert = await Insert.prepare(rows)   # before the transaction
        insert.set("conversation_id", 12)     # what was not known yet
        await insert.run()                    # inside it: only the statement
        await insert.run(0, 1000)             # or rows 0 to 999 only
    """

    def __init__(self, sql: str, names: list[str], values: list[list]) -> None:
        self.sql, self.names, self.values = sql, names, values

    @classmethod
    async def prepare(cls, rows: list[Model]) -> "Insert":
        if not rows:
            return cls("", [], [])
        connection = connections.get("default")
        executor = connection.executor_class(model=type(rows[0]), db=connection)
        fields_map = rows[0]._meta.fields_map
        names, columns = executor._prepare_insert_columns()
        sql = executor._prepare_insert_statement(columns, has_generated=False).get_sql()

        def values() -> list[list]:
            return [[fields_map[name].to_db_value(getattr(row, name), row) for name in names]
                    for row in rows]

        return cls(sql, names, await asyncio.to_thread(values))

    def set(self, name: str, value) -> None:
        """Give every row the same `value` (a plain column: an id, a number, text)."""
        index = self.names.index(name)
        for row in self.values:
            row[index] = value

    def __len__(self) -> int:
        return len(self.values)

    async def run(self, start: int = 0, stop: int | None = None) -> None:
        values = self.values[start:stop]
        if values:
            await connections.get("default").execute_many(self.sql, values)
