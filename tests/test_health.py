"""GET /health: the database, the upstream and the version, for probes and monitoring."""

import asyncio
from datetime import datetime

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from hyperchat import config as configuration
from hyperchat.upstream import demo
from tests.fake_upstream import Hang, HttpError, Tokens
from tests.helpers import no_reply_streaming, send


async def health(client):
    response = await client.get("/health")
    return response, await response.get_json()


async def test_health_is_ok_while_the_database_answers(client, fake_upstream):
    response, body = await health(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body == {
        "status": "ok",
        "database": {"ok": True},
        "upstream": {"configured": True, "demo": False, "baseUrl": fake_upstream.url,
                     "lastStatus": None, "lastSeen": None},
        "version": "0.1.0",
    }


async def test_health_reports_the_upstreams_last_answer(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["ok"]))
    await send(client, "hi")
    await no_reply_streaming()
    _, body = await health(client)
    assert body["upstream"]["lastStatus"] == 200
    seen = datetime.fromisoformat(body["upstream"]["lastSeen"])
    assert seen.tzinfo is not None

    fake_upstream.enqueue(HttpError(429, {"error": {"code": 429, "message": "slow down"}}))
    await send(client, "again")
    await no_reply_streaming()
    _, body = await health(client)
    assert body["status"] == "ok"  # the upstream's trouble does not make the app unhealthy
    assert body["upstream"]["lastStatus"] == 429
    assert datetime.fromisoformat(body["upstream"]["lastSeen"]) >= seen


async def test_health_reports_an_upstream_that_did_not_answer(client, fake_upstream):
    fake_upstream.enqueue(Hang(seconds=0.1))
    await send(client, "hi")
    await no_reply_streaming()
    _, body = await health(client)
    assert body["upstream"]["lastStatus"] is None
    assert body["upstream"]["lastSeen"] is not None


async def test_health_is_503_when_the_database_query_fails(client, monkeypatch, caplog):
    async def fail(*args, **kwargs):
        raise OperationalError("could not connect to server at 10.1.2.3:5432")

    monkeypatch.setattr(connections.get("default"), "execute_query", fail)
    response, body = await health(client)
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["database"] == {"ok": False,
                                "error": "The database query failed (OperationalError)."}
    assert "10.1.2.3" not in await response.get_data(as_text=True)  # details go to the log
    assert "10.1.2.3" in caplog.text
    assert body["version"] == "0.1.0" and body["upstream"]["configured"] is True


@pytest.mark.config(HEALTH_DATABASE_TIMEOUT=0.05)
async def test_health_is_503_when_the_database_does_not_answer_in_time(client, monkeypatch):
    async def hang(*args, **kwargs):
        await asyncio.sleep(30)

    monkeypatch.setattr(connections.get("default"), "execute_query", hang)
    response, body = await asyncio.wait_for(health(client), 5)
    assert response.status_code == 503
    assert body["database"] == {"ok": False,
                                "error": "The database did not answer within 0.05 s."}


async def test_health_recovers_once_the_database_answers_again(client, monkeypatch):
    async def fail(*args, **kwargs):
        raise OperationalError("down")

    monkeypatch.setattr(connections.get("default"), "execute_query", fail)
    assert (await health(client))[0].status_code == 503
    monkeypatch.undo()
    assert (await health(client))[0].status_code == 200


def upstream_settings(case: str, configured: bool, is_demo: bool, **settings):
    """A case of the test below: the app's upstream settings, over a real provider's."""
    settings = {"OPENROUTER_BASE_URL": configuration.DEFAULT_BASE_URL,
                "DEFAULT_MODEL": "openai/gpt-4o-mini", **settings}
    return pytest.param(configured, is_demo, settings["OPENROUTER_BASE_URL"], id=case,
                        marks=pytest.mark.config(**settings))


@pytest.mark.parametrize(("configured", "is_demo", "base_url"), [
    upstream_settings("api-key", True, False, OPENROUTER_API_KEY="key"),
    upstream_settings("nothing", False, False, OPENROUTER_API_KEY=None),
    upstream_settings("custom-base-url", True, False, OPENROUTER_API_KEY=None,
                      OPENROUTER_BASE_URL="http://127.0.0.1:9/v1"),
    upstream_settings("demo-model", True, True, OPENROUTER_API_KEY=None,
                      DEFAULT_MODEL=demo.MODEL_ID),
])
async def test_health_says_whether_the_upstream_is_configured(client, configured, is_demo,
                                                              base_url):
    _, body = await health(client)
    assert (body["upstream"]["configured"], body["upstream"]["demo"]) == (configured, is_demo)
    assert body["upstream"]["baseUrl"] == base_url
