"""Which model answers (message override -> conversation default -> DEFAULT_MODEL), unknown
ids refused before anything goes upstream, and owner-only conversation settings."""

import pytest

from hyperchat.store.schema import Conversation, Message, Mode, Role, Status
from tests.accounts_helpers import register
from tests.fake_upstream import Tokens
from tests.helpers import (
    CsrfClient,
    act_until_done,
    csrf,
    finished,
    send,
    soup,
    start_reply,
)

# The model catalog on: the fake upstream's models.json is what ids are checked against.
pytestmark = pytest.mark.catalog


async def chat_requests(fake_upstream):
    return [r for r in fake_upstream.requests if r["path"].endswith("/chat/completions")]


async def put(client, conversation_id, body):
    return await CsrfClient(client).put(f"/conversations/{conversation_id}", json=body)


async def test_three_tiers_message_then_conversation_then_server_default(client,
                                                                         fake_upstream):
    # No override, no conversation default.
    await finished(await start_reply(client, fake_upstream, content="first"))
    conversation = await Conversation.get()
    assert (await put(client, conversation.id,
                      {"default_model_id": "openai/gpt-4"})).status_code == 200
    for content, model in [("second", None),  # the conversation's default
                           ("third", "anthropic/claude-sonnet-4.5"),  # override
                           ("fourth", None)]:  # back to the default
        fields = {"model": model} if model else {}
        await finished(await start_reply(client, fake_upstream, content=content,
                                         conversation_id=conversation.id, **fields))
    models = [r["json"]["model"] for r in await chat_requests(fake_upstream)]
    assert models == ["openai/gpt-4o-mini", "openai/gpt-4", "anthropic/claude-sonnet-4.5",
                      "openai/gpt-4"]
    third = await Message.get(content="third")
    assert third.model_override == "anthropic/claude-sonnet-4.5"
    assert (await Message.get(content="fourth")).model_override is None


async def test_retry_asks_the_model_the_message_was_sent_to(client, fake_upstream):
    # Empty: the reply fails.
    failed = await finished(await start_reply(client, fake_upstream, Tokens([], usage=False),
                                              content="q", model="openai/gpt-4"))
    assert failed.status == Status.ERROR
    (retried,) = await act_until_done(client, failed.id, "retry")
    assert [r["json"]["model"] for r in await chat_requests(fake_upstream)] == [
        "openai/gpt-4", "openai/gpt-4"]


@pytest.mark.parametrize("model", ["no-such/model", "openai/gpt-4 ", "x" * 300])
async def test_unknown_model_is_refused_with_400_and_never_sent_upstream(client,
                                                                         fake_upstream, model):
    response = await send(client, "hi", model=model)
    if model.strip() == "openai/gpt-4":
        assert response.status_code == 200  # surrounding spaces are not a different model
        return
    assert response.status_code == 400
    alert = soup(await response.get_data(as_text=True)).get_text(" ", strip=True)
    assert "Unknown model" in alert and "not in this server's model list" in alert
    assert await chat_requests(fake_upstream) == []
    assert await Message.all().count() == 0  # nothing saved either


async def test_json_send_with_override_answers_201_and_unknown_model_400(client,
                                                                          fake_upstream):
    client = CsrfClient(client)
    response = await client.post("/messages", json={"content": "hi", "model": "openai/gpt-4"})
    assert response.status_code == 201
    body = await response.get_json()
    assert body["message"]["model"] == "openai/gpt-4" and body["reply"]["status"] == "streaming"
    await finished(body["reply"]["id"])
    bad = await client.post("/messages", json={"content": "hi", "model": "nope/nope"})
    assert bad.status_code == 400 and "Unknown model" in (await bad.get_json())["error"]


async def test_conversation_default_that_left_the_catalog_is_refused_clearly(client,
                                                                             fake_upstream):
    await send(client, "hi")
    conversation = await Conversation.get()
    await finished((await Message.get(role=Role.ASSISTANT)).id)
    await Conversation.filter(id=conversation.id).update(default_model_id="gone/model")
    response = await send(client, "again", conversation.id)
    assert response.status_code == 400
    assert "default model of this conversation" in await response.get_data(as_text=True)


async def test_put_updates_the_seed_body_and_get_reads_it(client):
    # A group room needs an account (tests/test_rooms.py: a guest's is refused).
    await register(client, "seed_owner")
    await send(client, "hi")
    conversation = await Conversation.get()
    response = await put(client, conversation.id, {
        "title": "My Conversation", "mode": "group", "with_ai": False,
        "default_model_id": "openai/gpt-4"})
    assert response.status_code == 200
    body = await response.get_json()
    assert {k: body[k] for k in ("title", "mode", "with_ai", "default_model_id")} == {
        "title": "My Conversation", "mode": "group", "with_ai": False,
        "default_model_id": "openai/gpt-4"}
    saved = await Conversation.get(id=conversation.id)
    assert (saved.title, saved.mode, saved.with_ai, saved.default_model_id) == (
        "My Conversation", Mode.GROUP, False, "openai/gpt-4")
    # Partial: only what is sent changes; null clears the default model.
    body = await (await put(client, conversation.id, {"default_model_id": None})).get_json()
    assert body["default_model_id"] is None and body["mode"] == "group"
    assert (await (await client.get(f"/conversations/{conversation.id}")).get_json())[
        "title"] == "My Conversation"


@pytest.mark.parametrize("body, complaint", [
    ({"title": ""}, "title"), ({"title": "x" * 201}, "title"), ({"title": 5}, "title"),
    ({"mode": "crowd"}, "mode"), ({"with_ai": "false"}, "with_ai"), ({"with_ai": 0}, "with_ai"),
    ({"default_model_id": "nope/nope"}, "Unknown default_model_id"),
    ({"default_model_id": 7}, "default_model_id"), ({"colour": "red"}, "Unknown field"),
])
async def test_put_refuses_bad_settings_with_400(client, body, complaint):
    await send(client, "hi")
    conversation = await Conversation.get()
    response = await put(client, conversation.id, body)
    assert response.status_code == 400
    assert complaint in (await response.get_json())["error"]
    assert (await Conversation.get(id=conversation.id)).title == "hi"


async def test_only_the_owner_may_read_or_change_settings(app, client):
    await send(client, "mine")
    conversation = await Conversation.get()
    stranger = app.test_client()
    other_token = await csrf(stranger)
    response = await put(stranger, conversation.id, {"title": "pwned"})
    assert response.status_code == 404
    assert (await stranger.get(f"/conversations/{conversation.id}")).status_code == 404
    assert (await stranger.get(f"/c/{conversation.id}/settings")).status_code == 404
    form = await stranger.post(f"/c/{conversation.id}/settings",
                               form={"title": "pwned", "csrf_token": other_token})
    assert form.status_code == 404
    assert (await Conversation.get(id=conversation.id)).title == "mine"
    assert (await put(stranger, 999999, {"title": "x"})).status_code == 404


async def test_settings_page_saves_through_the_form(client):
    await register(client, "form_owner")  # a partner room needs an account
    token = await csrf(client)
    await send(client, "hi", token=token)
    conversation = await Conversation.get()
    page = soup(await (await client.get(f"/c/{conversation.id}/settings")).get_data(
        as_text=True))
    form = page.select_one("#settings-form")
    assert form.select_one("#settings-with-ai").has_attr("checked")
    assert "anthropic/claude-sonnet-4.5" in [o["value"] for o in form.select("option")]
    response = await client.post(f"/c/{conversation.id}/settings", form={
        "csrf_token": token, "title": "Renamed", "mode": "partner", "with_ai": "off",
        "default_model_id": "anthropic/claude-sonnet-4.5"})
    assert response.status_code == 303
    saved = await Conversation.get(id=conversation.id)
    assert (saved.title, saved.mode, saved.with_ai, saved.default_model_id) == (
        "Renamed", Mode.PARTNER, False, "anthropic/claude-sonnet-4.5")
    bad = await client.post(f"/c/{conversation.id}/settings", form={
        "csrf_token": token, "default_model_id": "nope/nope"})
    assert bad.status_code == 400
    assert "Unknown default_model_id" in soup(await bad.get_data(as_text=True)).select_one(
        ".form-error").get_text()


async def test_with_ai_off_saves_the_message_and_writes_no_reply(client, fake_upstream):
    token = await csrf(client)
    await send(client, "hi", token=token)
    conversation = await Conversation.get()
    await finished((await Message.get(role=Role.ASSISTANT)).id)
    await put(client, conversation.id, {"with_ai": False})
    response = await send(client, "just a note", conversation.id, token=token)
    assert response.status_code == 200
    bubbles = soup(await response.get_data(as_text=True)).select("article.message")
    assert len(bubbles) == 1
    assert await Message.filter(conversation_id=conversation.id).count() == 3
    assert (await Message.filter(conversation_id=conversation.id).order_by("-id").first()
            ).role == Role.USER
    assert len(await chat_requests(fake_upstream)) == 1


async def test_picker_names_the_conversation_default_and_checks_the_owner(app, client):
    await send(client, "hi")
    conversation = await Conversation.get()
    await put(client, conversation.id, {"default_model_id": "openai/gpt-4"})
    listed = soup(await (await client.get(
        f"/models/picker?conversation_id={conversation.id}")).get_data(as_text=True))
    default = listed.select_one('[role=option][data-model-id=""]')
    assert default.get_text(" ", strip=True) == "Conversation default GPT-4"
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    assert page.select_one("#model-picker-button").get_text(strip=True) == "GPT-4"
    stranger = app.test_client()
    response = await stranger.get(f"/models/picker?conversation_id={conversation.id}")
    assert response.status_code == 404
