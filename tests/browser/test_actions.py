"""The buttons under a message: copy, share, votes."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Chat
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser

MARKDOWN = "Here is **bold**, `code` and a list:\n\n- one\n- two\n\n```python\nprint('hi')\n```\n"


def test_copy_puts_the_reply_markdown_on_the_clipboard(chat, fake, page):
    fake.enqueue(Tokens([MARKDOWN[:20], MARKDOWN[20:]]))
    reply = chat.wait_status(chat.send("Show me markdown"), "complete")
    expect(reply.locator(".message-content strong")).to_have_text("bold")

    button = reply.locator(".copy-btn")
    button.click()
    expect(button).to_have_attribute("data-feedback", "Copied!")
    expect(button).to_have_class("copy-btn copied")
    assert button.evaluate("b => getComputedStyle(b, '::after').content") == '"Copied!"'
    expect(page.locator("#toast")).to_have_text("Copied!")
    assert chat.clipboard() == MARKDOWN


def test_copy_puts_the_user_message_on_the_clipboard(chat, fake):
    text = "First line\n  indented <b>not bold</b> & more"
    chat.wait_status(chat.send(text), "complete")
    button = chat.thread.locator("article.message.user .copy-btn")
    button.click()
    expect(button).to_have_attribute("data-feedback", "Copied!")
    assert chat.clipboard() == text


def test_copy_failure_is_shown_on_the_button(new_context, live_server, fake):
    context = new_context()
    # The browser refuses clipboard writes (a denied permission, an unfocused page...).
    context.add_init_script("""
        if (navigator.clipboard) {  // not on the initial about:blank
          const refuse = () => Promise.reject(new DOMException("Write permission denied.",
                                                                "NotAllowedError"));
          navigator.clipboard.writeText = refuse;
          navigator.clipboard.write = refuse;
        }
    """)
    page = context.new_page()
    page.goto("/")
    chat = Chat(page)
    reply = chat.wait_status(chat.send("hi"), "complete")
    button = reply.locator(".copy-btn")
    button.click()
    expect(button).to_have_attribute("data-feedback", "Copy failed: Write permission denied.")
    expect(button).to_have_class("copy-btn failed")
    toast = page.locator("#toast")
    expect(toast).to_have_text("Copy failed: Write permission denied.")
    expect(toast).to_have_attribute("data-kind", "error")


def test_share_copies_a_read_only_link_that_stop_sharing_revokes(chat, fake, page, new_context,
                                                                 live_server):
    fake.enqueue(Tokens(["A shared ", "**answer**"]))
    reply = chat.wait_status(chat.send("Something to share"), "complete")
    share_id = reply.get_attribute("data-conversation-share-id")
    expect(page.locator("#share-status")).to_contain_text("Private")

    reply.locator(".share-btn").click()
    expect(reply.locator(".share-btn")).to_have_attribute("data-feedback", "Link copied!")
    url = f"{live_server.url}/share/{share_id}"
    assert chat.clipboard() == url
    shared_link = page.locator("#share-status a.share-link")
    expect(shared_link).to_have_text("Shared")
    expect(shared_link).to_have_attribute("href", f"/share/{share_id}")

    # Someone else, with no cookies, opens the link.
    visitor = new_context().new_page()
    response = visitor.goto(url)
    assert response.status == 200
    thread = visitor.locator("#thread")
    expect(thread.locator("article.message")).to_have_count(2)
    expect(thread.locator("article.message.user .message-content")).to_have_text(
        "Something to share")
    expect(thread.locator("article.message.assistant .message-content strong")).to_have_text(
        "answer")
    for absent in ("#composer", ".upvote-btn", ".downvote-btn", ".share-btn", ".stop-btn",
                   ".retry-btn", ".unshare-btn"):
        expect(visitor.locator(absent)).to_have_count(0)
    expect(thread.locator(".copy-btn")).to_have_count(2)
    thread.locator("article.message.assistant .copy-btn").click()
    assert visitor.evaluate("navigator.clipboard.readText()") == "A shared **answer**"

    page.locator("#share-status .share-menu summary").click()
    page.locator("#share-status .unshare-btn").click()
    expect(page.locator("#share-status")).to_contain_text("Private")
    assert visitor.goto(url).status == 404


def test_votes_toggle_switch_and_survive_reload(chat, fake, page):
    chat.wait_status(chat.send("Rate this"), "complete")

    def expect_votes(up_on: bool, down_on: bool):
        reply = chat.replies.first
        for selector, on in ((".upvote-btn", up_on), (".downvote-btn", down_on)):
            button = reply.locator(selector)
            if on:
                expect(button).to_contain_class("voted")
            else:
                expect(button).not_to_contain_class("voted")
            expect(button).to_have_attribute("aria-pressed", "true" if on else "false")

    def click(selector: str):
        chat.replies.first.locator(selector).click()

    click(".upvote-btn")
    expect_votes(True, False)
    page.reload()
    expect_votes(True, False)

    click(".upvote-btn")  # clicking the active vote clears it
    expect_votes(False, False)
    page.reload()
    expect_votes(False, False)

    click(".downvote-btn")
    expect_votes(False, True)
    click(".upvote-btn")  # the other vote switches
    expect_votes(True, False)
    page.reload()
    expect_votes(True, False)


def test_the_header_shows_the_share_and_updates_it_with_an_expiry(chat, fake, page,
                                                                  new_context, live_server,
                                                                  tmp_path):
    fake.enqueue(Tokens(["First answer"]))
    reply = chat.wait_status(chat.send("First question"), "complete")
    share_id = reply.get_attribute("data-conversation-share-id")
    reply.locator(".share-btn").click()
    status = page.locator("#share-status")
    expect(status.locator(".share-menu summary")).to_have_text("2 messages · 0 views")
    status.locator(".share-menu summary").click()
    expect(status.locator(".share-details")).to_contain_text("2 messages, as of")
    expect(status.locator(".share-views")).to_have_text("0 views")
    visitor = new_context().new_page()
    visitor.goto(f"{live_server.url}/share/{share_id}")
    expect(visitor.locator("#thread article.message")).to_have_count(2)

    # A later exchange is not shared until Update; Update with an expiry shows it.
    fake.enqueue(Tokens(["Second answer"]))
    chat.wait_status(chat.send("Second question"), "complete")
    visitor.reload()
    expect(visitor.locator("#thread article.message")).to_have_count(2)
    status.locator("select[name=expires_in_days]").select_option("7")
    status.locator(".reshare-btn").click()
    status.locator(".share-menu summary").click()
    expect(status.locator(".share-expiry")).to_be_visible()
    expect(status.locator(".share-details")).to_contain_text("4 messages")
    visitor.reload()
    expect(visitor.locator("#thread article.message")).to_have_count(4)
    page.screenshot(path=str(tmp_path / "share-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    if page.locator(".sidebar").is_visible():  # it opens over the page on a phone
        page.keyboard.press("Control+Shift+S")
    status.locator(".share-menu summary").click()
    expect(status.locator(".share-details")).to_contain_text("4 messages, as of")
    expect(status.locator(".unshare-btn")).to_be_visible()
    expect(status.locator(".reshare-btn")).to_be_visible()
    page.screenshot(path=str(tmp_path / "share-phone.png"))
