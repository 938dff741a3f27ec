"""A tour of every page and state a person sees, for `make screenshots` and the browser tests
that check each of them (hit-testing, horizontal scroll, axe-core).

`tour(page, fake)` drives one fresh person's page through the states in order and yields each
state's name once it is showing; the caller looks (a screenshot) or checks, then the tour goes
on. `fake` is the fake upstream (tests/fake_upstream.py) whose queue answers the replies.
"""

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import expect

from tests import files_helpers
from tests.fake_upstream import Tokens

STATES = ("new-chat", "conversation", "composer-files", "files-on-bubble", "streaming",
          "reasoning", "edit-form", "versions",
          "feedback-form", "model-picker", "help-dialog", "search-results", "drawer",
          "list-actions", "settings",
          "usage", "analytics", "activity", "share-page", "undo-toast", "trash",
          "sign-in", "sign-up", "account", "admin", "group-room", "members-panel")

CODE_AND_TABLE = """Here is a small table and some Python:

| Setting | Meaning | Default | Where it is read | Notes that make this table wider than a phone |
|---|---|---|---|---|
| `OPENROUTER_API_KEY` | the provider key | none | config.py | keep it secret |
| `DEFAULT_MODEL` | the model that answers | openai/gpt-4o-mini | config.py | any model id |

```python
def fibonacci(n: int) -> list[int]:
    \"\"\"The first n Fibonacci numbers: a line long enough to scroll sideways on a phone.\"\"\"
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:n]
```

That is all: **bold**, `inline code` and a [link](https://example.org).
"""


def words(text: str) -> list[str]:
    import re
    return re.findall(r"\s*\S+|\s+", text)


def narrow(page) -> bool:
    return page.viewport_size["width"] <= 768


def show_sidebar(page) -> None:
    """At phone width, open the drawer (the sidebar is always there on a desktop)."""
    if narrow(page) and not page.locator("#layout.sidebar-open").count():
        page.locator(".sidebar-toggle").click()
        expect(page.locator("#sidebar")).to_be_visible()


def send(page, text: str) -> None:
    replies = page.locator("#thread article.message.assistant")
    before = replies.count()
    page.locator("#composer-input").fill(text)
    page.locator("#composer-input").press("Enter")
    expect(replies).to_have_count(before + 1)


def settled(page) -> None:
    """No reply streaming, and the last reply's action bar in place."""
    expect(page.locator('.message-body[data-status="streaming"]')).to_have_count(0)
    expect(page.locator("#thread article.message.assistant .copy-btn").last).to_be_visible()


def tour(page, fake) -> Iterator[str]:
    page.goto("/")
    page.wait_for_function("() => window.htmx !== undefined")
    yield "new-chat"

    fake.enqueue(Tokens(words(CODE_AND_TABLE)))
    send(page, "Show me a small table and some Python code")
    settled(page)
    conversation_url = page.url
    yield "conversation"

    # Files in the composer: two read (a PDF with its preview open, an image by OCR) and one
    # refused (a program named .pdf); then sent, on the bubble.
    folder = Path(tempfile.mkdtemp(prefix="tour-files-"))
    (folder / "quarterly-report-2026.pdf").write_bytes(
        files_helpers.text_pdf(["Revenue grew 12% to 42 million", "Costs were flat"]))
    (folder / "whiteboard.png").write_bytes(files_helpers.png(["Ship the files feature",
                                                               "by Friday"]))
    (folder / "setup.pdf").write_bytes(b"MZ\x90\x00" + b"\x00" * 400)
    page.locator("#attach-input").set_input_files([str(p) for p in sorted(folder.iterdir())])
    chips = page.locator("#attachments .chip")
    expect(chips.filter(has_text="quarterly")).to_have_attribute("data-status", "ready")
    expect(chips.filter(has_text="whiteboard")).to_have_attribute("data-status", "ready")
    expect(chips.filter(has_text="setup.pdf")).to_have_attribute("data-status", "error")
    chips.filter(has_text="quarterly").locator("summary").click()
    page.locator("#composer-input").fill("What changed this quarter?")
    # The thread makes room for the taller composer (static/attachments.js) on its next frame.
    page.wait_for_function("() => innerHeight + scrollY >= document.body.scrollHeight - 2 && "
                           "getComputedStyle(document.documentElement)"
                           ".getPropertyValue('--composer-height') === "
                           "document.getElementById('composer').offsetHeight + 'px'")
    yield "composer-files"
    chips.filter(has_text="setup.pdf").locator(".chip-remove").click()
    fake.enqueue(Tokens(words("Revenue grew by 12%, to 42 million; costs were flat.")))
    send(page, "What changed this quarter?")
    settled(page)
    yield "files-on-bubble"

    fake.enqueue(Tokens(words(CODE_AND_TABLE * 2), interval=0.15))
    send(page, "And once more, slowly")
    streaming = page.locator('.message-body[data-status="streaming"] .message-content')
    expect(streaming).not_to_be_empty()
    page.wait_for_timeout(1500)
    yield "streaming"
    page.locator(".stop-btn").click()
    settled(page)

    fake.enqueue(Tokens(words("The answer is **42**."),
                        reasoning=words("First, recall the question. Then weigh the options: "
                                        "six times seven is forty-two.")))
    send(page, "What is six times seven? Think first.")
    settled(page)
    page.locator("#thread article.message.assistant .thought summary").last.click()
    yield "reasoning"

    page.locator("#thread article.message.user .edit-btn").last.click()
    expect(page.locator(".edit-form")).to_be_visible()
    yield "edit-form"
    page.locator(".edit-form textarea").press("Escape")
    expect(page.locator(".edit-form")).to_have_count(0)

    fake.enqueue(Tokens(words("Forty-two, as before.")))
    page.locator("#thread article.message.assistant .regenerate-btn").last.click()
    expect(page.locator("#thread article.message.assistant .versions").last).to_contain_text("2")
    settled(page)
    yield "versions"

    page.locator("#thread article.message.assistant .downvote-btn").last.click()
    expect(page.locator(".message-feedback.editing")).to_be_visible()
    yield "feedback-form"

    page.locator(".model-picker-button").click()
    expect(page.locator("#model-picker .model-option").first).to_be_visible()
    yield "model-picker"
    page.keyboard.press("Escape")
    expect(page.locator("#model-picker")).not_to_be_visible()

    page.locator("#composer-input").focus()
    page.keyboard.press("Control+/")
    expect(page.locator("#help-dialog")).to_be_visible()
    yield "help-dialog"
    page.keyboard.press("Escape")

    show_sidebar(page)
    page.locator("#search-input").fill("Python")
    expect(page.locator(".search-hit").first).to_be_visible()
    yield "search-results"
    page.locator("#search-input").fill("")
    expect(page.locator(".search-hit")).to_have_count(0)

    if narrow(page):
        yield "drawer"

    # A conversation's own actions, shown by keyboard focus on its link (and by hover).
    show_sidebar(page)
    page.locator("#conversation-list .conversation-link").first.focus()
    expect(page.locator("#conversation-list .item-trash-btn").first).to_be_visible()
    yield "list-actions"

    conversation_id = conversation_url.rstrip("/").split("/")[-1].split("#")[0].split("?")[0]
    page.goto(f"/c/{conversation_id}/settings")
    yield "settings"
    page.goto("/usage")
    yield "usage"
    page.goto("/analytics")
    yield "analytics"
    page.goto(f"/c/{conversation_id}/activity")
    yield "activity"

    page.goto(conversation_url)
    share = page.locator("#thread article.message.assistant .share-btn").last
    share.click()
    expect(page.locator("#share-status")).to_contain_text("Shared")
    share_id = page.locator("#thread").get_attribute("data-conversation-share-id") \
        or share.get_attribute("data-conversation-share-id")
    page.goto(f"/share/{share_id}")
    yield "share-page"

    page.goto(conversation_url)
    page.locator("#conversation-actions .trash-btn").click()
    expect(page.locator("#toast.visible .undo-btn")).to_be_visible()
    yield "undo-toast"

    page.goto("/conversations?view=trash")
    show_sidebar(page)
    expect(page.locator("#conversation-list .conversation-item")).to_have_count(1)
    yield "trash"

    page.goto("/sign-in")
    yield "sign-in"
    page.goto("/sign-up")
    yield "sign-up"
    # The guest signs up: the first account is the admin, and the guest's chats come along.
    # A name of its own: the tour runs several times against one server.
    name = f"tourist{uuid.uuid4().hex[:8]}"
    page.locator("#username").fill(name)
    page.locator("#password").fill("a long enough tour password")
    page.locator("#password").press("Enter")
    expect(page.locator(".who-name")).to_contain_text(name)
    page.goto("/account")
    yield "account"
    # Only the server's first account is an admin: later tours on the same server are not.
    if page.goto("/admin").status == 200:
        yield "admin"

    yield from group_room(page, fake)


def group_room(page, fake) -> Iterator[str]:
    """The signed-in person makes a group room and invites a friend (an account signed up
    in a second browser context), who writes and asks the AI."""
    fake.enqueue(Tokens(words("Happy to help you both plan it.")))
    page.goto("/")
    send(page, "Shall we plan the trip together?")
    settled(page)
    room_url = page.url
    page.locator("#members-summary").click()
    page.get_by_role("button", name="Group room").click()
    expect(page.locator("#members-summary .mode-badge")).to_have_text("group")
    origin = room_url.split("/c/")[0]
    friend = page.context.browser.new_context(base_url=origin,
                                              viewport=page.viewport_size)
    try:
        name = f"friend_{uuid.uuid4().hex[:6]}"
        token = friend.request.get("/api/v1/auth/me").json()["csrf_token"]
        assert friend.request.post("/api/v1/auth/register", headers={"X-CSRF-Token": token},
                                   data={"username": name,
                                         "password": "a long enough tour password"}).ok
        page.locator("#members-summary").click()
        page.locator("#invite-username").fill(name)
        page.get_by_role("button", name="Invite", exact=True).click()
        expect(page.locator("#members-panel .member-name", has_text=name)).to_be_visible()
        page.locator("#members-summary").click()  # closed again
        other = friend.new_page()
        other.goto(room_url)
        other.locator("#composer-input").fill("I can book the train for Saturday.")
        other.locator("#composer-input").press("Enter")
        expect(page.locator("#thread article.message.user", has_text="book the train")
               ).to_be_visible()
        fake.enqueue(Tokens(words("Saturday works: the 9:10 train gets you there by noon.")))
        other.locator("#composer-input").fill("@ai which train should we take?")
        other.locator("#composer-input").press("Enter")
        expect(page.locator("#thread article.message.assistant")).to_have_count(2)
        settled(page)
        yield "group-room"
        page.locator("#members-summary").click()
        expect(page.locator("#members-body")).to_be_visible()
        yield "members-panel"
    finally:
        friend.close()
