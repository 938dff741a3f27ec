"""Focus survives the swaps that replace the focused element (keyboard only)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import import_conversation

pytestmark = pytest.mark.browser


def link(page, conversation_id: str):
    return page.locator(f"#conv-{conversation_id} .conversation-link")


def tab_in_header_to(chat, locator) -> None:
    """F2 then Esc lands on the header's rename button; Tab on from there."""
    chat.page.keyboard.press("F2")
    chat.page.keyboard.press("Escape")
    expect(chat.page.locator("#conversation-actions .rename-btn")).to_be_focused()
    chat.press_until_focused(locator)


def two_conversations(page, **options) -> tuple[str, str]:
    """Two conversations, listed newest first: (top, bottom)."""
    bottom = import_conversation(page, "Bottom one", [("user", "bottom question")], **options)
    top = import_conversation(page, "Top one", [("user", "top question")], **options)
    page.reload()
    return top, bottom


def test_a_list_reload_keeps_focus_on_the_same_conversation(page, chat):
    top, bottom = two_conversations(page)
    page.keyboard.press("Control+K")
    chat.press_until_focused(link(page, bottom), "ArrowDown")
    old = link(page, bottom).element_handle()
    page.evaluate("htmx.trigger(document.body, 'conversations-changed')")  # as after an Undo
    page.wait_for_function("el => !el.isConnected", arg=old)
    expect(link(page, bottom)).to_be_focused()


def test_restore_in_the_trash_view_moves_focus_to_the_next_item_then_to_search(page, chat):
    top, bottom = two_conversations(page)
    page.keyboard.press("Control+K")
    chat.press_until_focused(link(page, top), "ArrowDown")
    page.keyboard.press("Delete")
    expect(link(page, bottom)).to_be_focused()
    page.keyboard.press("Delete")
    expect(page.locator("#search-input")).to_be_focused()

    chat.press_until_focused(page.locator('#view-tabs .tab[data-view="trash"]'))
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-list")).to_have_attribute("data-view", "trash")
    first_restore = page.locator("#conversation-list .restore-btn").first
    restored = page.locator("#conversation-list .conversation-item").first.get_attribute(
        "data-conversation-id")
    remaining = top if restored == bottom else bottom
    chat.press_until_focused(first_restore)
    page.keyboard.press("Enter")
    expect(page.locator(f"#conv-{restored}")).to_have_count(0)
    expect(link(page, remaining)).to_be_focused()

    chat.press_until_focused(page.locator(f"#conv-{remaining} .restore-btn"))
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-list .empty-list")).to_be_visible()
    expect(page.locator("#search-input")).to_be_focused()


def test_unarchive_from_the_header_focuses_the_archive_button_that_replaces_it(page, chat):
    conversation = import_conversation(page, "Archived one", [("user", "old question")],
                                       archived=True)
    page.goto(f"/c/{conversation}")
    tab_in_header_to(chat, page.locator("#conversation-actions .unarchive-btn"))
    page.keyboard.press("Enter")
    expect(page.locator("#toast")).to_contain_text("Moved back to your chats.")
    expect(page.locator("#conversation-actions .archive-btn")).to_be_focused()
    expect(link(page, conversation)).to_be_visible()


def test_trash_from_the_header_then_ctrl_z_focuses_the_restored_conversation(page, chat):
    top, bottom = two_conversations(page)
    page.goto(f"/c/{bottom}")
    tab_in_header_to(chat, page.locator("#conversation-actions .trash-btn"))
    page.keyboard.press("Enter")
    expect(page.locator(f"#conv-{bottom}")).to_have_count(0)
    expect(page.locator("#conversation-actions .restore-btn")).to_be_focused()
    page.keyboard.press("Control+Z")
    expect(link(page, bottom)).to_be_focused()
    expect(page.locator("#conversation-actions .trash-btn")).to_be_visible()


def test_ctrl_z_in_a_field_with_text_is_the_field_s_own_undo(page, chat):
    top, bottom = two_conversations(page)
    page.keyboard.press("Control+K")
    chat.press_until_focused(link(page, top), "ArrowDown")
    page.keyboard.press("Delete")
    expect(page.locator("#toast .undo-btn")).to_be_visible()
    page.keyboard.press("Control+K")
    page.keyboard.type("xyz")
    page.keyboard.press("Control+Z")  # undoes the typing, not the Delete
    page.wait_for_timeout(300)  # an Undo request, had there been one, would be back by now
    expect(page.locator(f"#conv-{top}")).to_have_count(0)
    expect(page.locator("#count-trash")).to_have_text("1")
    expect(page.locator("#search-input")).to_be_focused()
