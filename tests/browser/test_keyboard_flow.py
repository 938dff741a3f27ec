"""The whole conversations flow by keyboard alone: no click, no programmatic focus.

Every step presses keys the way a person would and then checks where the focus is: on the
element that makes sense, shown (:focus-visible), and never dropped on <body> by a swap.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Chat
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser

# What the help dialog must list: every shortcut of the issue, as its <kbd> keys read.
SHORTCUTS = ["Ctrl+Shift+O", "Ctrl+K", "/", "↑ ↓", "Enter", "F2", "Delete", "Ctrl+Z",
             "Ctrl+Shift+S", "Shift+Esc", "Ctrl+/", "Shift+Enter", "Esc"]

FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {visible: el.matches(':focus-visible'),
          shown: !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)};
}"""


def expect_focus(page, locator) -> None:
    """`locator` has the focus, and shows it."""
    expect(locator).to_be_focused()
    state = page.evaluate(FOCUS_JS)
    assert state is not None, "focus fell back to <body>"
    assert state == {"visible": True, "shown": True}, state


def link(page, conversation_id: str):
    return page.locator(f"#conv-{conversation_id} .conversation-link")


def new_chat(page) -> None:
    """Ctrl+Shift+O, then wait until the new pane has replaced the old one."""
    pane = page.locator("#main").element_handle()
    page.keyboard.press("Control+Shift+O")
    page.wait_for_function("pane => !pane.isConnected", arg=pane)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#thread article.message")).to_have_count(0)


def send(page, chat: Chat, text: str) -> str:
    """Type `text` in the focused composer, press Enter, wait for the whole reply; return the
    conversation's id."""
    expect_focus(page, chat.input)
    before = chat.replies.count()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(chat.replies).to_have_count(before + 1)
    chat.wait_status(chat.replies.nth(before), "complete")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    return page.url.rsplit("/", 1)[1]


def test_whole_flow_by_keyboard_alone(page, chat, fake):
    keys = page.keyboard
    toast = page.locator("#toast")
    items = page.locator("#conversation-list .conversation-item")

    # New chat, send, and wait for the reply.
    expect_focus(page, chat.input)
    new_chat(page)
    expect_focus(page, chat.input)
    fake.enqueue(Tokens(["The ", "zephyr ", "answer."]))
    first = send(page, chat, "alpha bravo")
    expect(link(page, first)).to_be_visible()

    # A second conversation.
    new_chat(page)
    expect(page.locator("#conversation-id")).to_have_value("")
    expect_focus(page, chat.input)
    second = send(page, chat, "charlie delta")
    assert second != first
    expect(items).to_have_count(2)

    # Search for a word of the first conversation's reply and open the hit at its message.
    keys.press("Control+K")
    search = page.locator("#search-input")
    expect_focus(page, search)
    keys.type("zephyr")
    hit = page.locator(".search-hit a")
    expect(hit).to_have_count(1)
    message_id = hit.get_attribute("data-message-id")
    keys.press("ArrowDown")
    expect_focus(page, hit)
    keys.press("Enter")
    expect(page).to_have_url(re.compile(rf"/c/{first}\?m={message_id}#m-{message_id}$"))
    expect(page.locator("#main")).to_have_attribute("data-conversation-id", first)
    target = page.locator(f"#msg-{message_id}")
    expect(target).to_contain_class("highlight")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("zephyr")
    expect_focus(page, hit)

    # F2 renames the open conversation; Enter saves.
    title = page.locator("#conversation-title")
    keys.press("F2")
    rename_input = page.locator(f"#rename-input-{first}")
    expect_focus(page, rename_input)
    keys.type("Renamed by keyboard")  # the old title was selected: typing replaces it
    keys.press("Enter")
    expect(title).to_have_text("Renamed by keyboard")
    expect(page.locator(f"#conv-{first}-title")).to_have_text("Renamed by keyboard")
    expect_focus(page, link(page, first))

    # F2 then Esc: nothing changes, and focus lands on the rename button.
    keys.press("F2")
    expect_focus(page, page.locator(f"#rename-input-{first}"))
    keys.type("Not this")
    keys.press("Escape")
    expect(title).to_have_text("Renamed by keyboard")
    expect(title).to_be_visible()
    expect(page.locator(".rename-form")).to_be_hidden()
    expect_focus(page, page.locator("#conversation-actions .rename-btn"))

    # Archive from the header (Tab to the button, Enter); Ctrl+Z undoes it.
    chat.press_until_focused(page.locator("#conversation-actions .archive-btn"))
    expect_focus(page, page.locator("#conversation-actions .archive-btn"))
    keys.press("Enter")
    expect(page.locator(f"#conv-{first}")).to_have_count(0)
    expect(toast).to_contain_text("Archived.")
    # Its 10 s timer runs although the button that asked for it was swapped away.
    expect(toast).to_have_attribute("data-armed", "1")
    expect(page.locator("#count-archived")).to_have_text("1")
    expect_focus(page, page.locator("#conversation-actions .unarchive-btn"))
    keys.press("Control+Z")
    expect(toast).to_contain_text("Moved back to your chats.")
    expect(link(page, first)).to_be_visible()
    expect(page.locator("#count-archived")).to_have_text("0")
    expect_focus(page, link(page, first))
    expect(page.locator("#conversation-actions .archive-btn")).to_be_visible()

    # Delete on a list item moves it to the trash; focus goes to its neighbour; Ctrl+Z
    # brings it back and focus returns to it.
    other = link(page, second)
    keys.press("Delete")
    expect(page.locator(f"#conv-{first}")).to_have_count(0)
    expect(toast).to_contain_text("Moved to the trash.")
    expect(toast.locator(".undo-btn")).to_be_visible()
    expect(page.locator("#count-trash")).to_have_text("1")
    expect_focus(page, other)
    keys.press("Control+Z")
    expect(toast).to_contain_text("Restored.")
    expect(items).to_have_count(2)
    expect(page.locator("#count-trash")).to_have_text("0")
    expect_focus(page, link(page, first))

    # Delete every item: after the last one focus goes to the (empty) search box, and
    # Ctrl+Z still undoes from there.
    keys.press("Control+K")
    keys.press("Backspace")
    expect(page.locator("#search-results")).to_be_empty()
    keys.press("ArrowDown")
    expect_focus(page, items.first.locator(".conversation-link"))
    last_id = items.last.get_attribute("data-conversation-id")
    keys.press("Delete")
    expect(items).to_have_count(1)
    expect_focus(page, link(page, last_id))
    keys.press("Delete")
    expect(items).to_have_count(0)
    expect(page.locator("#count-trash")).to_have_text("2")
    expect_focus(page, search)
    expect(search).to_have_value("")
    keys.press("Control+Z")
    expect(items).to_have_count(1)
    expect(page.locator("#count-trash")).to_have_text("1")
    expect_focus(page, link(page, last_id))

    # Ctrl+/ opens the help, which lists every shortcut; Esc closes it and focus returns.
    keys.press("Control+/")
    dialog = page.locator("#help-dialog")
    expect(dialog).to_be_visible()
    listed = dialog.locator("dt").evaluate_all(
        "dts => dts.map(dt => dt.textContent.replace(/\\s+/g, ' ').trim())")
    listed_keys = {part.strip() for entry in listed for part in entry.split(" or ")}
    assert set(SHORTCUTS) <= listed_keys, sorted(set(SHORTCUTS) - listed_keys)
    keys.press("Escape")
    expect(dialog).to_be_hidden()
    expect_focus(page, link(page, last_id))

    # Ctrl+Shift+S hides the sidebar (focus leaves it for the composer) and shows it again.
    sidebar = page.locator("#sidebar")
    keys.press("Control+Shift+S")
    expect(sidebar).to_be_hidden()
    expect_focus(page, chat.input)
    keys.press("Control+Shift+S")
    expect(sidebar).to_be_visible()

    # `/` types a slash in the composer, but focuses search from anywhere else.
    keys.press("/")
    expect(chat.input).to_have_value("/")
    expect_focus(page, chat.input)
    keys.press("Backspace")
    keys.press("Tab")  # the Send button
    expect_focus(page, page.locator("#composer .send-btn"))
    keys.press("/")
    expect_focus(page, search)
    expect(search).to_have_value("")

    # Shift+Esc goes back to the composer from anywhere.
    keys.press("Shift+Escape")
    expect_focus(page, chat.input)
