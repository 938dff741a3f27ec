"""The message box: what it refuses to send, and what it does with the keyboard alone."""

import pytest
from playwright.sync_api import expect

from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser


def test_blank_message_is_not_sent(chat, fake, page):
    chat.input.fill("   \n  ")
    chat.input.press("Enter")
    page.locator(".send-btn").click()
    # Then a real message: the only request made, and the only bubbles in the thread.
    reply = chat.wait_status(chat.send("Real one"), "complete")
    assert [post["content"] for post in chat.posts] == ["Real one"]
    expect(chat.thread.locator("article.message")).to_have_count(2)
    expect(reply.locator(".message-content")).to_have_text("Hello world!")


def test_too_long_message_shows_the_error_and_keeps_the_text(chat, fake, page):
    text = "x" * 10_001
    chat.input.fill(text)
    chat.input.press("Enter")
    error = page.locator("#composer-error")
    expect(error).to_contain_text("the limit is 10,000")
    expect(chat.input).to_have_value(text)
    expect(chat.thread.locator("article.message")).to_have_count(0)
    assert len(chat.posts) == 1
    assert fake.requests == []
    # Shortened, it goes through and the error clears.
    chat.wait_status(chat.send("x" * 10_000), "complete")
    expect(error).to_have_text("")


def assert_visible_focus(page, selector: str) -> None:
    focused = page.locator(f"{selector}:focus-visible")
    expect(focused).to_have_count(1)
    outline = focused.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }")
    assert outline[0] != "none" and outline[1] != "0px", outline


def test_send_stop_copy_and_vote_with_the_keyboard_alone(chat, fake, page):
    tokens = [f"w{i:02d} " for i in range(80)]
    fake.enqueue(Tokens(tokens, interval=0.05))
    expect(chat.input).to_be_focused()  # autofocus: typing starts at once
    page.keyboard.type("Keyboard only")
    page.keyboard.press("Enter")
    expect(chat.replies).to_have_count(1)
    reply = chat.replies.first
    expect(reply.locator(".message-content")).to_contain_text("w03")

    # The Stop button sits just before the composer in the tab order.
    chat.press_until_focused(".stop-btn", key="Shift+Tab")
    assert_visible_focus(page, ".stop-btn")
    page.keyboard.press("Enter")
    chat.wait_status(reply, "stopped")

    # Every action button of the reply is reachable with Tab, with a visible focus ring.
    for selector in (".downvote-btn", ".upvote-btn", ".share-btn", ".copy-btn"):
        chat.press_until_focused(f"article.message.assistant {selector}", key="Shift+Tab")
        assert_visible_focus(page, f"article.message.assistant {selector}")
    page.keyboard.press("Enter")  # on the copy button
    expect(reply.locator(".copy-btn")).to_have_attribute("data-feedback", "Copied!")
    assert chat.clipboard() == chat.source(reply)

    chat.press_until_focused("article.message.assistant .upvote-btn")
    page.keyboard.press("Space")
    expect(reply.locator(".upvote-btn")).to_have_attribute("aria-pressed", "true")


# The Enter that confirms an IME composition (Japanese, Chinese, Korean input) arrives as a
# keydown with isComposing, or on some browsers only with keyCode 229: it must not send.
IME_ENTER = """([init]) => {
  const input = document.getElementById('composer-input');
  const event = new KeyboardEvent('keydown', Object.assign(
    {key: 'Enter', code: 'Enter', bubbles: true, cancelable: true}, init));
  const notCancelled = input.dispatchEvent(event);
  return {notCancelled, isComposing: event.isComposing, keyCode: event.keyCode};
}"""


@pytest.mark.parametrize("init", [{"isComposing": True}, {"keyCode": 229}],
                         ids=["isComposing", "keyCode-229"])
def test_enter_that_ends_an_ime_composition_does_not_send(chat, fake, page, init):
    chat.input.fill("にほんご")
    result = page.evaluate(IME_ENTER, [init])
    assert result["isComposing"] == init.get("isComposing", False)
    assert result["keyCode"] == init.get("keyCode", 0)
    assert result["notCancelled"]  # the IME gets its Enter
    page.wait_for_timeout(300)  # a send would have posted by now
    assert chat.posts == []
    expect(chat.thread.locator("article.message")).to_have_count(0)
    expect(chat.input).to_have_value("にほんご")

    # The same synthetic keydown without the composition flags does send.
    assert page.evaluate(IME_ENTER, [{}])["notCancelled"] is False
    chat.wait_status(chat.replies.first, "complete")
    assert [post["content"] for post in chat.posts] == ["にほんご"]
