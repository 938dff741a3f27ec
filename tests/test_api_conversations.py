"""Conversations for programs (/conversations/): created with their settings, listed, a
message sent with its own model and the reply, the messages read; the page's own
/conversations list unchanged; another person's ids, bad input."""

import pytest

from hyperchat.accounts import api_keys
from hyperchat.store.schema import Conversation, ConversationMember, Message, Role, User
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, exchange, soup

SUMMARY = {"id", "title", "mode", "with_ai", "default_model_id", "archived", "created_at",
           "updated_at", "participant_usernames"}


@pytest.fixture
async def key(app):
    user = await User.create(username="prog", username_key="prog", password_hash="-")
    _row, secret = await api_keys.create(user, "tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.catalog
async def test_create_send_with_a_model_and_read_back(client, key, fake_upstream):
    response = await client.post("/conversations/", json={
        "title": "Test Conversation", "with_ai": True,
        "default_model_id": "openai/gpt-4o-mini", "participant_usernames": []}, headers=key)
    assert response.status_code == 201
    created = await response.get_json()
    assert set(created) == SUMMARY
    assert (created["title"], created["with_ai"], created["default_model_id"], created["mode"]) \
        == ("Test Conversation", True, "openai/gpt-4o-mini", "solo")
    cid = created["id"]
    assert response.headers["Location"] == f"/conversations/{cid}"

    fake_upstream.enqueue(Tokens(["Hello!"], model="anthropic/claude-sonnet-4.5"))
    response = await client.post(f"/conversations/{cid}/messages", json={
        "content": "Hello!", "model": "anthropic/claude-sonnet-4.5"}, headers=key)
    assert response.status_code == 201
    user, ai = await response.get_json()
    assert (user["role"], user["author_type"], user["content"], user["model"]) == \
        ("user", "user", "Hello!", "anthropic/claude-sonnet-4.5")
    assert (ai["author_type"], ai["content"], ai["status"], ai["model_used"]) == \
        ("ai", "Hello!", "complete", "anthropic/claude-sonnet-4.5")
    assert fake_upstream.requests[-1]["json"]["model"] == "anthropic/claude-sonnet-4.5"

    # Without a model of its own, the conversation's default answers.
    fake_upstream.enqueue(Tokens(["again"]))
    await client.post(f"/conversations/{cid}/messages", json={"content": "more"}, headers=key)
    assert fake_upstream.requests[-1]["json"]["model"] == "openai/gpt-4o-mini"

    listed = await (await client.get(f"/conversations/{cid}/messages", headers=key)).get_json()
    assert [(m["role"], m["content"]) for m in listed] == [
        ("user", "Hello!"), ("assistant", "Hello!"), ("user", "more"), ("assistant", "again")]
    page = await (await client.get(f"/conversations/{cid}/messages?limit=1&offset=1",
                                   headers=key)).get_json()
    assert [m["id"] for m in page] == [listed[1]["id"]]

    conversations = await (await client.get("/conversations/", headers=key)).get_json()
    assert [c["id"] for c in conversations] == [cid] and set(conversations[0]) == SUMMARY


async def test_with_the_ai_off_a_message_is_saved_alone(client, key, fake_upstream):
    cid = (await (await client.post("/conversations/", json={
        "title": "Notes", "with_ai": False}, headers=key)).get_json())["id"]
    requests = len(fake_upstream.requests)
    response = await client.post(f"/conversations/{cid}/messages", json={"content": "note"},
                                 headers=key)
    assert response.status_code == 201
    assert [m["content"] for m in await response.get_json()] == ["note"]
    assert len(fake_upstream.requests) == requests
    assert not await Message.filter(role=Role.ASSISTANT).exists()


async def test_the_list_leaves_out_the_trash_and_pages(client, key):
    for title in ("one", "two", "three"):
        await client.post("/conversations/", json={"title": title}, headers=key)
    await Conversation.filter(title="two").update(archived=True)
    from datetime import UTC, datetime
    await Conversation.filter(title="three").update(deleted_at=datetime.now(UTC))
    listed = await (await client.get("/conversations/", headers=key)).get_json()
    assert sorted(c["title"] for c in listed) == ["one", "two"]
    assert len(await (await client.get("/conversations/?limit=1", headers=key)).get_json()) == 1


async def test_the_pages_conversation_list_is_still_html(client, fake_upstream):
    await exchange(client, fake_upstream, "hello there", "hi")
    response = await client.get("/conversations", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert soup(await response.get_data(as_text=True)).select(".conversation-item, li")
    response = await client.get("/conversations/")
    assert response.mimetype == "application/json"
    assert [c["title"] for c in await response.get_json()] == ["hello there"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/conversations/{c}/messages", {"content": "hi"}),
    ("GET", "/conversations/{c}/messages", None),
])
async def test_another_persons_conversation_is_not_found(client, key, fake_upstream, method,
                                                         path, body):
    q, _a = await exchange(client, fake_upstream, "q", "a")
    c = (await Message.get(id=q)).conversation_id
    kwargs = {"json": body} if body is not None else {}
    response = await client.open(path.format(c=c), method=method, headers=key, **kwargs)
    assert response.status_code == 404
    assert (await response.get_json()) == {"detail": "That conversation does not exist."}
    assert await Message.filter(conversation_id=c).count() == 2


@pytest.mark.parametrize(("path", "body", "expected"), [
    ("/conversations/", {"title": 5}, "title: input should be a valid string."),
    ("/conversations/", {"title": "   "}, "A title needs at least one character."),
    ("/conversations/", {"with_ai": "yes"}, "with_ai: input should be a valid boolean."),
    ("/conversations/", {"mode": "crowd"}, "mode: input should be 'solo', 'partner' or 'group'"),
    ("/conversations/", {"default_model_id": "nobody/nothing"}, "Unknown default_model_id"),
    ("/conversations/", [], "Send a JSON object as the request body."),
    ("/conversations/{c}/messages", {}, "content is required."),
    ("/conversations/{c}/messages", {"content": ""}, "Type a message first."),
    ("/conversations/{c}/messages", {"content": "hi", "model": "nobody/nothing"},
     "Unknown model"),
])
async def test_bad_input_is_a_400_naming_the_field(client, key, path, body, expected):
    cid = (await (await client.post("/conversations/", json={}, headers=key)).get_json())["id"]
    response = await client.post(path.format(c=cid), json=body, headers=key)
    assert response.status_code == 400
    assert expected in (await response.get_json())["detail"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "limit=many"])
async def test_bad_queries_are_refused(client, key, query):
    response = await client.get(f"/conversations/?{query}", headers=key)
    assert response.status_code == 400
    assert (await response.get_json())["detail"].startswith(query.split("=")[0])


async def test_the_cookie_session_needs_its_csrf_token(client):
    response = await client.post("/conversations/", json={"title": "x"})
    assert response.status_code == 403
    assert "CSRF" in (await response.get_json())["detail"]
    response = await CsrfClient(client).post("/conversations/", json={"title": "x"})
    assert response.status_code == 201


@pytest.mark.config(WRITE_RATE_LIMIT=1)
async def test_the_write_limits_apply(client, key):
    assert (await client.post("/conversations/", json={}, headers=key)).status_code == 201
    refused = await client.post("/conversations/", json={}, headers=key)
    assert refused.status_code == 429 and "detail" in await refused.get_json()


async def test_participant_usernames_make_a_room_with_those_people(client, key):
    """Seed 002: a group created with its people, who are then its members."""
    for name in ("bob", "Carol"):
        await User.create(username=name, username_key=name.casefold(), password_hash="-")
    response = await client.post("/conversations/", json={
        "title": "Team", "mode": "group", "participant_usernames": ["bob", "CAROL"]},
        headers=key)
    assert response.status_code == 201, await response.get_data(as_text=True)
    created = await response.get_json()
    assert (created["mode"], created["participant_usernames"]) == ("group", ["bob", "Carol"])
    members = await ConversationMember.filter(conversation_id=created["id"]) \
        .values_list("user__username", flat=True)
    assert sorted(members) == ["Carol", "bob"]


@pytest.mark.parametrize("body, says", [
    ({"mode": "group", "participant_usernames": ["bob", "nobody"]}, "no account named"),
    ({"mode": "partner", "participant_usernames": ["bob", "carol"]}, "full"),
    ({"mode": "solo", "participant_usernames": ["bob"]}, "solo"),
    ({"mode": "group", "participant_usernames": ["bob", "bob"]}, "already"),
])
async def test_participants_are_all_added_or_nothing_is_created(client, key, body, says):
    for name in ("bob", "carol"):
        await User.create(username=name, username_key=name, password_hash="-")
    response = await client.post("/conversations/", json={"title": "T", **body}, headers=key)
    assert response.status_code == 400
    assert says in (await response.get_json())["detail"]
    assert await Conversation.all().count() == 0
    assert await ConversationMember.all().count() == 0


async def test_a_guest_cannot_make_a_room(client):
    guest = CsrfClient(client)
    response = await guest.post("/conversations/", json={
        "mode": "group", "participant_usernames": []})
    assert response.status_code == 400
    assert "account" in (await response.get_json())["detail"]
