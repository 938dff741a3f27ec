"""A conversation longer than one window of messages (web.view_helpers.WINDOW = 50)."""

import pytest
from playwright.sync_api import expect

from hyperchat.web.view_helpers import WINDOW
from tests.browser.conftest import import_conversation

pytestmark = pytest.mark.browser

PAIRS = 60  # 120 messages: the latest window, one more window, then the rest


@pytest.fixture
def long_conversation(page) -> str:
    messages = []
    for n in range(PAIRS):
        messages += [("user", f"question {n}"), ("assistant", f"answer {n}\n\nwith a second line")]
    return import_conversation(page, "A long one", messages)


AT_BOTTOM = "() => window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"


def at_bottom(page) -> bool:
    return page.evaluate(AT_BOTTOM)


def expect_at_bottom(page) -> None:
    page.wait_for_function(AT_BOTTOM)


def test_a_long_conversation_opens_at_its_latest_message(page, long_conversation):
    page.goto(f"/c/{long_conversation}")
    articles = page.locator("#thread article.message")
    expect(articles).to_have_count(WINDOW)
    expect(articles.last).to_contain_text(f"answer {PAIRS - 1}")
    expect(articles.last).to_be_in_viewport()
    expect_at_bottom(page)
    expect(page.locator("#thread > .window-sentinel")).to_have_count(1)
    page.wait_for_timeout(300)  # the top sentinel is off screen: nothing more loads
    expect(articles).to_have_count(WINDOW)


def test_opening_it_from_the_sidebar_also_lands_at_its_latest_message(page, long_conversation):
    other = import_conversation(page, "Another long one",
                                [("user", f"line {n}\n\nmore") for n in range(WINDOW)])
    page.goto(f"/c/{other}")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")  # reading, mid-way
    assert not at_bottom(page)
    page.locator(f"#conv-{long_conversation} .conversation-link").click()
    articles = page.locator("#thread article.message")
    expect(articles.last).to_contain_text(f"answer {PAIRS - 1}")
    expect(articles.last).to_be_in_viewport()
    expect_at_bottom(page)


def test_scrolling_up_loads_earlier_messages_one_window_at_a_time(page, long_conversation):
    page.goto(f"/c/{long_conversation}")
    articles = page.locator("#thread article.message")
    expect(articles).to_have_count(WINDOW)
    first = articles.first
    first_id = first.get_attribute("id")

    page.evaluate("window.scrollTo(0, 0)")
    expect(articles).to_have_count(2 * WINDOW)
    # What the reader was looking at stays on screen; the next sentinel is above it.
    kept = page.locator(f"#{first_id}")
    expect(kept).to_be_in_viewport()
    page.wait_for_timeout(300)
    expect(articles).to_have_count(2 * WINDOW)

    page.evaluate("window.scrollTo(0, 0)")
    expect(articles).to_have_count(2 * PAIRS)
    expect(articles.first).to_contain_text("question 0")
    expect(page.locator("#thread .window-sentinel")).to_have_count(0)


def test_a_message_permalink_opens_there_not_at_the_bottom(page, long_conversation):
    ids = [m["id"] for m in page.request.get(
        f"/api/chat/sessions/{long_conversation}/").json()["messages"]]
    # One in the latest window but far from the bottom: the fragment alone finds it.
    recent = ids[-WINDOW + 2]
    page.goto(f"/c/{long_conversation}#m-{recent}")
    expect(page.locator(f"#msg-{recent}")).to_be_in_viewport()
    assert not at_bottom(page)
    # An old one, outside the latest window: ?m= renders the window around it.
    old = ids[3]
    page.goto(f"/c/{long_conversation}?m={old}#m-{old}")
    article = page.locator(f"#msg-{old}")
    expect(article).to_be_in_viewport()
    assert article.evaluate("a => a.matches(':has(> .anchor:target)')")
    assert not at_bottom(page)


def test_a_bare_permalink_to_an_older_message_opens_the_window_around_it(page, long_conversation):
    """/c/<id>#m-<mid>: the fragment never reaches the server, so the page asks again (?m=)."""
    page.goto(f"/c/{long_conversation}")
    first_id = page.evaluate("""async (cid) => {
      const r = await fetch(`/api/chat/sessions/${cid}/`);
      return (await r.json()).messages[0].id;
    }""", long_conversation)
    page.goto(f"/c/{long_conversation}#m-{first_id}")
    page.wait_for_url(f"**/c/{long_conversation}?m={first_id}#m-{first_id}")
    target = page.locator(f"#thread article.message:has(#m-{first_id})")
    expect(target).to_contain_class("highlight")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("question 0")
