"""With two workers (PostgreSQL and Redis), an API key works over plain HTTP, and revoking
it, or ending a session, takes effect at once on every worker: identity is read from the
database at each request, never cached in a worker."""

import uuid

import httpx
import pytest

from tests.helpers import soup
from tests.redis_server import free_port
from tests.test_workers import environment, server

PASSWORD = "two workers secret"


async def fresh(port: int, **kwargs) -> httpx.AsyncClient:
    """A client that opens a new connection per request, so both workers answer some."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                             limits=httpx.Limits(max_keepalive_connections=0), **kwargs)


@pytest.mark.postgres
async def test_a_key_and_a_session_stop_at_once_on_every_worker(postgres_admin_url, redis_url,
                                                                 fake_upstream):
    from tests.conftest import TEST_DB, _with_database

    port = free_port()
    env = environment(
        WORKERS=2, DATABASE_URL=_with_database(postgres_admin_url, TEST_DB),
        REDIS_URL=redis_url, SECRET_KEY="k", OPENROUTER_BASE_URL=fake_upstream.url,
        OPENROUTER_API_KEY="test-key", DEFAULT_MODEL="openai/gpt-4o-mini", HOST="127.0.0.1",
        PORT=port, HYPERCHAT_CATALOG_REFRESH=0, HYPERCHAT_ARGON2_TIME_COST=1,
        HYPERCHAT_ARGON2_MEMORY_COST=1024, HYPERCHAT_ARGON2_PARALLELISM=1)
    name = "w" + uuid.uuid4().hex[:10]
    async with server(env, port) as http:
        token = (await http.get("/api/v1/auth/me")).json()["csrf_token"]
        response = await http.post("/api/v1/auth/register", headers={"X-CSRF-Token": token},
                                   json={"username": name, "password": PASSWORD})
        assert response.status_code == 201, response.text
        token = response.json()["csrf_token"]
        page = await http.post("/account/keys", data={"name": "script", "csrf_token": token})
        key = soup(page.text).select_one("#new-key code").text
        headers = {"Authorization": f"Bearer {key}"}

        async with await fresh(port) as program:
            made = await program.post("/api/chat/sessions/", json={"title": "By key"},
                                      headers=headers)
            assert made.status_code == 201
            for _ in range(6):
                assert (await program.get("/api/chat/sessions/", headers=headers)
                        ).status_code == 200

            # A second browser session, then ended from the first: gone on every worker.
            async with await fresh(port) as second:
                token2 = (await second.get("/api/v1/auth/me")).json()["csrf_token"]
                assert (await second.post("/api/v1/auth/login",
                                          headers={"X-CSRF-Token": token2},
                                          json={"username": name, "password": PASSWORD})
                        ).status_code == 200
                assert (await second.get("/api/v1/auth/me")).json()["authenticated"]
                account = soup((await http.get("/account")).text)
                other = account.select_one("#sessions tbody tr:not(:has(.badge))")
                ended = await http.post(
                    f"/account/sessions/{other['data-session-id']}/end",
                    data={"csrf_token": token})
                assert ended.status_code == 303
                assert (await second.get("/api/chat/sessions/")).status_code == 401
                # From then on it is a new guest, on whichever worker: none of the chats.
                for _ in range(6):
                    assert (await second.get("/api/chat/sessions/")).json()["sessions"] == []
                    assert not (await second.get("/api/v1/auth/me")).json()["authenticated"]

            key_id = soup((await http.get("/account")).text).select_one(
                "#api-keys tr[data-key-id]")["data-key-id"]
            revoked = await http.post(f"/account/keys/{key_id}/revoke",
                                      data={"csrf_token": token})
            assert revoked.status_code == 303
            for _ in range(10):
                assert (await program.get("/api/chat/sessions/", headers=headers)
                        ).status_code == 401
