"""Accounts in a real Chromium, by keyboard alone: a guest chats, signs up and keeps the
chats; signs out; signs in from a second browser; ends that session from the first, and the
second loses access at its next step."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Chat
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser
PASSWORD = "keyboard only secret"


def press_until_focused(page, key: str, locator, most: int = 80) -> None:
    """Press `key` (Tab or Shift+Tab) until `locator` has the focus."""
    for _ in range(most):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{most} x {key} never reached {locator}")


def sign_in(page, username: str) -> None:
    """On the sign-in page: the name field has the focus; type, Tab, type, Enter."""
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def test_guest_signs_up_keeps_chats_and_ends_another_session(page, new_context, fake):
    name = "kb" + uuid.uuid4().hex[:8]
    chat = Chat(page)
    keys = page.keyboard

    # A guest chats.
    expect(page.locator("#who .who-name")).to_have_text("Guest")
    expect(chat.input).to_be_focused()
    fake.enqueue(Tokens(["Kept ", "across ", "sign-up."]))
    keys.type("remember the guest chat")
    keys.press("Enter")
    chat.wait_status(chat.replies.nth(0), "complete")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    conversation = page.url.rsplit("/", 1)[1]

    # Sign up, from the sidebar's link (rendered with the page at "/"), and come back.
    press_until_focused(page, "Shift+Tab", page.locator('#who a[href^="/sign-up"]'))
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"/sign-up\?next="))
    expect(page.locator("#username")).to_be_focused()
    keys.type(name)
    keys.press("Tab")  # the hint is not focusable: on to the optional email
    expect(page.locator("#email")).to_be_focused()
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#who .who-name")).to_contain_text(name)
    expect(page.locator(f"#conv-{conversation}")).to_contain_text("remember the guest chat")

    # Sign out: back to the sign-in page; this browser is a new guest.
    press_until_focused(page, "Shift+Tab", page.locator('#who button:has-text("Sign out")'))
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"/sign-in$"))

    # Sign in from a second browser: the same chats.
    second = new_context().new_page()
    second.goto("/sign-in")
    sign_in(second, name)
    expect(second).to_have_url(re.compile(r"/$"))
    expect(second.locator(f"#conv-{conversation}")).to_be_visible()
    second_chat = Chat(second)

    # Sign in again in the first browser and end the second browser's session.
    sign_in(page, name)
    expect(page.locator("#who .who-name")).to_contain_text(name)
    press_until_focused(page, "Shift+Tab", page.locator('#who a[href="/account"]'))
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"/account$"))
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    other = page.locator('#sessions tbody tr:not(:has(.badge)) button')
    press_until_focused(page, "Tab", other)
    keys.press("Enter")
    expect(page.locator(".notice")).to_have_text("That session is signed out.")
    expect(rows).to_have_count(1)

    # The second browser loses access at its next step: sending leads it to sign-in.
    expect(second_chat.input).to_be_focused()
    second.keyboard.type("am I still in?")
    second.keyboard.press("Enter")
    expect(second).to_have_url(re.compile(r"/sign-in\?next=/$"))
    expect(second.locator(".notice")).to_have_text("Your session has ended. Sign in again.")
    # And signing in again brings it back to the page it was on, with the chats.
    sign_in(second, name)
    expect(second).to_have_url(re.compile(r"/$"))
    expect(second.locator(f"#conv-{conversation}")).to_be_visible()
