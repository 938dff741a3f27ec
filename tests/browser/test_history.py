"""Back and forward between conversations: htmx re-fetches the page and swaps the whole body."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import soup

pytestmark = pytest.mark.browser


def new_conversation(page, chat, text: str) -> str:
    pane = page.locator("#main").element_handle()
    page.locator(".sidebar .new-chat").click()
    page.wait_for_function("pane => !pane.isConnected", arg=pane)  # the new, empty pane is in
    expect(page).to_have_url(re.compile(r"/$"))
    chat.wait_status(chat.send(text), "complete")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    return page.url.rsplit("/", 1)[1]


def expect_showing(page, conversation_id: str, text: str) -> None:
    """One whole page showing the conversation: one layout, one sidebar, one pane."""
    expect(page).to_have_url(re.compile(rf"/c/{conversation_id}$"))
    expect(page.locator("#layout")).to_have_count(1)
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("#conversation-list .conversation-item")).to_have_count(2)
    expect(page.locator("#main")).to_have_count(1)
    expect(page.locator("#main")).to_have_attribute("data-conversation-id", conversation_id)
    expect(page.locator("#thread article.message.user")).to_have_text(text)
    expect(page.locator(f"#conv-{conversation_id}")).to_contain_class("current")
    expect(page.locator("#composer-input")).to_be_visible()
    duplicated = page.evaluate("""() => {
      const ids = [...document.querySelectorAll('[id]')].map(el => el.id);
      return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    }""")
    assert duplicated == []


def test_back_and_forward_restore_the_whole_page(page, chat, fake):
    first = new_conversation(page, chat, "first conversation")
    second = new_conversation(page, chat, "second conversation")

    page.goto(f"/c/{first}")
    page.evaluate("window.__sameDocument = true")  # gone if the browser reloads instead
    page.locator(f"#conv-{second} .conversation-link").click()
    expect(page).to_have_url(re.compile(rf"/c/{second}$"))
    expect(page.locator("#main")).to_have_attribute("data-conversation-id", second)

    page.go_back()
    expect_showing(page, first, "first conversation")
    expect(page).to_have_title(re.compile("^first conversation"))
    page.go_forward()
    expect_showing(page, second, "second conversation")
    assert page.evaluate("window.__sameDocument") is True

    # The page still works after a restore: opening the other conversation swaps the pane.
    page.locator(f"#conv-{first} .conversation-link").click()
    expect(page.locator("#main")).to_have_attribute("data-conversation-id", first)


def test_back_after_f2_opens_a_conversation_from_the_list(page, chat, fake):
    first = new_conversation(page, chat, "first conversation")
    second = new_conversation(page, chat, "second conversation")
    page.evaluate("window.__sameDocument = true")

    # F2 on another conversation's link opens it (keyboard.js's own request) and starts a rename.
    page.keyboard.press("Control+K")
    link = page.locator(f"#conv-{first} .conversation-link")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
        if link.evaluate("el => el === document.activeElement"):
            break
    expect(link).to_be_focused()
    page.keyboard.press("F2")
    expect(page.locator(f"#rename-input-{first}")).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/c/{first}$"))
    page.keyboard.press("Escape")

    page.go_back()
    expect_showing(page, second, "second conversation")
    page.go_forward()
    expect_showing(page, first, "first conversation")
    assert page.evaluate("window.__sameDocument") is True


def test_a_history_restore_request_gets_the_whole_page(page, chat, fake):
    # htmx 4.0.1 sends HX-History-Restore-Request without HX-Request (its restore passes
    # `request: {headers}` to ajax(), which replaces the core headers); a version that sends
    # both must still get the page, since the answer replaces the whole <body>.
    conversation = new_conversation(page, chat, "restore me")
    url = f"/c/{conversation}"
    fragment = page.request.get(url, headers={"HX-Request": "true"})
    assert soup(fragment.text()).select("#layout, #sidebar") == []
    for headers in ({"HX-History-Restore-Request": "true"},
                    {"HX-Request": "true", "HX-History-Restore-Request": "true"}):
        response = page.request.get(url, headers=headers)
        html = soup(response.text())
        assert html.title.get_text().startswith("restore me")
        assert len(html.select("body > #layout > #sidebar")) == 1
        assert html.select_one("#main")["data-conversation-id"] == conversation
        vary = {v.strip() for v in response.headers["vary"].split(",")}
        assert {"HX-Request", "HX-History-Restore-Request"} <= vary
