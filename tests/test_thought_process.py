"""The thought process (CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS): a reasoning model's reasoning
streamed into a folded block above the reply, saved with it, never sent back as context."""

import asyncio
import json

import pytest

from hyperchat.store.schema import Conversation, Message, Status
from tests.fake_upstream import Fixture, InBandError, Stall, Tokens
from tests.helpers import (
    CsrfClient,
    final_frame,
    finished,
    owner_of,
    parse_sse,
    send,
    soup,
    start_reply,
    wait_until,
)

# What d_openrouter_reasoning.sse carries, delta by delta.
CAPTURED_REASONING = ("The user asks for 17 × 24. 17 × 20 = 340 and 17 × 4 = 68, so 340 + 68 = "
                      "408. Double-check: 24 × 17 = 240 + 168 = 408. ✓")
CAPTURED_TEXT = "17 × 24 = **408**."


def split_frames(events, reply_id) -> list[tuple[str, str]]:
    """(reasoning, text) of each token frame (every unnamed frame before the final one):
    reasoning is what the frame appends out of band into the thought block, text the rest."""
    frames = [e for e in events if e["id"] and e["event"] is None][:-1]
    parts = []
    for event in frames:
        fragment = soup(event["data"])
        reasoning = ""
        for span in fragment.select("[hx-swap-oob]"):
            assert span["hx-swap-oob"] == f"beforeend:#msg-{reply_id}-thought"
            reasoning += span.get_text()
            span.extract()
        parts.append((reasoning, fragment.get_text()))
    return parts


async def stream_events(client, reply_id, after=0) -> list[dict]:
    response = await client.get(f"/messages/{reply_id}/stream?after={after}")
    return parse_sse(await response.get_data(as_text=True))


THOUGHTS_OFF = pytest.mark.config(CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS=False)


async def test_reasoning_streams_in_the_frames_before_the_text_and_is_saved(client, fake_upstream):
    reasoning = ["Adding ", "two and two.", "\n\nIt is ", "4."]
    tokens = ["The ", "answer ", "is 4."]
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(tokens, reasoning=reasoning, ttft=0.3, interval=0.01))
    events = await stream_events(client, reply_id)
    frames = split_frames(events, reply_id)
    assert "".join(r for r, _ in frames) == "".join(reasoning)
    assert "".join(t for _, t in frames) == "".join(tokens)
    # The model thinks first: no reasoning rides in a frame after the first text.
    first_text = next(i for i, (_, text) in enumerate(frames) if text)
    assert not any(r for r, _ in frames[first_text + 1:])

    reply = await finished(reply_id)
    assert reply.status == Status.COMPLETE
    assert (reply.reasoning, reply.content) == ("".join(reasoning), "".join(tokens))
    # The final frame folds the block and names it for what it now is, above the text.
    body = soup(final_frame(events)).select_one(f"#msg-{reply_id}-body")
    thought = body.select_one("details.thought")
    assert thought is not None and not thought.has_attr("open")
    assert thought.summary.get_text(strip=True) == "Thought process"
    assert thought.select_one(".thought-text").get_text() == "".join(reasoning)
    children = [c for c in body.children if getattr(c, "name", None)]
    assert children.index(thought) < children.index(body.select_one(".message-content"))
    # Copy takes the reply's source, which holds no reasoning.
    assert body.select_one("template.message-source").get_text() == "".join(tokens)


async def test_captured_openrouter_reasoning_stream_is_saved_beside_the_text(client,
                                                                             fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Fixture("d_openrouter_reasoning.sse", chunk_size=400, delay=0.02))
    reply = await finished(reply_id)
    assert (reply.status, reply.reasoning, reply.content) == (
        Status.COMPLETE, CAPTURED_REASONING, CAPTURED_TEXT)


async def test_first_reasoning_token_is_the_first_token_and_the_api_returns_it(client,
                                                                               fake_upstream):
    # The text comes a second after the reasoning: the time to first token is the
    # reasoning's, which the person sees streaming, so the stream after it lasts at least
    # that second (were the text the first token, it would last about nothing). Bounded
    # from below only, so that a busy machine cannot fail it.
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(["Four."], reasoning=["Two and two."], ttft=0.05,
                                        interval=1.0))
    reply = await finished(reply_id)
    assert reply.ttft_ms is not None and reply.stream_ms >= 500
    conversation = await Conversation.get()
    body = await (await client.get(f"/api/chat/sessions/{conversation.id}/")).get_json()
    assert [(m["role"], m["content"], m["reasoning"]) for m in body["messages"]] == [
        ("user", "hi", None), ("assistant", "Four.", "Two and two.")]


@THOUGHTS_OFF
async def test_thought_process_off_streams_and_stores_no_reasoning(client, fake_upstream):
    # The reply stays live for two seconds after its text, so that the stream below is read
    # while it streams even on a busy machine (a finished reply sends its final frame only).
    reply_id = await start_reply(client, fake_upstream,
                                 Stall(reasoning=["Secret ", "musing"], after_tokens=["Four."],
                                       seconds=2))
    # The bubble as sent has no thought block, not even an empty one.
    page = soup(await (await client.get("/")).get_data(as_text=True))
    assert page.select(".thought") == []
    events = await stream_events(client, reply_id)
    raw = "".join(e["data"] for e in events)
    assert "musing" not in raw and "thought" not in raw
    assert "".join(t for _, t in split_frames(events, reply_id)) == "Four."
    reply = await finished(reply_id)
    assert (reply.status, reply.content, reply.reasoning) == (Status.COMPLETE, "Four.", None)
    conversation = await Conversation.get()
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    assert page.select(".thought") == []


@THOUGHTS_OFF
async def test_thought_process_off_hides_reasoning_saved_earlier_but_exports_keep_it(client):
    owner = await owner_of(client)
    # Saved while the setting was on (or imported): the person's data, shown nowhere in the
    # app or its API while the setting is off, and kept in their exports.
    conversation = await Conversation.create(owner=owner, title="t")
    question = await Message.create(conversation=conversation, role="user", content="q",
                                    status=Status.COMPLETE, current=True, on_path=True)
    await Message.create(conversation=conversation, parent_id=question.id, role="assistant",
                         content="A.", reasoning="Earlier musing", status=Status.COMPLETE,
                         current=True, on_path=True)
    page = await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True)
    assert "Earlier musing" not in page
    body = await (await client.get(f"/api/chat/sessions/{conversation.id}/")).get_json()
    assert [m["reasoning"] for m in body["messages"]] == [None, None]
    exported = await (await client.get(f"/c/{conversation.id}/export.json")).get_data(
        as_text=True)
    assert json.loads(exported)["messages"][1]["reasoning"] == "Earlier musing"


async def test_stop_keeps_the_reasoning_so_far(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Stall(reasoning=["Hmm, ", "let me see."], after_tokens=["Par"],
                                       seconds=10))
    hub = client.app.extensions["generations"].hub

    async def text_arrived():
        snapshot = await hub.snapshot(reply_id)
        return snapshot and snapshot.text == "Par"

    await wait_until(text_arrived)
    response = await CsrfClient(client).post(f"/messages/{reply_id}/stop")
    assert response.status_code == 204
    reply = await finished(reply_id)
    assert (reply.status, reply.reasoning, reply.content) == (
        Status.STOPPED, "Hmm, let me see.", "Par")


async def stop_once(client, reply_id, arrived) -> None:
    hub = client.app.extensions["generations"].hub

    async def ready():
        snapshot = await hub.snapshot(reply_id)
        return snapshot and arrived(snapshot)

    await wait_until(ready)
    response = await CsrfClient(client).post(f"/messages/{reply_id}/stop")
    assert response.status_code == 204
    await finished(reply_id)


@pytest.mark.parametrize("thoughts_on", [
    pytest.param(True, id="shown"),
    pytest.param(False, id="not shown", marks=THOUGHTS_OFF),
])
async def test_a_reply_stopped_while_thinking_counts_its_reasoning_as_tokens(
        client, fake_upstream, thoughts_on):
    # Providers bill reasoning: without usage from the stream, it is estimated like text, so
    # stopping during a long think is not free against a budget.
    reply_id = await start_reply(client, fake_upstream, Stall(reasoning=["x" * 400], seconds=10))
    if thoughts_on:
        await stop_once(client, reply_id, lambda snapshot: snapshot.reasoning)
    else:
        # Nothing reaches the hub: give the dropped reasoning time to arrive, then stop.
        await asyncio.sleep(0.5)
        await stop_once(client, reply_id, lambda snapshot: True)
    reply = await Message.get(id=reply_id)
    assert (reply.status, reply.completion_tokens, reply.tokens_estimated) == (
        Status.STOPPED, 100, True)


async def test_continue_keeps_the_reasoning_and_thinks_on_in_a_new_paragraph(client,
                                                                            fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Stall(reasoning=["First thought."], after_tokens=["Par"],
                                       seconds=10))
    await stop_once(client, reply_id, lambda snapshot: snapshot.text == "Par")
    fake_upstream.enqueue(Tokens(["tial."], reasoning=["Second thought."], ttft=0.1))
    response = await CsrfClient(client).post(f"/messages/{reply_id}/continue",
                                             headers={"HX-Request": "true"})
    assert response.status_code == 200
    # A tab reloaded mid-continuation replays the old and the new reasoning once each.
    events = await stream_events(client, reply_id)
    frames = split_frames(events, reply_id)
    assert "".join(r for r, _ in frames) == "First thought.\n\nSecond thought."
    assert "".join(t for _, t in frames) == "Partial."
    reply = await finished(reply_id)
    assert (reply.status, reply.reasoning, reply.content) == (
        Status.COMPLETE, "First thought.\n\nSecond thought.", "Partial.")
    conversation = await Conversation.get()
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{reply_id}-thought").get_text() == \
        "First thought.\n\nSecond thought."


@pytest.mark.parametrize("after_tokens", [["Half"], []], ids=["after text", "before text"])
async def test_mid_stream_error_keeps_the_reasoning_so_far(client, fake_upstream, after_tokens):
    reply_id = await start_reply(client, fake_upstream,
                                 InBandError(after_tokens, reasoning=["Thinking ", "hard"]))
    reply = await finished(reply_id)
    assert reply.status == Status.ERROR and "Provider disconnected" in reply.error
    assert (reply.reasoning, reply.content) == ("Thinking hard", "".join(after_tokens))


@pytest.mark.config(PARTIAL_SAVE_INTERVAL=0)
async def test_partial_saves_include_the_reasoning(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Stall(reasoning=["Saved ", "as it goes"], seconds=10))

    async def saved():
        reply = await Message.get(id=reply_id)
        return reply.reasoning == "Saved as it goes" and reply

    reply = await wait_until(saved)
    assert reply.status == Status.STREAMING
    await CsrfClient(client).post(f"/messages/{reply_id}/stop")
    await finished(reply_id)


async def test_reasoning_is_never_sent_back_as_context(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(["Paris."], reasoning=["The capital of France..."]),
                                 content="Capital of France?")
    assert (await finished(reply_id)).reasoning == "The capital of France..."
    conversation = await Conversation.get()
    fake_upstream.enqueue(Tokens(["Berlin."]))
    await send(client, "And Germany?", conversation.id)
    await fake_upstream.wait_for_requests_async(2)
    assert fake_upstream.requests[1]["json"]["messages"] == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And Germany?"},
    ]


async def test_reload_mid_stream_shows_the_reasoning_so_far_then_the_rest_once(client,
                                                                               fake_upstream):
    reasoning = [f"r{i:02d} " for i in range(30)]
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(["Done."], reasoning=reasoning, interval=0.02))
    hub = client.app.extensions["generations"].hub

    async def some_reasoning():
        snapshot = await hub.snapshot(reply_id)
        return snapshot and snapshot.seq >= 5 and snapshot

    await wait_until(some_reasoning)
    conversation = await Conversation.get()
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    thought = page.select_one(f"#msg-{reply_id}-thought-block")
    assert thought.has_attr("open") and thought.summary.get_text(strip=True) == "Thinking…"
    so_far = page.select_one(f"#msg-{reply_id}-thought").get_text()
    assert so_far and "".join(reasoning).startswith(so_far)
    stream_url = page.select_one(f"#msg-{reply_id}-stream")["hx-get"]
    events = parse_sse(await (await client.get(stream_url)).get_data(as_text=True))
    frames = split_frames(events, reply_id)
    assert so_far + "".join(r for r, _ in frames) == "".join(reasoning)
    assert "".join(t for _, t in frames) == "Done."
    # Reloaded once finished: folded, all of it.
    await finished(reply_id)
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    thought = page.select_one(f"#msg-{reply_id}-thought-block")
    assert not thought.has_attr("open") and thought.summary.get_text(strip=True) == \
        "Thought process"
    assert thought.select_one(".thought-text").get_text() == "".join(reasoning)


async def test_reasoning_markup_is_escaped_in_frames_page_and_share(app, client, fake_upstream):
    evil = ["<script>alert(1)</script>", " & <b>bold</b>"]
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(["Fine."], reasoning=evil, ttft=0.3, interval=0.01))
    events = await stream_events(client, reply_id)
    raw = "".join(e["data"] for e in events)
    assert "<script>" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert all(soup(e["data"]).select("script, b") == [] for e in events)
    assert "".join(r for r, _ in split_frames(events, reply_id)) == "".join(evil)
    await finished(reply_id)

    conversation = await Conversation.get()
    await CsrfClient(client).post(f"/c/{conversation.id}/share",
                                  headers={"Accept": "application/json"})
    for response in (await client.get(f"/c/{conversation.id}"),
                     await app.test_client().get(f"/share/{conversation.share_id}")):
        html = await response.get_data(as_text=True)
        assert "<script>alert" not in html and "<b>bold" not in html
        thought = soup(html).select_one(f"#msg-{reply_id}-thought-block")
        assert not thought.has_attr("open")
        assert thought.summary.get_text(strip=True) == "Thought process"
        assert thought.select_one(".thought-text").get_text() == "".join(evil)


async def test_share_page_shows_the_thought_process_read_only(app, client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Fixture("d_openrouter_reasoning.sse"))
    await finished(reply_id)
    conversation = await Conversation.get()
    await CsrfClient(client).post(f"/c/{conversation.id}/share",
                                  headers={"Accept": "application/json"})
    page = soup(await (await app.test_client().get(f"/share/{conversation.share_id}"))
                .get_data(as_text=True))
    bubble = page.select_one(f"#msg-{reply_id}")
    assert bubble.select_one(".thought-text").get_text() == CAPTURED_REASONING
    assert "408" in bubble.select_one(".message-content").get_text()


async def test_exports_carry_the_reasoning_of_a_streamed_reply(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Fixture("d_openrouter_reasoning.sse"), content="17 × 24?")
    await finished(reply_id)
    conversation = await Conversation.get()
    document = json.loads(await (await client.get(f"/c/{conversation.id}/export.json"))
                          .get_data(as_text=True))
    user, reply = document["messages"]
    assert user["reasoning"] is None
    assert (reply["reasoning"], reply["content"]) == (CAPTURED_REASONING, CAPTURED_TEXT)
    markdown = await (await client.get(f"/c/{conversation.id}/export.md")).get_data(as_text=True)
    assert (f"## Assistant\n\n> **Thought process**\n>\n> {CAPTURED_REASONING}\n\n"
            f"{CAPTURED_TEXT}\n") in markdown
