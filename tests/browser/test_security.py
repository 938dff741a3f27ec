"""Untrusted text (the person's and the model's) is shown, never run."""

import pytest
from playwright.sync_api import expect

from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser

USER_XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
MODEL_XSS = [
    "Look: <img src=x onerror=window.__xss=1> ",
    "and [link](javascript:window.__xss=1) ",
    "and <script>window.__xss=1</script>\n\n",
    "<script>window.__xss=2</script>\n",
]


def assert_nothing_ran(page) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    thread = page.locator("#thread")
    expect(thread.locator("script")).to_have_count(0)
    expect(thread.locator("[onerror], img")).to_have_count(0)
    expect(thread.locator('a[href^="javascript" i]')).to_have_count(0)


def test_markup_in_messages_and_replies_is_shown_as_text(chat, fake, page):
    fake.enqueue(Tokens(MODEL_XSS, interval=0.05))
    chat.record_streams()
    reply = chat.wait_status(chat.send(USER_XSS), "complete")
    user = chat.thread.locator("article.message.user .message-content")
    expect(user).to_have_text(USER_XSS)
    expect(reply.locator(".message-content")).to_contain_text(
        "<img src=x onerror=window.__xss=1>")
    expect(reply.locator(".message-content")).to_contain_text("<script>window.__xss=2</script>")
    assert chat.streamed_markup() == []  # while streaming too, it was only ever text
    assert_nothing_ran(page)

    page.reload()
    expect(chat.replies.first.locator(".message-content")).to_contain_text("[link]")
    assert_nothing_ran(page)
