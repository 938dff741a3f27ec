"""Shared fixtures: a fresh database per test (SQLite file, and PostgreSQL when available),
the app with its lifespan entered, and a fake upstream on loopback."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from hyperchat import create_app

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DB = "hyperchat_template"


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

    # Migrate once into a template; every test clones it (CREATE DATABASE ... TEMPLATE is fast).
    # In a subprocess: Tortoise's model metadata is process-global, and this fixture may be
    # first requested from inside a running event loop.
    script = (
        "import asyncio, asyncpg, sys\n"
        "from hyperchat import db\n"
        "async def main(url, name):\n"
        "    conn = await asyncpg.connect(url)\n"
        "    await conn.execute(f'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)')\n"
        "    await conn.execute(f'CREATE DATABASE \"{name}\"')\n"
        "    await conn.close()\n"
        "    await db.migrate(url.rsplit('/', 1)[0] + '/' + name)\n"
        "asyncio.run(main(sys.argv[1], sys.argv[2]))\n"
    )
    subprocess.run([sys.executable, "-c", script, url, TEMPLATE_DB], check=True, timeout=120)
    return url


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path):
    """A fresh, migrated-on-startup database for one test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/test.sqlite3"
        return
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    yield _with_database(admin, name)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


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
    }


@pytest.fixture
async def app(app_config):
    app = create_app(app_config)
    async with app.test_app() as test_app:
        yield test_app


@pytest.fixture
def client(app):
    return app.test_client()
