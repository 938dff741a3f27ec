"""What used to be script is hypermedia now, seen in a real browser: a vote is an htmx POST
whose answer is the fragment the other tabs get (both tabs update); rename is click-to-edit,
by keyboard alone; every htmx request carries the headers rendered on <body>, with each
tab's own id."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Chat, two_windows
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser


def test_a_vote_is_an_htmx_post_and_both_tabs_show_it(new_context, fake):
    chat, other = two_windows(new_context, fake, "a question", "an answer")
    first = chat.page
    programs_api = []
    first.on("request", lambda r: programs_api.append(r.url) if "/rate_message/" in r.url
             else None)
    reply_id = chat.replies.last.get_attribute("data-message-id")

    # By keyboard: Enter on the upvote button.
    first.locator("#composer-input").focus()
    chat.press_until_focused("article.message.assistant .upvote-btn", "Shift+Tab")
    with first.expect_request(f"**/messages/{reply_id}/vote") as voted:
        first.keyboard.press("Enter")
    request = voted.value
    headers = request.headers
    token = json.loads(first.locator("body").get_attribute("hx-headers:inherited"))[
        "X-CSRF-Token"]
    assert request.method == "POST" and request.post_data == "rating=1"
    assert headers["hx-request"] == "true" and headers["x-csrf-token"] == token

    # This tab: the button pressed and the form asking why, its first chip focused.
    up = chat.replies.last.locator(".upvote-btn")
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(up).to_contain_class("voted")
    chip = chat.replies.last.locator(".message-feedback.editing input[name=reasons]").first
    expect(chip).to_be_focused()
    # The other tab: the same buttons, and the offer to say why, not the form.
    other_up = other.replies.last.locator(".upvote-btn")
    expect(other_up).to_have_attribute("aria-pressed", "true")
    expect(other_up).to_contain_class("voted")
    expect(other.replies.last.locator(".feedback-edit-btn")).to_have_text("Tell us why")
    expect(other.thread.locator(".message-feedback.editing")).to_have_count(0)

    # A reason, saved in the first tab, shows in the second's summary.
    first.keyboard.press("Space")
    chat.press_until_focused(".message-feedback.editing .feedback-save-btn")
    first.keyboard.press("Enter")
    expect(other.replies.last.locator(".feedback-summary .chip.chosen")).to_have_text("Accurate")

    # Pressing the active vote clears it, in both; focus stays on the button pressed.
    chat.press_until_focused("article.message.assistant .upvote-btn", "Shift+Tab")
    first.keyboard.press("Enter")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(up).to_be_focused()
    expect(other_up).to_have_attribute("aria-pressed", "false")
    expect(other_up).not_to_contain_class("voted")
    expect(other.replies.last.locator(".feedback-summary")).to_have_count(0)

    # And the other way round: a downvote in the second tab shows in the first. Each tab
    # names itself in the header the page rendered blank for it.
    with other.page.expect_request(f"**/messages/{reply_id}/vote") as other_voted:
        other.replies.last.locator(".downvote-btn").click()
    second_tab = other_voted.value.headers["x-tab-id"]
    assert headers["x-tab-id"] and second_tab and headers["x-tab-id"] != second_tab
    expect(chat.replies.last.locator(".downvote-btn")).to_have_attribute("aria-pressed", "true")
    expect(chat.replies.last.locator(".upvote-btn")).to_have_attribute("aria-pressed", "false")
    assert programs_api == []

    # What the tabs show is what was saved.
    first.reload()
    expect(Chat(first).replies.last.locator(".downvote-btn")).to_contain_class("voted")


def test_rename_is_click_to_edit_by_keyboard_alone(page, chat, fake):
    fake.enqueue(Tokens(["hello"]))
    chat.wait_status(chat.send("Name me"), "complete")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    cid = page.url.rsplit("/", 1)[1]
    heading = page.locator("#conversation-heading")
    field = page.locator(f"#rename-input-{cid}")
    renames = []
    page.on("request", lambda r: renames.append(r.method) if r.url.endswith(
        f"/c/{cid}/rename") else None)

    # The header's Rename button, reached with Tab, asks for the form in the heading's place.
    page.keyboard.press("Control+K")
    chat.press_until_focused("#conversation-actions .rename-btn")
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    expect(heading.locator("h1")).to_have_count(0)
    old_title = field.input_value()
    # The old title is selected: typing replaces it.
    assert field.evaluate("f => [f.selectionStart, f.selectionEnd]") == [0, len(old_title)]

    # A title of spaces: the server's error shows, the form and the focus stay.
    page.keyboard.type("   ")
    page.keyboard.press("Enter")
    expect(page.locator(f"#rename-error-{cid}")).not_to_be_empty()
    expect(field).to_be_focused()

    page.keyboard.press("Control+A")
    page.keyboard.type("Renamed by keys")
    page.keyboard.press("Enter")
    expect(heading.locator("h1")).to_have_text("Renamed by keys")
    expect(page.locator(".rename-form")).to_have_count(0)
    expect(page.locator(f"#conv-{cid}-title")).to_have_text("Renamed by keys")
    expect(page.locator(f"#conv-{cid} .conversation-link")).to_be_focused()

    # Open it again and change your mind: Esc puts the heading back, and nothing is saved.
    posts_before = renames.count("POST")
    chat.press_until_focused("#conversation-actions .rename-btn")
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    expect(field).to_have_value("Renamed by keys")
    page.keyboard.type("Not this one")
    page.keyboard.press("Escape")
    expect(heading.locator("h1")).to_have_text("Renamed by keys")
    expect(page.locator(".rename-form")).to_have_count(0)
    expect(page.locator("#conversation-actions .rename-btn")).to_be_focused()
    assert renames.count("POST") == posts_before
    assert renames.count("GET") == 2  # the form, each time it was asked for

    page.reload()
    expect(page.locator("#conversation-title")).to_have_text("Renamed by keys")
