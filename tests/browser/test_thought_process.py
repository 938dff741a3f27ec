"""A reasoning model's thought process, in a real browser: it streams into its own block
above the reply, folds when the reply is done, and opens from the keyboard."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_streaming import box
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser

REASONING = ["Two ", "plus ", "two", "\nmakes four."]
TEXT = ["The answer ", "is **4**."]


def test_reasoning_streams_above_the_reply_and_its_block_opens_by_keyboard(chat, fake, page):
    # Spaced out, so the person can be seen watching it think before the answer starts.
    fake.enqueue(Tokens(TEXT, reasoning=REASONING, ttft=0.2, interval=0.25))
    reply = chat.send("What is 2 + 2?")
    thought = reply.locator("details.thought")
    summary = thought.locator("summary")
    thought_text = thought.locator(".thought-text")

    # While it streams: open, "Thinking…", the reasoning arriving before any reply text.
    expect(thought_text).to_contain_text("Two plus")
    expect(summary).to_have_text("Thinking…")
    expect(thought).to_have_js_property("open", True)
    chat.wait_status(reply, "complete")

    # Done: folded and renamed; the reasoning is kept but hidden, the reply shown.
    expect(summary).to_have_text("Thought process")
    expect(thought).to_have_js_property("open", False)
    expect(thought_text).to_be_hidden()
    content = reply.locator(".message-content")
    expect(content).to_have_text("The answer is 4.")

    # Keyboard: Tab from the question's last button reaches the summary; Enter opens it.
    page.locator("article.message.user").last.locator("button").last.focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        if summary.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the thought process's summary")
    page.keyboard.press("Enter")
    expect(thought).to_have_js_property("open", True)
    expect(thought_text).to_be_visible()
    assert thought_text.evaluate("el => el.innerText") == "".join(REASONING)

    # The reply's text sits below the block, and Copy takes only the reply.
    assert box(thought)["bottom"] <= box(content)["top"]
    reply.locator(".copy-btn").click()
    expect(reply.locator(".copy-btn")).to_have_class("copy-btn copied")
    assert chat.clipboard() == "".join(TEXT)
