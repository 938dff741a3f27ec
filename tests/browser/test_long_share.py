"""The share page of a conversation longer than one window of messages: like the conversation
page, it opens at the latest message and loads earlier ones as the reader scrolls up."""

import json

import pytest
from playwright.sync_api import expect

from hyperchat.web.view_helpers import WINDOW
from tests.browser.conftest import import_conversation

pytestmark = pytest.mark.browser

PAIRS = 60  # 120 messages: the latest window, one more window, then the rest
AT_BOTTOM = "() => window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"


def test_a_long_share_opens_at_its_latest_message_and_loads_earlier_ones_on_scroll(page):
    messages = []
    for n in range(PAIRS):
        messages += [("user", f"question {n}"), ("assistant", f"answer {n}\n\nwith a second line")]
    conversation_id = import_conversation(page, "A long one", messages)
    token = json.loads(page.locator("body").get_attribute("hx-headers:inherited"))["X-CSRF-Token"]
    shared = page.request.post(f"/c/{conversation_id}/share", headers={"X-CSRF-Token": token})
    page.goto(f"/share/{shared.json()['share_id']}")

    articles = page.locator("#thread article.message")
    expect(articles).to_have_count(WINDOW)
    expect(articles.last).to_contain_text(f"answer {PAIRS - 1}")
    expect(articles.last).to_be_in_viewport()
    page.wait_for_function(AT_BOTTOM)
    page.wait_for_timeout(300)  # the top sentinel is off screen: nothing more loads
    expect(articles).to_have_count(WINDOW)

    first_id = articles.first.get_attribute("id")
    page.evaluate("window.scrollTo(0, 0)")
    expect(articles).to_have_count(2 * WINDOW)
    expect(page.locator(f"#{first_id}")).to_be_in_viewport()  # the reader's place is kept
    page.evaluate("window.scrollTo(0, 0)")
    expect(articles).to_have_count(2 * PAIRS)
    expect(articles.first).to_contain_text("question 0")
    expect(page.locator("#thread .window-sentinel")).to_have_count(0)
    page.screenshot(path="/tmp/nostall_share.png")
