"""A reply streams in, survives a reload, and can be stopped: what only a browser shows."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import is_growing_prefix_chain, numbered
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser


def test_enter_sends_and_reply_streams_in_token_by_token(chat, fake):
    tokens = numbered(12)
    fake.enqueue(Tokens(tokens, interval=0.05))
    chat.record_streams()
    chat.input.click()
    chat.input.press_sequentially("Hello")
    chat.input.press("Shift+Enter")
    chat.input.press_sequentially("world")
    # Shift+Enter added a line instead of sending.
    expect(chat.input).to_have_value("Hello\nworld")
    assert chat.posts == []

    chat.input.press("Enter")
    expect(chat.replies).to_have_count(1)
    reply = chat.replies.first
    expect(chat.input).to_have_value("")
    user = chat.thread.locator("article.message.user")
    expect(user.locator(".message-content")).to_have_text("Hello\nworld")
    chat.wait_status(reply, "complete")

    full = "".join(tokens)
    assert len(chat.posts) == 1 and chat.posts[0]["content"] == "Hello\nworld"
    states = [s for s in chat.stream_states(reply) if s]
    # Partial texts, each longer than the last, before the whole reply.
    intermediate = [s for s in states if s != full]
    assert len(intermediate) >= 2, states
    assert is_growing_prefix_chain(states, full), states
    assert chat.streamed_markup() == []
    assert chat.source(reply) == full
    expect(reply.locator(".message-content")).to_have_text(full.strip())


def box(locator) -> dict:
    """The element's box in page coordinates (independent of scrolling)."""
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return {top: r.top + scrollY, bottom: r.bottom + scrollY, height: r.height}; }")


def test_metadata_fills_in_without_moving_the_bubble(chat, fake):
    fake.enqueue(Tokens(["Short", " reply", " here", "."] + ["."] * 20, interval=0.05,
                        model="openai/gpt-4o-mini-2024-07-18", prompt_tokens=9))
    reply = chat.send("Measure me")
    expect(reply.locator(".message-content")).to_contain_text("Short reply")
    expect(reply.locator(".stop-btn")).to_be_visible()
    body, actions, meta = (reply.locator(s) for s in
                           (".message-body", ".message-actions", ".message-metadata"))
    assert body.get_attribute("data-status") == "streaming"
    during = {name: box(loc) for name, loc in
              (("article", reply), ("body", body), ("actions", actions), ("meta", meta))}
    assert meta.inner_text() == ""  # the placeholder is there, empty, while streaming

    chat.wait_status(reply, "complete")
    # Then the latency breakdown (our server, first token, tokens/s, cost), after the tokens.
    expect(meta).to_have_text(re.compile(
        r"^Model: gpt-4o-mini · Tokens: 9 prompt \+ 24 completion\s+Server: \d+ ms · "
        r"First token: \d+ ms · [\d.]+ tokens/s · Cost: \$0\.000010\s*$"))
    after = {name: box(loc) for name, loc in
             (("article", reply), ("body", body), ("actions", actions), ("meta", meta))}
    assert after["article"]["top"] == during["article"]["top"]
    # The rows below the text keep their heights and their distance from the text. Within
    # half a pixel: Chromium rounds an empty min-height and a filled line box to different
    # 1/64 px layout units (22.390625 vs 22.40625), which nobody can see; a shift is >= 1 px.
    assert after["actions"]["height"] == pytest.approx(during["actions"]["height"], abs=0.5)
    # The metadata wraps rather than cutting off the cost: one line or more, never less.
    lines = after["meta"]["height"] / during["meta"]["height"]
    assert lines == pytest.approx(round(lines), abs=0.05) and round(lines) >= 1
    for name in ("actions", "meta"):
        gap_after = after[name]["top"] - after["body"]["bottom"]
        gap_during = during[name]["top"] - during["body"]["bottom"]
        assert gap_after == pytest.approx(gap_during, abs=0.5), name


def test_reload_mid_stream_resumes_without_duplicates_or_gaps(chat, fake, page):
    reply, full = chat.send_counting(fake, 60, until="t15")
    page.reload()

    reply = chat.replies.first
    # The page came back mid-stream, showing the text so far and following the rest.
    states = chat.stream_states(reply)
    assert states and states[0].startswith("t00"), states
    chat.wait_status(reply, "complete")
    states = chat.stream_states(reply)
    assert len(states) >= 2 and states[-1] != "", states
    # What streamed after the reload joined what was there without repeating or skipping a
    # token: every state the reader saw is a prefix of the reply.
    assert is_growing_prefix_chain(states, full), states
    assert chat.source(reply) == full
    expect(reply.locator(".message-content")).to_have_text(full.strip())


@pytest.mark.parametrize("how", ["click", "escape"])
def test_stop_keeps_the_partial_reply(chat, fake, page, how):
    tokens = numbered(80)
    full = "".join(tokens)
    fake.enqueue(Tokens(tokens, interval=0.05))
    reply = chat.send("Talk a lot")
    content = reply.locator(".message-content")
    expect(content).to_contain_text("t05")
    seen = content.inner_text()
    if how == "click":
        reply.locator(".stop-btn").click()
    else:
        page.keyboard.press("Escape")

    chat.wait_status(reply, "stopped")
    fake.wait_for_idle()  # the request to the model was cut off, not left running
    expect(reply.locator(".message-status.stopped")).to_have_text("Stopped")
    expect(reply.locator(".message-actions .copy-btn")).to_be_visible()
    expect(reply.locator(".stop-btn")).to_have_count(0)
    kept = chat.source(reply)
    assert kept.startswith(seen.strip()) and full.startswith(kept) and kept != full
    # The stopped reply, with its text, is what the database holds.
    page.reload()
    reply = chat.replies.first
    chat.wait_status(reply, "stopped")
    assert chat.source(reply) == kept
    expect(reply.locator(".message-status.stopped")).to_be_visible()
