"""Models and usage in a real browser: pick a model with the keyboard alone, send, see it in
the reply's metadata and the cost on the dashboard; a refused send shows why."""

import re

import pytest
from playwright.sync_api import expect

from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser


def test_pick_a_model_by_keyboard_send_and_see_model_and_cost(chat, fake, page):
    fake.enqueue(Tokens(["Bonjour", "!"], model="anthropic/claude-sonnet-4.5",
                        prompt_tokens=1000, cost="0.0123"))
    chat.input.focus()
    page.keyboard.press("Control+Shift+M")
    dialog = page.locator("#model-picker")
    expect(dialog).to_be_visible()
    search = page.locator("#model-search")
    expect(search).to_be_focused()
    page.keyboard.type("claude")
    option = page.locator('#model-list [data-model-id="anthropic/claude-sonnet-4.5"]')
    expect(option).to_be_visible()
    expect(page.locator("#model-list [role=option]")).to_have_count(1)
    expect(option).to_have_class(re.compile(r"\bactive\b"))
    expect(option).to_contain_text("1,000,000 tokens context")
    expect(option).to_contain_text("$3 in / $15 out per 1M tokens")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(chat.input).to_be_focused()
    expect(page.locator("#model-picker-button")).to_contain_text("Anthropic: Claude Sonnet 4.5")

    reply = chat.wait_status(chat.send("Salut"), "complete")
    assert chat.posts[-1]["model"] == "anthropic/claude-sonnet-4.5"
    assert fake.requests[-1]["json"]["model"] == "anthropic/claude-sonnet-4.5"
    meta = reply.locator(".message-metadata .meta-model")
    expect(meta).to_contain_text("claude-sonnet-4.5")
    # The override was for that message only: the button is back to the default.
    expect(page.locator("#model-picker-button")).to_contain_text("OpenAI: GPT-4o-mini")
    expect(page.locator("#conversation-usage .usage-total")).to_have_text(
        "1,002 tokens · $0.0123")

    page.locator("#quota a", has_text="Usage").click()
    expect(page).to_have_url(re.compile(r"/usage$"))
    expect(page.locator("#usage-today-cost")).to_have_text("$0.0123")
    expect(page.locator('#tokens-title ~ figure svg rect[data-model="anthropic/claude-sonnet-4.5"]')
           ).to_have_count(1)
    expect(page.locator("#top-models tbody tr").first).to_contain_text(
        "anthropic/claude-sonnet-4.5")


def test_picker_keys_move_and_escape_closes_without_choosing(chat, fake, page):
    page.keyboard.press("Control+Shift+M")
    expect(page.locator("#model-search")).to_be_focused()
    first = page.locator("#model-list [role=option]").first
    expect(first).to_have_class(re.compile(r"\bactive\b"))
    page.keyboard.press("ArrowDown")
    second = page.locator("#model-list [role=option]").nth(1)
    expect(second).to_have_class(re.compile(r"\bactive\b"))
    page.keyboard.press("Escape")
    expect(page.locator("#model-picker")).to_be_hidden()
    expect(chat.input).to_be_focused()
    expect(page.locator("#model-override")).to_have_value("")


def test_spent_budget_refuses_the_send_visibly(chat, fake, page):
    page.goto("/usage")
    page.locator("#budget-tokens").fill("10")
    page.locator(".budget-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/usage$"))
    page.goto("/")
    fake.enqueue(Tokens(["Hello", " world"], prompt_tokens=11))
    chat.wait_status(chat.send("first"), "complete")
    expect(page.locator("#quota")).to_contain_text("Today's budget is spent")
    chat.input.fill("second")
    chat.input.press("Enter")
    expect(page.locator("#alerts")).to_contain_text("Today's budget is spent")
    expect(page.locator("#alerts")).to_contain_text("resets at midnight UTC")
    expect(chat.input).to_have_value("second")
    expect(chat.replies).to_have_count(1)
