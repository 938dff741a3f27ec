"""Message actions in a real browser, by keyboard alone: edit with ↑ and Ctrl+Enter (Esc
cancels), switch versions, regenerate, delete and undo, feedback with a reason; and another
tab of the same conversation following live."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Chat, two_windows
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser


def user_texts(chat):
    return [t.strip() for t in chat.thread.locator(
        "article.message.user .message-content").all_inner_texts()]


def test_edit_versions_regenerate_delete_undo_and_feedback_by_keyboard(page, chat, fake):
    fake.enqueue(Tokens(["first answer"]))
    chat.wait_status(chat.send("first question"), "complete")
    expect(chat.input).to_be_focused()

    # ↑ in the empty box edits the last message; Esc cancels.
    page.keyboard.press("ArrowUp")
    editor = chat.thread.locator(".edit-form textarea")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("first question")
    page.keyboard.press("Escape")
    expect(chat.thread.locator(".edit-form")).to_have_count(0)
    assert user_texts(chat) == ["first question"]

    # ↑ again, change the text, Ctrl+Enter saves and reruns.
    chat.input.focus()
    page.keyboard.press("ArrowUp")
    expect(editor).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("edited question")
    fake.enqueue(Tokens(["edited answer"], ttft=0.2))
    page.keyboard.press("Control+Enter")
    expect(chat.thread.locator("article.message.user .version-count")).to_have_text("2/2")
    assert user_texts(chat) == ["edited question"]
    reply = chat.replies.last
    chat.wait_status(reply, "complete")
    expect(reply.locator(".message-content")).to_have_text("edited answer")
    assert fake.requests[-1]["json"]["messages"] == [
        {"role": "user", "content": "edited question"}]

    # The arrows switch branches: version 1 brings back its own reply.
    chat.press_until_focused("article.message.user .version-prev")
    page.keyboard.press("Enter")
    expect(chat.thread.locator("article.message.user .version-count")).to_have_text("1/2")
    assert user_texts(chat) == ["first question"]
    expect(chat.replies.last.locator(".message-content")).to_have_text("first answer")
    expect(page.locator("article.message.user .version-next")).to_be_focused()
    page.keyboard.press("Enter")
    expect(chat.thread.locator("article.message.user .version-count")).to_have_text("2/2")

    # Regenerate the reply: a second version streams in its place.
    fake.enqueue(Tokens(["another ", "answer"], ttft=0.3, interval=0.1))
    chat.press_until_focused("article.message.assistant .regenerate-btn")
    page.keyboard.press("Enter")
    reply = chat.replies.last
    chat.wait_status(reply, "streaming")
    chat.wait_status(chat.replies.last, "complete")
    expect(chat.replies.last.locator(".message-content")).to_have_text("another answer")
    expect(chat.replies.last.locator(".version-count")).to_have_text("2/2")

    # Downvote, then say why: a reason chip and a few words.
    chat.press_until_focused("article.message.assistant .downvote-btn")
    page.keyboard.press("Enter")
    first_chip = chat.thread.locator(".message-feedback.editing input[name=reasons]").first
    expect(first_chip).to_be_focused()
    page.keyboard.press("Space")
    chat.press_until_focused(".message-feedback.editing textarea")
    page.keyboard.type("Made things up.")
    chat.press_until_focused(".message-feedback.editing .feedback-save-btn")
    page.keyboard.press("Enter")
    summary = chat.thread.locator(".message-feedback .feedback-summary")
    expect(summary).to_contain_text("Not factually correct")
    expect(summary).to_contain_text("Made things up.")

    # Delete the question (and its replies): its other version takes its place. Then Ctrl+Z
    # while the notice shows.
    chat.press_until_focused("article.message.user .delete-btn")
    page.keyboard.press("Enter")
    expect(page.locator("#toast .undo-btn")).to_be_visible()
    expect(chat.thread.locator("article.message.user .message-content")).to_have_text(
        "first question")
    expect(chat.thread.locator("article.message.user .version-count")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(chat.thread.locator("article.message.user .message-content")).to_have_text(
        "edited question")
    expect(chat.thread.locator("article.message")).to_have_count(2)
    expect(chat.replies.last.locator(".message-content")).to_have_text("another answer")

    # The page after a reload shows the same branch.
    page.reload()
    assert Chat(page).thread.locator("article.message.user .version-count").inner_text() == "2/2"


def test_another_tab_updates_live(new_context, fake):
    chat, other = two_windows(new_context, fake, "shared question", "one")
    first, second = chat.page, other.page
    # The second tab follows the conversation's events from where its page was rendered, so
    # whatever happens from now on reaches it, however soon.
    expect(second.locator("#conversation-events")).to_have_attribute(
        "hx-sse:connect", re.compile(r"^/c/\d+/events\?after="))

    # A regeneration in the first tab, by keyboard, streams into the second.
    fake.enqueue(Tokens(["two ", "streams"], ttft=0.2, interval=0.1))
    chat.press_until_focused("article.message.assistant .regenerate-btn")
    first.keyboard.press("Enter")
    expect(other.replies.last.locator(".version-count")).to_have_text("2/2")
    expect(other.replies.last.locator(".message-content")).to_have_text("two streams")
    expect(other.replies).to_have_count(1)

    # A delete in the first tab removes the messages in the second.
    chat.press_until_focused("article.message.user .delete-btn")
    first.keyboard.press("Enter")
    expect(other.thread.locator("article.message")).to_have_count(0)
    # Undo brings them back in both. Ctrl+Z undoes while the notice shows: the other tab's
    # event is published before the first tab's own response, with its notice, arrives.
    expect(first.locator("#toast.visible .undo-btn")).to_be_visible()
    first.keyboard.press("Control+z")
    expect(other.thread.locator("article.message")).to_have_count(2)
    expect(chat.thread.locator("article.message")).to_have_count(2)

    # And the other way round: a vote in the second tab shows in the first, whose channel
    # started when its first message created the conversation.
    other.press_until_focused("article.message.assistant .downvote-btn")
    second.keyboard.press("Enter")
    expect(chat.replies.last.locator(".downvote-btn")).to_have_class(re.compile(r"\bvoted\b"))
