"""Shared fixtures: a fresh database per test (SQLite file, and PostgreSQL when available),
the app with its lifespan entered (its config overridden by `@pytest.mark.config(KEY=value)`),
and a fake upstream on loopback. Helpers shared by the tests are in tests/helpers.py."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from hyperchat import create_app

ROOT = Path(__file__).resolve().parents[1]
# Per test run, so that two runs against one server never drop each other's tables.
TEST_DB = f"hyperchat_test_{os.getpid()}"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "config(**settings): the app fixture's config overrides (on a test, a class, "
                   "a module's pytestmark or a parameter; the nearest wins per key)")


def _postgres_admin_url() -> str | None:
    """Return the test server's URL: TEST_POSTGRES_URL, or the one scripts/postgres.sh starts."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        return url
    try:
        out = subprocess.run([str(ROOT / "scripts/postgres.sh"), "start"], check=True,
                             capture_output=True, text=True, timeout=60)
    except (subprocess.SubprocessError, OSError):
        return None
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def postgres_admin_url():
    url = _postgres_admin_url()
    if url is None:
        if os.environ.get("HYPERCHAT_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (make test starts it) but could not be started")
        pytest.skip("no PostgreSQL server for the postgres variant of this test")

    # Create and migrate the test database once per session.
    # In a subprocess: Tortoise's model metadata is process-global, and this fixture may be
    # first requested from inside a running event loop.
    script = (
        "import asyncio, asyncpg, sys\n"
        "from hyperchat.store import database as db\n"
        "async def main(url, name):\n"
        "    conn = await asyncpg.connect(url)\n"
        "    await conn.execute(f'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)')\n"
        "    await conn.execute(f'CREATE DATABASE \"{name}\"')\n"
        "    await conn.close()\n"
        "    await db.migrate(url.rsplit('/', 1)[0] + '/' + name)\n"
        "asyncio.run(main(sys.argv[1], sys.argv[2]))\n"
    )
    subprocess.run([sys.executable, "-c", script, url, TEST_DB], check=True, timeout=120)
    yield url
    drop = ("import asyncio, asyncpg, sys\n"
            "async def main(url, name):\n"
            "    conn = await asyncpg.connect(url)\n"
            "    await conn.execute(f'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)')\n"
            "    await conn.close()\n"
            "asyncio.run(main(sys.argv[1], sys.argv[2]))\n")
    subprocess.run([sys.executable, "-c", drop, url, TEST_DB], check=False, timeout=60)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once per session (in a subprocess, like the PostgreSQL one): each
    test starts from a copy, which the app's start-up finds up to date. Applying every
    migration to each test's new file took about 0.15 s of the test's time."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    script = ("import asyncio, sys\n"
              "from hyperchat.store import database as db\n"
              "asyncio.run(db.migrate(sys.argv[1]))\n")
    subprocess.run([sys.executable, "-c", script, f"sqlite://{path}"], check=True, timeout=120)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path):
    """A fresh database for one test, on each backend: a copy of the migrated SQLite template,
    or the migrated PostgreSQL test database with every table emptied (much faster than a new
    database)."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "test.sqlite3")
        yield f"sqlite://{tmp_path}/test.sqlite3"
        return
    url = _with_database(request.getfixturevalue("postgres_admin_url"), TEST_DB)
    conn = await asyncpg.connect(url)
    try:
        await _empty_postgres(conn)
    finally:
        await conn.close()
    yield url


async def _empty_postgres(conn) -> None:
    """Every table empty and every id sequence back at its start, as TRUNCATE ... RESTART
    IDENTITY of all tables leaves them; but only the tables the last test wrote to are
    truncated (TRUNCATE makes new files for each table and its indexes: on a loaded machine
    0.1-0.25 s for all of them) and only the sequences it used restarted."""
    tables = [row["tablename"] for row in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'aerich'")]
    written = [row["name"] for row in await conn.fetch(" UNION ALL ".join(
        f"SELECT '{name}' AS name WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables))]
    if written:
        names = ", ".join(f'"{name}"' for name in written)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    # A sequence read since its restart has a last value (an insert rolled back, or a row
    # deleted since, leaves its table empty and its sequence moved on).
    for row in await conn.fetch("SELECT sequencename FROM pg_sequences "
                                "WHERE schemaname = 'public' AND last_value IS NOT NULL"):
        await conn.execute(f'ALTER SEQUENCE "{row["sequencename"]}" RESTART')


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A throwaway redis-server for the session (tests/redis_server.py)."""
    from tests.redis_server import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        if url is None:
            if os.environ.get("HYPERCHAT_REQUIRE_REDIS"):
                pytest.fail("redis-server is required (make test) but is not installed")
            pytest.skip("redis-server is not installed (make deps-system)")
        yield url


@pytest.fixture
def fake_upstream():
    from tests.fake_upstream import FakeUpstream

    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
def app_config(database_url, fake_upstream, tmp_path):
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "OPENROUTER_BASE_URL": fake_upstream.url,
        "OPENROUTER_API_KEY": "test-key",
        "DEFAULT_MODEL": "openai/gpt-4o-mini",
        "SSE_KEEPALIVE": 0.5,
        # No background GET /models, so the fake upstream's request log holds only chats;
        # test_catalog*.py turn it on.
        "CATALOG_REFRESH": 0,
        # The smallest Argon2id work: the tests sign up and in often, on a shared machine.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        # Both databases come migrated (the SQLite template, the session's PostgreSQL
        # database): checking again costs each test a second Tortoise start-up (~40 ms).
        # Tests of migrating at start-up turn it back on.
        "RUN_MIGRATIONS": False,
        # Originals of uploaded files, per test.
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }


def marked_config(item) -> dict:
    """The settings of every `config` marker on `item`, the nearest winning per key: a
    module's, then a class's, then the test's, then its parameter's."""
    settings: dict = {}
    for node in item.listchain():
        for marker in node.own_markers:
            if marker.name == "config":
                settings.update(marker.kwargs)
    return settings


@pytest.fixture
async def app(request, app_config):
    """The app with its lifespan entered, on each database, with the test's `config` marks
    over `app_config`. Tests marked `catalog` have the model catalog on (read from the fake
    upstream's models.json) and loaded before they start."""
    catalog = request.node.get_closest_marker("catalog") is not None
    config = {**app_config, **({"CATALOG_REFRESH": 3600} if catalog else {}),
              **marked_config(request.node)}
    app = create_app(config)
    async with app.test_app() as test_app:
        if catalog:
            await app.extensions["catalog"].wait_loaded()
        yield test_app


@pytest.fixture
def client(app):
    return app.test_client()
