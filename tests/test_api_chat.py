"""The chat API for programs (/api/v1/chat, camelCase): send and get the reply as JSON or as
SSE of JSON deltas; conversations created with a first message, listed with
includeArchived, shown, renamed or archived, deleted; search, stats, health; another
person's ids, bad input, limits."""

import json

import pytest

from hyperchat.accounts import api_keys
from hyperchat.store.schema import Conversation, Message, Role, User
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, exchange, finished, parse_sse

API = "/api/v1/chat"
CONVERSATION = {"id", "title", "createdAt", "updatedAt", "lastActivityAt", "archived",
                "deleted", "messageCount", "messages"}


@pytest.fixture
async def key(app):
    user = await User.create(username="prog", username_key="prog", password_hash="-")
    _row, secret = await api_keys.create(user, "tests")
    return {"Authorization": f"Bearer {secret}"}


async def test_send_and_get_the_reply_then_continue_the_conversation(client, key,
                                                                     fake_upstream):
    fake_upstream.enqueue(Tokens(["Your balance", " is fine."]))
    response = await client.post(f"{API}/", json={"message": "What's my balance?"},
                                 headers=key)
    assert response.status_code == 200
    reply = await response.get_json()
    assert reply["response"] == "Your balance is fine." and reply["status"] == "complete"
    assert reply["title"] == "What's my balance?" and reply["error"] is None
    assert reply["promptTokens"] == 11 and reply["completionTokens"] == 2
    cid = reply["conversationId"]

    fake_upstream.enqueue(Tokens(["Still fine."]))
    reply = await (await client.post(API, json={"message": "And now?", "conversationId": cid},
                                     headers=key)).get_json()
    assert reply["conversationId"] == cid and reply["response"] == "Still fine."
    assert [m["content"] for m in fake_upstream.requests[-1]["json"]["messages"]] == [
        "What's my balance?", "Your balance is fine.", "And now?"]


async def test_a_stream_of_json_deltas(client, key, fake_upstream):
    fake_upstream.enqueue(Tokens(["Your", " account", " balance"]))
    response = await client.post(f"{API}/", json={"message": "balance?", "stream": True},
                                 headers=key)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    frames = [json.loads(e["data"]) for e in parse_sse(await response.get_data(as_text=True))
              if e["data"]]
    assert frames[0]["type"] == "start" and frames[0]["messageId"]
    deltas = [f["content"] for f in frames if f["type"] == "delta"]
    assert "".join(deltas) == "Your account balance"
    done = frames[-1]
    assert done["type"] == "done" and done["response"] == "Your account balance"
    assert done["messageId"] == frames[0]["messageId"] and done["status"] == "complete"

    # Asked for by the Accept header instead.
    fake_upstream.enqueue(Tokens(["again"]))
    response = await client.post(f"{API}/", json={"message": "once more"},
                                 headers={**key, "Accept": "text/event-stream"})
    assert response.mimetype == "text/event-stream"
    assert '"type": "done"' in await response.get_data(as_text=True)


async def test_with_the_ai_off_the_message_is_saved_alone(client, key, fake_upstream):
    created = await (await client.post(f"{API}/conversation", json={"title": "Notes"},
                                       headers=key)).get_json()
    await Conversation.filter(id=created["id"]).update(with_ai=False)
    requests = len(fake_upstream.requests)
    for stream in (False, True):
        response = await client.post(f"{API}/", json={
            "message": "a note", "conversationId": created["id"], "stream": stream},
            headers=key)
        reply = await response.get_json()
        assert reply["status"] == "saved" and reply["messageId"] is None
    assert len(fake_upstream.requests) == requests
    assert not await Message.filter(role=Role.ASSISTANT).exists()


async def test_create_list_show_rename_archive_and_delete(client, key, fake_upstream):
    fake_upstream.enqueue(Tokens(["Hi!"]))
    response = await client.post(f"{API}/conversation", json={
        "title": "Account questions", "firstMessage": "How do I apply for a card?"},
        headers=key)
    assert response.status_code == 201
    first = await response.get_json()
    assert set(first) == CONVERSATION and first["title"] == "Account questions"
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    await finished(first["messages"][1]["id"])  # its reply streams meanwhile
    await client.post(f"{API}/conversation", json={}, headers=key)  # "New chat", empty
    untitled = await (await client.post(f"{API}/conversation", json={
        "firstMessage": "one two three four five six seven"}, headers=key)).get_json()
    assert untitled["title"] == "one two three four five..."

    shown = await (await client.get(f"{API}/conversation/{first['id']}", headers=key)).get_json()
    assert shown["messageCount"] == 2
    assert shown["messages"][1]["content"] == "Hi!" and shown["messages"][1]["model"]

    response = await client.patch(f"{API}/conversation/{first['id']}", json={
        "title": "Cards", "archived": True}, headers=key)
    assert (await response.get_json())["title"] == "Cards"
    assert (await response.get_json())["archived"] is True

    page = await (await client.get(f"{API}/conversations", headers=key)).get_json()
    assert page["total"] == 2 and first["id"] not in [c["id"] for c in page["conversations"]]
    page = await (await client.get(f"{API}/conversations?includeArchived=true&pageSize=2",
                                   headers=key)).get_json()
    assert (page["total"], page["pageSize"], page["hasMore"]) == (3, 2, True)
    assert len(page["conversations"]) == 2
    page = await (await client.get(f"{API}/conversations?includeArchived=true&pageSize=2&page=2",
                                   headers=key)).get_json()
    assert len(page["conversations"]) == 1 and page["hasMore"] is False

    trashed = await (await client.delete(f"{API}/conversation/{first['id']}",
                                         headers=key)).get_json()
    assert trashed["deleted"] is True
    stats = await (await client.get(f"{API}/stats", headers=key)).get_json()
    assert (stats["total"], stats["active"], stats["archived"], stats["trash"]) == (3, 2, 0, 1)
    assert stats == await (await client.get(f"{API}/conversations/stats",
                                            headers=key)).get_json()
    response = await client.delete(f"{API}/conversation/{first['id']}?permanent=true",
                                   headers=key)
    assert response.status_code == 204
    assert not await Conversation.filter(id=first["id"]).exists()


async def test_search_finds_titles_and_messages(client, key, fake_upstream):
    fake_upstream.enqueue(Tokens(["The interest rate is 3%."]))
    reply = await (await client.post(API, json={"message": "credit card interest"},
                                     headers=key)).get_json()
    for path in (f"{API}/search", f"{API}/conversations/search"):
        found = await (await client.get(f"{path}?query=interest", headers=key)).get_json()
        assert found["query"] == "interest"
        assert {r["conversationId"] for r in found["results"]} == {reply["conversationId"]}
        assert any("interest" in r["snippet"] and "<mark>" not in r["snippet"]
                   for r in found["results"])


async def test_health(client):
    response = await client.get(f"{API}/health")
    assert response.status_code == 200
    assert (await response.get_json())["status"] == "ok"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/", {"message": "mine now", "conversationId": "{c}"}),
    ("GET", "/conversation/{c}", None),
    ("PATCH", "/conversation/{c}", {"title": "mine"}),
    ("DELETE", "/conversation/{c}", None),
    ("DELETE", "/conversation/{c}?permanent=true", None),
])
async def test_another_persons_conversation_is_not_found(client, key, fake_upstream, method,
                                                         path, body):
    q, _a = await exchange(client, fake_upstream, "q", "a")
    c = (await Message.get(id=q)).conversation_id
    if body and body.get("conversationId"):
        body = {**body, "conversationId": c}
    kwargs = {"json": body} if body is not None else {}
    response = await client.open(API + path.format(c=c), method=method, headers=key, **kwargs)
    assert response.status_code == 404
    assert (await response.get_json()) == {"detail": "That conversation does not exist."}
    conversation = await Conversation.get(id=c)
    assert (conversation.title, conversation.deleted_at) == ("q", None)
    assert await Message.filter(conversation_id=c).count() == 2


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("POST", "/", {}, "message is required."),
    ("POST", "/", {"message": 5}, "message: input should be a valid string."),
    ("POST", "/", {"message": " "}, "Type a message first."),
    ("POST", "/", {"message": "hi", "conversationId": 0},
     "conversationId: input should be greater than or equal to 1."),
    ("POST", "/", {"message": "hi", "stream": "yes"}, "stream: input should be a valid boolean."),
    ("POST", "/", {"message": "hi", "model": "nobody/nothing"}, "Unknown model"),
    ("POST", "/conversation", {"title": ""}, "A title needs at least one character."),
    ("POST", "/conversation", {"firstMessage": ""}, "Type a message first."),
    ("PATCH", "/conversation/{c}", {}, 'Send "title" and/or "archived".'),
    ("PATCH", "/conversation/{c}", {"archived": "yes"},
     "archived: input should be a valid boolean."),
    ("GET", "/conversations?page=0", None, "page: input should be greater than or equal to 1."),
    ("GET", "/conversations?pageSize=101", None, "pageSize: input should be less than"),
    ("GET", "/conversations?includeArchived=maybe", None, "includeArchived: input should be"),
    ("GET", "/search", None, "query is required."),
    ("DELETE", "/conversation/{c}?permanent=perhaps", None, "permanent: input should be"),
])
async def test_bad_input_is_a_400_naming_the_field(client, key, method, path, body, expected):
    cid = (await (await client.post(f"{API}/conversation", json={}, headers=key)).get_json())["id"]
    kwargs = {"json": body} if body is not None else {}
    response = await client.open(API + path.format(c=cid), method=method, headers=key, **kwargs)
    assert response.status_code == 400
    assert expected in (await response.get_json())["detail"]
    assert await Conversation.filter(id=cid, deleted_at=None, title="New chat").exists()


async def test_the_cookie_session_needs_its_csrf_token(client):
    response = await client.post(f"{API}/conversation", json={"title": "x"})
    assert response.status_code == 403 and "CSRF" in (await response.get_json())["detail"]
    response = await CsrfClient(client).post(f"{API}/conversation", json={"title": "x"})
    assert response.status_code == 201


@pytest.mark.config(WRITE_RATE_LIMIT=1)
async def test_the_write_limits_apply(client, key):
    assert (await client.post(f"{API}/conversation", json={}, headers=key)).status_code == 201
    refused = await client.post(f"{API}/conversation", json={}, headers=key)
    assert refused.status_code == 429 and "detail" in await refused.get_json()


async def test_without_identity_it_is_a_401_in_json(app, fake_upstream):
    app.app.config["GUEST_MODE"] = False
    response = await app.test_client().get(f"{API}/conversations")
    assert response.status_code == 401 and "detail" in await response.get_json()
