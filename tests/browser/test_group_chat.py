"""A group chat in a real Chromium: three signed-in people in three browser contexts. Alice
makes a group room, invites Bob by username and Carol by link; all three write and see each
other's messages arrive live with their authors; Bob asks the AI and all three watch the
reply stream; each votes on it as they please, and Alice's regeneration and return to the
first version leave each page showing its own person's vote; Alice removes Carol and Carol's
page loses the room at once. Once on one
server, once across two workers (PostgreSQL and Redis), Bob on the other worker."""

import secrets

import pytest
from playwright.sync_api import expect

from tests.accounts_helpers import PASSWORD
from tests.browser.conftest import RECORD_STREAM_JS, TIMEOUT_MS, numbered
from tests.browser.test_workers import workers  # noqa: F401 - the two-worker fixture
from tests.fake_upstream import Tokens


def signed_in(make_context, base_url: str, name: str):
    """A new person's page, signed up through the API (no sign-up page to load)."""
    context = make_context()
    me = context.request.get(f"{base_url}/api/v1/auth/me").json()
    response = context.request.post(f"{base_url}/api/v1/auth/register",
                                    data={"username": name, "password": PASSWORD},
                                    headers={"X-CSRF-Token": me["csrf_token"]})
    assert response.ok, response.text()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def write(page, text: str) -> None:
    page.locator("#composer-input").fill(text)
    page.locator("#composer-input").press("Enter")


def bubble(page, text: str):
    return page.locator("#thread article.message.user", has_text=text)


def votes(page, reply) -> tuple[str, str]:
    """(up, down) aria-pressed of a reply's vote buttons on one page."""
    return (reply.locator(".upvote-btn").get_attribute("aria-pressed"),
            reply.locator(".downvote-btn").get_attribute("aria-pressed"))


def group_chat(make_context, fake, url_a: str, url_b: str, shots=None) -> None:
    tag = secrets.token_hex(3)
    alice_name, bob_name, carol_name = (f"{n}_{tag}" for n in ("alice", "bob", "carol"))
    alice = signed_in(make_context, url_a, alice_name)
    bob = signed_in(make_context, url_b, bob_name)
    carol = signed_in(make_context, url_a, carol_name)

    # Alice starts a chat (solo: the AI answers), then makes it a group room.
    fake.enqueue(Tokens(["Hello ", "Alice."]))
    alice.goto(f"{url_a}/")
    write(alice, "Welcome, everyone")
    expect(alice.locator("#thread article.message.assistant .message-content")).to_have_text(
        "Hello Alice.")
    alice.locator("#members-summary").click()
    alice.get_by_role("button", name="Group room").click()
    expect(alice.locator("#members-summary .mode-badge")).to_have_text("group")
    room = alice.url.removeprefix(url_a)

    # Bob by username, Carol by link.
    alice.locator("#members-summary").click()
    alice.locator("#invite-username").fill(bob_name)
    alice.get_by_role("button", name="Invite", exact=True).click()
    expect(alice.locator("#members-panel .member-name", has_text=bob_name)).to_be_visible()
    alice.get_by_role("button", name="Make invite link").click()
    link = alice.locator("#new-invite-link").input_value()
    carol.goto(link)
    carol.locator("#join-btn").click()
    expect(carol).to_have_url(f"{url_a}{room}")
    bob.goto(f"{url_b}{room}")
    for page in (alice, bob, carol):
        # Carol's joining reached Alice's open page live; everyone's lists say three.
        expect(page.locator("#members-summary .members-count")).to_have_text("3 people")
        page.evaluate(RECORD_STREAM_JS)

    # All three write; each message reaches the others with its author, on their side.
    for writer, name, text in ((bob, bob_name, "Hi from Bob"), (carol, carol_name, "Carol here"),
                               (alice, alice_name, "Glad you came")):
        write(writer, text)
        for page in (alice, bob, carol):
            message = bubble(page, text)
            expect(message.locator(".author-name")).to_have_text(name)
            expect(message).to_have_class("message user mine" if page is writer
                                          else "message user")
    # Not addressed: no reply was asked for.
    expect(alice.locator("#thread article.message.assistant")).to_have_count(1)

    # Bob asks the AI; all three watch the same reply stream in.
    tokens = numbered(24)
    fake.enqueue(Tokens(tokens, interval=0.05))
    bob.locator("#composer-input").fill("What should we plan?")
    bob.get_by_role("button", name="Ask AI").click()
    for page in (alice, bob, carol):
        reply = page.locator("#thread article.message.assistant").nth(1)
        expect(reply.locator(".author-asker")).to_have_text(f"asked by {bob_name}")
        expect(reply.locator(".message-content")).to_have_text("".join(tokens).strip())
        states = page.evaluate("Object.values(window.__streamStates)")
        assert any(len(s) > 2 for s in states), "the reply did not stream on this page"
    assert fake.requests[-1]["json"]["messages"][-1]["content"] == (
        f"{bob_name}: What should we plan?")

    # Bob votes the reply up, then Alice down: each page keeps its own person's vote.
    reply = {page: page.locator("#thread article.message.assistant").nth(1)
             for page in (alice, bob)}
    reply[bob].locator(".upvote-btn").click()
    expect(reply[bob].locator(".upvote-btn")).to_have_attribute("aria-pressed", "true")
    reply[alice].locator(".downvote-btn").click()
    expect(reply[alice].locator(".downvote-btn")).to_have_attribute("aria-pressed", "true")
    # Alice regenerates it, then goes back to the first version: the bubble she brings back
    # is pushed to every page, and each loads its own person's vote into it.
    fake.enqueue(Tokens(["Another ", "plan."]))
    reply[alice].locator(".regenerate-btn").click()
    for page in (alice, bob):
        expect(reply[page].locator(".version-count")).to_have_text("2/2")
        expect(reply[page].locator(".message-content")).to_have_text("Another plan.")
    reply[alice].locator(".version-prev").click()
    for page, vote in ((alice, ("false", "true")), (bob, ("true", "false"))):
        expect(reply[page].locator(".version-count")).to_have_text("1/2")
        expect(reply[page].locator(".vote-reload")).to_have_count(0)
        expect(reply[page].locator(".upvote-btn")).to_have_attribute("aria-pressed", vote[0])
        assert votes(page, reply[page]) == vote
    expect(reply[bob].locator(".upvote-btn.voted")).to_be_visible()
    if shots is not None:
        bob.set_viewport_size({"width": 1280, "height": 800})
        reply[bob].scroll_into_view_if_needed()
        bob.screenshot(path=str(shots / "group-own-vote-bob.png"))

    # Alice removes Carol: Carol's page loses the room there and then.
    carol_row = alice.locator("#members-panel .member", has_text=carol_name)
    carol_row.locator(".remove-member-btn").click()
    expect(alice.locator("#members-summary .members-count")).to_have_text("2 people")
    expect(carol.locator(".access-lost h2")).to_have_text("You are no longer in this room")
    expect(carol.locator("#thread")).to_have_count(0)
    expect(bob.locator("#members-summary .members-count")).to_have_text("2 people")
    response = carol.request.get(f"{url_a}{room}")
    assert response.status == 404


@pytest.mark.browser
def test_three_people_in_a_group_room(new_context, fake, live_server, tmp_path):
    group_chat(new_context, fake, live_server.url, live_server.url, shots=tmp_path)


@pytest.mark.browser
@pytest.mark.postgres
def test_three_people_in_a_group_room_across_two_workers(new_context, upstream, workers):  # noqa: F811
    upstream._queue.clear()
    group_chat(new_context, upstream, workers[0], workers[1])
