"""Identity costs one query per request, never one per SSE frame or token: a signed-in
stream of many tokens looks its session up once, a Bearer request its key once."""

from hyperchat.accounts import api_keys
from hyperchat.store.schema import User
from tests.accounts_helpers import register
from tests.fake_upstream import Tokens
from tests.helpers import count_queries, parse_sse, send, soup

IDENTITY_TABLES = ('"account_session"', '"api_key"', '"account"')


def identity_queries(executed: list[str]) -> list[str]:
    return [sql for sql in executed if any(table in sql for table in IDENTITY_TABLES)]


async def test_a_signed_in_stream_resolves_identity_once(client, fake_upstream, monkeypatch):
    await register(client, "alice")
    # Long enough (1.3 s) to be still streaming when the stream is opened on a busy machine.
    fake_upstream.enqueue(Tokens([f"t{n} " for n in range(60)], ttft=0.05, interval=0.02))
    page = soup(await (await send(client, "hi")).get_data(as_text=True))
    reply_id = page.select("article.message")[1]["data-message-id"]
    executed = count_queries(monkeypatch)
    response = await client.get(f"/messages/{reply_id}/stream?after=0")
    events = parse_sse(await response.get_data(as_text=True))
    assert events[-1]["event"] == "done" and len(events) > 3
    found = identity_queries(executed)
    assert len(found) == 1, found
    assert found[0].lstrip().upper().startswith("SELECT")


async def test_a_bearer_request_costs_one_lookup(app, client, monkeypatch):
    await register(client, "alice")
    _, key = await api_keys.create(await User.get(username="alice"), "k")
    program = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    await program.get("/api/chat/sessions/", headers=headers)  # first use writes last_used_at
    executed = count_queries(monkeypatch)
    for _ in range(3):
        assert (await program.get("/api/chat/sessions/", headers=headers)).status_code == 200
    assert len(identity_queries(executed)) == 3
