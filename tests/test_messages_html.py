"""Sending a message over htmx: bubbles, validation, persistence, the reply's final frame."""

import json

import pytest

from hyperchat.store.schema import Conversation, Message, Status
from tests.fake_upstream import Tokens
from tests.helpers import (
    CsrfClient,
    csrf,
    exchange,
    finished,
    parse_sse,
    send,
    soup,
    start_reply,
    vote,
)


async def test_send_returns_user_bubble_and_streaming_shell(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["Hi", " there"]))
    response = await send(client, "Hello <b>world</b>")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    user, reply = page.select("article.message")
    assert "user" in user["class"] and "assistant" in reply["class"]
    # The user's text is escaped, never markup.
    assert user.select_one(".message-content").get_text() == "Hello <b>world</b>"
    assert user.select_one(".message-content b") is None
    copy = user.select_one(".message-actions .copy-btn")
    assert copy["data-message-id"] == user["data-message-id"]
    stream = reply.select_one(".stream-source")
    assert stream["hx-get"] == f"/messages/{reply['data-message-id']}/stream?after=0"
    assert reply.select_one(".stop-btn") is not None
    # The metadata placeholder is there from the start, so filling it shifts nothing.
    assert reply.select_one(".message-metadata").get_text(strip=True) == ""
    conversation = await Conversation.get()
    assert reply["data-conversation-share-id"] == conversation.share_id
    assert response.headers["HX-Push-Url"] == f"/c/{conversation.id}"
    assert page.select_one("#conversation-id")["hx-swap-oob"] == "true"
    assert page.select_one("#conversation-id")["value"] == str(conversation.id)


async def test_user_message_is_saved_before_the_upstream_is_called(client, fake_upstream):
    from tests.fake_upstream import Hang

    fake_upstream.enqueue(Hang(seconds=5))
    await send(client, "Saved first")
    await fake_upstream.wait_for_requests_async(1)
    user = await Message.get(role="user")
    assert user.content == "Saved first" and user.status == Status.COMPLETE


async def test_conversation_gets_title_from_first_message(client, fake_upstream):
    await send(client, "one two three four five six seven")
    conversation = await Conversation.get()
    assert conversation.title == "one two three four five..."
    assert len(conversation.share_id) == 22


async def test_reply_is_saved_with_model_and_usage(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["Hello", " world"], model="anthropic/claude-3.5-sonnet-20241022",
                                 prompt_tokens=12))
    await send(client, "hi")
    reply = await finished((await Message.get(role="assistant")).id)
    assert reply.status == Status.COMPLETE
    assert reply.content == "Hello world"
    assert reply.model_id_used == "anthropic/claude-3.5-sonnet-20241022"
    assert (reply.prompt_tokens, reply.completion_tokens) == (12, 2)
    assert reply.tokens_estimated is False


async def test_reply_without_usage_gets_estimated_tokens(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["x" * 40], usage=False))
    await send(client, "y" * 80)
    reply = await finished((await Message.get(role="assistant")).id)
    assert reply.tokens_estimated is True
    assert (reply.prompt_tokens, reply.completion_tokens) == (20, 10)
    page = soup(await (await client.get(f"/c/{reply.conversation_id}")).get_data(as_text=True))
    metadata = page.select_one(".message-metadata").get_text(" ", strip=True)
    assert "≈20 prompt + ≈10 completion" in metadata


async def test_second_message_sends_whole_conversation_as_context(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["First", " answer"]), Tokens(["Second"]))
    await send(client, "first question")
    conversation = await Conversation.get()
    await finished((await Message.get(role="assistant")).id)
    await send(client, "second question", conversation_id=conversation.id)
    await fake_upstream.wait_for_requests_async(2)
    body = fake_upstream.requests[-1]["json"]
    assert body["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": "second question"},
    ]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "openai/gpt-4o-mini"
    assert fake_upstream.requests[-1]["headers"]["authorization"] == "Bearer test-key"


async def test_a_sent_message_empties_the_composer_out_of_band(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["ok"]))
    page = soup(await (await send(client, "hello")).get_data(as_text=True))
    box = page.select_one("textarea#composer-input")
    assert box["hx-swap-oob"] == "true" and box.get_text() == ""
    # Not autofocus: focus stays where the person is (htmx keeps it on the box by its id).
    assert not box.has_attr("autofocus")
    error = page.select_one("#composer-error")
    assert error["hx-swap-oob"] == "innerHTML" and error.get_text(strip=True) == ""
    # The model choice is for one message: back on the default.
    picker = page.select_one("#model-choice")
    assert picker["hx-swap-oob"] == "true"
    assert picker.select_one("#model-override")["value"] == ""


async def test_a_refused_message_leaves_the_composer_as_it_is(client, fake_upstream):
    page = soup(await (await send(client, "a" * 10_001)).get_data(as_text=True))
    assert page.select_one("#composer-input") is None
    assert page.select_one("#model-choice") is None


async def test_every_htmx_request_sends_the_headers_rendered_on_body(client):
    token = await csrf(client)
    page = soup(await (await client.get("/")).get_data(as_text=True))
    # One attribute, inherited by every element; the tab's id is the tab's to fill in.
    assert json.loads(page.body["hx-headers:inherited"]) == {"X-CSRF-Token": token,
                                                              "X-Tab-Id": ""}
    assert page.select('meta[name="csrf-token"]') == []


@pytest.mark.parametrize("content", ["", "   ", "\n\t "])
async def test_empty_message_is_not_sent(client, fake_upstream, content):
    response = await send(client, content)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert await Message.all().count() == 0
    assert fake_upstream.requests == []


async def test_too_long_message_is_refused_with_a_clear_error(client, fake_upstream):
    response = await send(client, "a" * 10_001)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#composer-error"
    text = soup(await response.get_data(as_text=True)).get_text()
    assert "10,001" in text and "10,000" in text and "still in the box" in text
    assert await Message.all().count() == 0


async def test_message_of_exactly_the_limit_is_accepted(client, fake_upstream):
    response = await send(client, "a" * 10_000)
    assert response.status_code == 200


async def test_sending_into_someone_elses_conversation_is_not_found(app, client, fake_upstream):
    await send(client, "mine")
    conversation = await Conversation.get()
    stranger = app.test_client()
    response = await send(stranger, "intrusion", conversation_id=conversation.id)
    assert response.status_code == 404
    assert await Message.filter(content="intrusion").count() == 0


async def test_sending_into_unknown_conversation_is_not_found(client, fake_upstream):
    response = await send(client, "hello", conversation_id=999)
    assert response.status_code == 404


async def test_form_post_without_htmx_redirects_to_the_conversation(client, fake_upstream):
    response = await send(client, "plain form", htmx=False)
    assert response.status_code == 303
    conversation = await Conversation.get()
    assert response.headers["Location"].endswith(f"/c/{conversation.id}")


async def test_conversation_page_renders_finished_reply_as_sanitized_markdown(client,
                                                                             fake_upstream):
    fake_upstream.enqueue(Tokens(["**bold** ", "<script>alert(1)</script>",
                                  " [x](javascript:alert(1))"]))
    await send(client, "hi")
    reply = await finished((await Message.get(role="assistant")).id)
    page = soup(await (await client.get(f"/c/{reply.conversation_id}")).get_data(as_text=True))
    bubble = page.select_one(f"#msg-{reply.id}")
    content = bubble.select_one(".message-content.markdown")
    assert content.select_one("strong").get_text() == "bold"
    assert content.select("script") == [] and bubble.select("script") == []
    assert all(not a.get("href", "").startswith("javascript") for a in content.select("a"))
    # The exact markdown source rides along for the copy button.
    assert bubble.select_one("template.message-source").decode_contents() == \
        "**bold** &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))"
    assert {"copy-btn", "share-btn", "upvote-btn", "downvote-btn"} <= {
        b["class"][0] for b in bubble.select(".message-actions button")}
    assert bubble.select_one(".message-metadata span[title]")["title"] == "openai/gpt-4o-mini"


async def test_conversation_page_of_someone_else_is_not_found(app, client, fake_upstream):
    await send(client, "private")
    conversation = await Conversation.get()
    response = await app.test_client().get(f"/c/{conversation.id}")
    assert response.status_code == 404


async def test_unknown_conversation_page_is_not_found(client):
    assert (await client.get("/c/12345")).status_code == 404


async def test_pages_send_a_strict_content_security_policy(client):
    response = await client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = soup(await response.get_data(as_text=True))
    # No inline scripts or handlers anywhere: the CSP would block them.
    assert all(script.get("src") for script in page.select("script"))
    assert not [tag for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)]


async def test_session_cookie_is_httponly_and_samesite_lax(client):
    raw = (await client.get("/")).headers["Set-Cookie"]
    assert raw.startswith("session=")
    assert "HttpOnly" in raw and "SameSite=Lax" in raw


async def test_final_frame_carries_body_actions_and_metadata_out_of_band(client, fake_upstream):
    # ttft: the stream is open before the first token, so every token goes through it.
    reply_id = str(await start_reply(client, fake_upstream, Tokens(
        ["Hello", " **you**"], model="openai/gpt-4o-mini-2024-07-18", ttft=0.3)))
    raw = await (await client.get(f"/messages/{reply_id}/stream?after=0")).get_data(as_text=True)
    events = parse_sse(raw)
    assert events[-1]["event"] == "done" and events[-1]["data"] == reply_id
    final = soup(events[-2]["data"])
    body = final.select_one(f"#msg-{reply_id}-body")
    assert body["hx-swap-oob"] == "outerHTML" and body["data-status"] == "complete"
    assert body.select_one("strong").get_text() == "you"
    assert final.select_one(f"#msg-{reply_id}-actions")["hx-swap-oob"] == "outerHTML"
    meta = final.select_one(f"#msg-{reply_id}-meta")
    assert meta["hx-swap-oob"] == "outerHTML"
    assert meta.get_text(" ", strip=True).startswith(
        "Model: gpt-4o-mini · Tokens: 11 prompt + 2 completion")
    # Then the latency breakdown (views/actions.py, generation.Reply.latency).
    assert meta.select_one(".meta-latency .latency-ttft") is not None
    assert final.select_one(f"#msg-{reply_id}-stream")["hx-swap-oob"] == "delete"
    frames = [e for e in events if e["id"] and e["event"] is None]
    text = "".join(e["data"] for e in frames[:-1])
    assert text == "Hello **you**"


def button_markup(button) -> dict:
    """A button's seed-relevant markup: classes, title, data attributes, icon classes."""
    return {
        "class": button["class"],
        "title": button["title"],
        **{name: value for name, value in button.attrs.items()
           if name in ("data-message-id", "data-conversation-share-id")},
        "icon": [svg["data-icon"] for svg in button.select("svg.icon")],
    }


@pytest.mark.parametrize(("rating", "voted"), [
    (1, "upvote-btn"), (-1, "downvote-btn"), (0, None),
])
async def test_action_buttons_have_the_seeds_exact_markup(client, fake_upstream, rating, voted):
    user_id, reply_id = await exchange(client, fake_upstream, "hi", "ok")
    reply, user = await Message.get(id=reply_id), await Message.get(id=user_id)
    conversation = await Conversation.get()
    response = await vote(client, reply.id, rating)
    assert response.status_code == 200
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))

    user_buttons = page.select(f"#msg-{user.id} > .message-actions > button")
    assert [button_markup(b) for b in user_buttons] == [
        {"class": ["copy-btn"], "title": "Copy text", "data-message-id": str(user.id),
         "icon": ["regular/copy"]},
    ]
    # The metadata block is for replies only.
    assert page.select(f"#msg-{user.id} .message-metadata") == []

    bubble = page.select_one(f"#msg-{reply.id}")
    buttons = bubble.select(":scope > .message-actions > button")
    with_vote = {name: [name, "voted"] if name == voted else [name]
                 for name in ("upvote-btn", "downvote-btn")}
    # The vote given is drawn filled, the other outlined.
    glyph = {name: "solid" if name == voted else "regular"
             for name in ("upvote-btn", "downvote-btn")}
    assert [button_markup(b) for b in buttons] == [
        {"class": ["copy-btn"], "title": "Copy text", "data-message-id": str(reply.id),
         "icon": ["regular/copy"]},
        {"class": ["share-btn"], "title": "Copy share link",
         "data-conversation-share-id": conversation.share_id,
         "icon": ["solid/share-nodes"]},
        {"class": with_vote["upvote-btn"], "title": "Upvote", "data-message-id": str(reply.id),
         "icon": [f"{glyph['upvote-btn']}/thumbs-up"]},
        {"class": with_vote["downvote-btn"], "title": "Downvote",
         "data-message-id": str(reply.id), "icon": [f"{glyph['downvote-btn']}/thumbs-down"]},
    ]
    # Nothing but icons inside: the title names the button.
    assert all({c.name for c in b.find_all(True, recursive=False)} == {"svg"} for b in buttons)
    # The metadata block sits below the actions, inside the same bubble.
    sections = [c for c in bubble.find_all(recursive=False)
                if {"message-actions", "message-metadata"} & set(c.get("class", []))]
    assert [c["class"][0] for c in sections] == ["message-actions", "message-metadata"]


@pytest.mark.parametrize(("action", "target", "expected"), [
    ("retry", "streaming-reply",
     "This reply is still being written: stop it or let it finish, then retry."),
    ("retry", "user", "Only a reply can be retried, not a message you sent."),
    ("stop", "user", "Only a reply can be stopped, not a message you sent."),
])
async def test_retry_and_stop_refuse_what_they_cannot_act_on(client, fake_upstream, action,
                                                             target, expected):
    # A first token that never comes in time: the reply stays streaming throughout.
    reply_id = await start_reply(client, fake_upstream, Tokens(["late"], ttft=30))
    message_id = (await Message.get(id=reply_id)).parent_id if target == "user" else reply_id
    client = CsrfClient(client)
    response = await client.post(f"/messages/{message_id}/{action}",
                                 headers={"HX-Request": "true"})
    assert response.status_code == 400
    # htmx shows it in the page's alert region, not in place of the button's target.
    assert response.headers["HX-Retarget"] == "#alerts"
    alert = soup(await response.get_data(as_text=True)).select_one("p.alert")
    assert alert.find(string=True, recursive=False).strip() == expected
    # The same refusal as JSON for an API client.
    response = await client.post(f"/messages/{message_id}/{action}",
                                 headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert await response.get_json() == {"ok": False, "error": expected}
    # Nothing happened: no new reply, and the reply was still streaming until stopped now.
    assert await Message.filter(role="assistant").count() == 1
    response = await client.post(f"/messages/{reply_id}/stop")
    assert response.status_code == 204
    assert (await finished(reply_id)).status == Status.STOPPED
