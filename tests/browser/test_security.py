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


def test_hostile_text_on_the_share_page_is_shown_never_run(chat, fake, page, new_context,
                                                            live_server):
    fake.enqueue(Tokens(MODEL_XSS))
    reply = chat.wait_status(chat.send(USER_XSS), "complete")
    share_id = reply.get_attribute("data-conversation-share-id")
    reply.locator(".share-btn").click()
    expect(page.locator("#share-status a.share-link")).to_have_attribute(
        "href", f"/share/{share_id}")

    # A visitor: another person, no cookies, who may also have been sent the link by the
    # attacker. Any dialog the page opens would be an attack running.
    visitor = new_context().new_page()
    dialogs = []
    visitor.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    assert visitor.goto(f"{live_server.url}/share/{share_id}").status == 200
    thread = visitor.locator("#thread")
    expect(thread.locator("article.message")).to_have_count(2)
    expect(thread.locator("article.message.user .message-content")).to_have_text(USER_XSS)
    reply = thread.locator("article.message.assistant .message-content")
    expect(reply).to_contain_text("<img src=x onerror=window.__xss=1>")
    expect(reply).to_contain_text("<script>window.__xss=2</script>")
    expect(reply).to_contain_text("[link]")
    assert_nothing_ran(visitor)
    # Nowhere on the page either: the title, the head's meta tags, the body outside the thread.
    assert visitor.evaluate("document.querySelectorAll('body script, [onerror], img').length") == 0
    assert "__xss" not in visitor.evaluate("document.head.innerHTML")
    assert "__xss" not in visitor.title()
    visitor.wait_for_timeout(200)  # an onerror fires once the broken image has failed to load
    assert visitor.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
