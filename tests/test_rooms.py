"""Group chats over HTTP: who may do what in a room (one test per permission), membership
(usernames, invite links, roles, removal, leaving, the mode's cap), the live channel for
each member, when the AI answers and who pays. On SQLite and PostgreSQL (the fixtures)."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from hyperchat.store.schema import (
    Conversation,
    ConversationMember,
    InviteLink,
    Message,
    MessageFeedback,
    Mode,
    Role,
    UsageRecord,
    User,
)
from tests.accounts_helpers import register
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, finished, new_id, parse_sse, send, soup


async def person(app, name: str) -> CsrfClient:
    """A signed-up account's client, with its `user_id` and `owner` string."""
    client = app.test_client()
    response = await register(client, name)
    assert response.status_code in (200, 201), await response.get_data(as_text=True)
    signed = CsrfClient(client)
    signed.user_id = (await User.get(username=name)).id
    signed.owner = f"u:{signed.user_id}"
    return signed


@pytest.fixture
async def room(app, fake_upstream):
    """A group room of alice (owner) and bob (member), carol an account outside it, with one
    exchange: (alice, bob, carol, conversation id, alice's message id, the reply's id)."""
    alice, bob, carol = [await person(app, n) for n in ("alice", "bob", "carol")]
    fake_upstream.enqueue(Tokens(["hello"]))
    q, a = new_id(await (await send(alice, "hi all")).get_data(as_text=True))
    await finished(a)
    cid = (await Message.get(id=q)).conversation_id
    assert (await alice.put(f"/conversations/{cid}", json={"mode": "group"})).status_code == 200
    response = await alice.post(f"/api/conversations/{cid}/members", json={"username": "bob"})
    assert response.status_code == 201, await response.get_data(as_text=True)
    return alice, bob, carol, cid, q, a


def htmx(**extra):
    return {"HX-Request": "true", **extra}


# ------------------------------------------------------------------ permissions, one each


async def test_only_members_read_a_room(room):
    alice, bob, carol, cid, q, a = room
    assert (await bob.get(f"/c/{cid}")).status_code == 200
    for path in (f"/c/{cid}", f"/c/{cid}/events", f"/c/{cid}/members",
                 f"/messages/{a}/stream", f"/api/conversations/{cid}/members"):
        assert (await carol.get(path)).status_code == 404, path


async def test_only_members_post_in_a_room(room):
    alice, bob, carol, cid, q, a = room
    assert (await send(carol, "let me in", cid)).status_code == 404
    response = await send(bob, "bob here", cid)
    assert response.status_code == 200
    (mine,) = new_id(await response.get_data(as_text=True))  # not addressed: no reply
    message = await Message.get(id=mine)
    assert message.author == bob.owner and message.role == Role.USER


async def test_only_owner_and_admins_change_settings(room):
    alice, bob, carol, cid, q, a = room
    assert (await bob.put(f"/conversations/{cid}", json={"title": "mine"})).status_code == 403
    assert (await bob.post(f"/c/{cid}/rename", form={"title": "mine"})).status_code == 403
    assert (await bob.post(f"/c/{cid}/settings", form={"title": "mine"})).status_code == 403
    # Read-only for a member: the form is there, disabled, with no Save button.
    page = soup(await (await bob.get(f"/c/{cid}/settings")).get_data(as_text=True))
    assert page.select_one(".settings-fields").has_attr("disabled")
    assert page.select_one("#settings-form button[type=submit]") is None
    await alice.post(f"/c/{cid}/members/{bob.user_id}/role", form={"role": "admin"})
    assert (await bob.put(f"/conversations/{cid}", json={"title": "ours"})).status_code == 200
    assert (await Conversation.get(id=cid)).title == "ours"


async def test_only_owner_and_admins_change_membership(room):
    alice, bob, carol, cid, q, a = room
    assert (await bob.post(f"/c/{cid}/members", form={"username": "carol"})).status_code == 403
    assert (await bob.post(f"/c/{cid}/invites", form={})).status_code == 403
    assert (await bob.post(f"/c/{cid}/members/{alice.user_id}/remove")).status_code == 403
    # The owner promotes; an admin invites and removes members, never the owner or an admin.
    assert (await bob.post(f"/c/{cid}/members/{bob.user_id}/role",
                           form={"role": "admin"})).status_code == 403
    await alice.post(f"/c/{cid}/members/{bob.user_id}/role", form={"role": "admin"})
    assert (await bob.post(f"/c/{cid}/members", form={"username": "carol"},
                           headers=htmx())).status_code == 200
    assert (await bob.post(f"/c/{cid}/members/{carol.user_id}/remove")).status_code in (200, 303)
    assert not await ConversationMember.exists(conversation_id=cid, user_id=carol.user_id)


async def test_share_and_export_are_the_owners(room):
    alice, bob, carol, cid, q, a = room
    await alice.post(f"/c/{cid}/members/{bob.user_id}/role", form={"role": "admin"})
    for method, path in (("post", f"/c/{cid}/share"), ("get", f"/c/{cid}/export.md"),
                         ("get", f"/c/{cid}/export.json"), ("post", f"/c/{cid}/archive"),
                         ("post", f"/c/{cid}/delete")):
        assert (await getattr(bob, method)(path)).status_code == 403, path
    assert (await alice.get(f"/c/{cid}/export.md")).status_code == 200
    # A member's page offers none of them.
    page = soup(await (await bob.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(".export-link") is None and page.select_one(".trash-btn") is None


async def test_votes_and_feedback_are_each_persons(room):
    alice, bob, carol, cid, q, a = room
    for client, rating in ((alice, "1"), (bob, "-1")):
        response = await client.post(f"/messages/{a}/vote", form={"rating": rating},
                                     headers=htmx())
        assert response.status_code == 200
    records = dict(await MessageFeedback.filter(message_id=a).values_list("owner",
                                                                          "feedback_type"))
    assert records == {alice.owner: "upvote", bob.owner: "downvote"}
    # The reply's rating column stays the owner's; each page shows its person's own vote.
    assert (await Message.get(id=a)).rating == 1
    for client, voted in ((alice, "upvote"), (bob, "downvote")):
        page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
        assert page.select_one(f"#msg-{a}-{voted}")["aria-pressed"] == "true"
    await bob.post(f"/messages/{a}/vote", form={"rating": "0"})
    assert await MessageFeedback.filter(message_id=a, owner=alice.owner).exists()


async def test_people_edit_only_their_own_messages(room):
    alice, bob, carol, cid, q, a = room
    response = await bob.post(f"/messages/{q}/edit", form={"content": "bob's words"},
                              headers=htmx())
    assert response.status_code == 403
    assert (await bob.get(f"/messages/{q}/edit")).status_code == 403
    (mine,) = new_id(await (await send(bob, "typo", cid)).get_data(as_text=True))
    assert (await alice.post(f"/messages/{mine}/edit", form={"content": "x"})).status_code == 403


async def test_people_delete_their_own_and_managers_anyones(room):
    alice, bob, carol, cid, q, a = room
    assert (await bob.post(f"/messages/{q}/delete", headers=htmx())).status_code == 403
    (mine,) = new_id(await (await send(bob, "oops", cid)).get_data(as_text=True))
    assert (await bob.post(f"/messages/{mine}/delete", headers=htmx())).status_code == 200
    await bob.post(f"/messages/{mine}/restore", headers=htmx())
    assert (await alice.post(f"/messages/{mine}/delete", headers=htmx())).status_code == 200
    assert (await Message.get(id=mine)).deleted_at is not None


async def channel(person, cid: int) -> str:
    """The room's events URL as its page renders it: from the channel's position now. A
    bare URL follows from wherever the stream happens to start, so an event published just
    after the request is sent (a removal, a message) could come before it and be missed."""
    bus = person.client.app.extensions["events"]
    return f"/c/{cid}/events?after={await bus.position(cid)}"


async def read_frames(connection, want: int, timeout: float = 5) -> list[dict]:
    raw, frames = "", []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(frames) < want:
        chunk = await asyncio.wait_for(connection.receive(), deadline - loop.time())
        raw += chunk.decode()
        frames = [e for e in parse_sse(raw) if "comment" not in e]
    return frames


async def test_a_removed_member_loses_access_at_once_open_stream_included(room):
    alice, bob, carol, cid, q, a = room
    async with bob.client.request(await channel(bob, cid), headers={"X-Tab-Id": "bob-tab"}) as tab:
        await tab.send_complete()
        response = await alice.post(f"/c/{cid}/members/{bob.user_id}/remove", headers=htmx())
        assert response.status_code == 200
        (frame,) = await read_frames(tab, 1)
        assert "no longer in this room" in soup(frame["data"]).select_one(
            ".access-lost").get_text()
    for path in (f"/c/{cid}", f"/c/{cid}/events", f"/messages/{a}/stream"):
        assert (await bob.get(path)).status_code == 404
    assert (await send(bob, "still here?", cid)).status_code == 404


async def test_a_removed_members_reply_stream_ends_before_the_reply(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    fake_upstream.enqueue(Tokens([f"w{i} " for i in range(200)], interval=0.02))
    (_, reply) = new_id(await (await send(alice, "@ai a long one", cid)).get_data(as_text=True))
    async with bob.client.request(f"/messages/{reply}/stream?after=0") as stream:
        await stream.send_complete()
        await read_frames(stream, 1)
        await alice.post(f"/c/{cid}/members/{bob.user_id}/remove", headers=htmx())
        raw = b""
        async with asyncio.timeout(5):
            while chunk := await stream.receive():
                raw += chunk
                if b"event: done" in raw:
                    break
            # The stream ended without the reply's end (no `done`): the server closed it.
        assert b"event: done" not in raw
        assert (await Message.get(id=reply)).status == "streaming"


async def test_a_member_stream_sees_everyones_messages_and_role_changes(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    async with bob.client.request(await channel(bob, cid), headers={"X-Tab-Id": "bob-tab"}) as tab:
        await tab.send_complete()
        fake_upstream.enqueue(Tokens(["sure"]))
        response = await send(alice, "@ai say sure", cid)
        user_id, reply_id = new_id(await response.get_data(as_text=True))
        (frame,) = await read_frames(tab, 1)
        pushed = soup(frame["data"])
        bubble = pushed.select_one(f"article#msg-{user_id}")
        assert bubble["data-author"] == alice.owner
        assert bubble.select_one(".author-name").get_text() == "alice"
        assert pushed.select_one(f"#msg-{reply_id}-stream") is not None  # bob streams it too
        await finished(reply_id)
        await alice.post(f"/c/{cid}/members/{bob.user_id}/role", form={"role": "admin"})
        (frame,) = await read_frames(tab, 1)
        viewer = soup(frame["data"]).select_one("#room-viewer")
        assert viewer["data-role"] == "admin"
        await tab.disconnect()


# ------------------------------------------------------------------ membership


async def test_invite_by_username_refuses_unknown_names_guests_and_twice(room, app):
    alice, bob, carol, cid, q, a = room
    for name, complaint in (("nobody", "no account named"), ("bob", "in this room already"),
                            ("alice", "owner already")):
        response = await alice.post(f"/api/conversations/{cid}/members", json={"username": name})
        assert response.status_code == 400
        assert complaint in (await response.get_json())["error"]


async def test_invite_links_expire_run_out_and_are_revoked(room, app):
    alice, bob, carol, cid, q, a = room
    response = await alice.post(f"/c/{cid}/invites", json={"expires_in_days": 1, "max_uses": 1})
    url = (await response.get_json())["url"]
    path = url.split("localhost", 1)[-1]
    page = soup(await (await carol.get(path)).get_data(as_text=True))
    assert page.select_one("#join-btn").get_text().strip() == "Join as carol"
    assert (await carol.post(path)).status_code == 303
    assert await ConversationMember.exists(conversation_id=cid, user_id=carol.user_id)
    dave = await person(app, "dave")
    assert (await dave.get(path)).status_code == 404  # used up (max_uses 1)
    # Expired, and revoked.
    response = await alice.post(f"/c/{cid}/invites", json={"expires_in_days": 1})
    late = (await response.get_json())["url"].split("localhost", 1)[-1]
    await InviteLink.filter(conversation_id=cid, uses=0).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert (await dave.post(late)).status_code == 404
    response = await alice.post(f"/c/{cid}/invites", json={})
    fresh = (await response.get_json())["url"].split("localhost", 1)[-1]
    link = await InviteLink.filter(conversation_id=cid).order_by("-id").first()
    await alice.post(f"/c/{cid}/invites/{link.id}/revoke", headers=htmx())
    assert (await dave.post(fresh)).status_code == 404
    # A guest cannot join with a good link.
    response = await alice.post(f"/c/{cid}/invites", json={})
    good = (await response.get_json())["url"].split("localhost", 1)[-1]
    guest = CsrfClient(app.test_client())
    assert (await guest.post(good)).status_code == 401
    assert "guests cannot join" in (await (await guest.get(good)).get_data(as_text=True))


async def test_modes_cap_the_people(room, app):
    alice, bob, carol, cid, q, a = room
    assert (await alice.put(f"/conversations/{cid}", json={"mode": "solo"})).status_code == 400
    assert (await alice.put(f"/conversations/{cid}", json={"mode": "partner"})).status_code == 200
    response = await alice.post(f"/api/conversations/{cid}/members", json={"username": "carol"})
    assert response.status_code == 400
    assert "full (2 people)" in (await response.get_json())["error"]
    await alice.put(f"/conversations/{cid}", json={"mode": "group"})
    app.app.config["ROOM_MAX_PEOPLE"] = 3
    await alice.post(f"/api/conversations/{cid}/members", json={"username": "carol"})
    await person(app, "dave")
    response = await alice.post(f"/api/conversations/{cid}/members", json={"username": "dave"})
    assert response.status_code == 400 and await ConversationMember.filter(
        conversation_id=cid).count() == 2


async def test_a_guest_cannot_make_a_room(client, fake_upstream):
    guest = CsrfClient(client)
    await send(guest, "hi")
    cid = (await Conversation.get()).id
    response = await guest.put(f"/conversations/{cid}", json={"mode": "group"})
    assert response.status_code == 400
    assert "need an account" in (await response.get_json())["error"]


async def test_anyone_but_the_owner_can_leave(room):
    alice, bob, carol, cid, q, a = room
    assert (await alice.post(f"/c/{cid}/leave")).status_code == 400
    response = await bob.post(f"/c/{cid}/leave", headers=htmx())
    assert response.headers["HX-Redirect"] == "/"
    assert (await bob.get(f"/c/{cid}")).status_code == 404


async def test_members_list_as_json_and_in_the_panel(room):
    alice, bob, carol, cid, q, a = room
    body = await (await bob.get(f"/api/conversations/{cid}/members")).get_json()
    assert [(m["username"], m["role"], m["initials"]) for m in body["members"]] == [
        ("alice", "owner", "AL"), ("bob", "member", "BO")]
    assert body["capacity"] == 20 and body["mode"] == "group"
    # Messages carry their author in the sessions API.
    shown = await (await bob.get(f"/api/chat/sessions/{cid}/")).get_json()
    assert [m["author"] for m in shown["messages"]] == [
        {"user_id": alice.user_id, "username": "alice"},
        {"model": "openai/gpt-4o-mini", "asked_by": {"user_id": alice.user_id,
                                                    "username": "alice"}}]
    page = soup(await (await alice.get(f"/c/{cid}")).get_data(as_text=True))
    names = [li.select_one(".member-name").get_text(" ", strip=True)
             for li in page.select("#members-panel .member")]
    assert names == ["alice (you)", "bob"]
    assert page.select_one("#invite-username") is not None
    # bob sees no manager's controls.
    page = soup(await (await bob.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one("#invite-username") is None
    assert page.select_one(".remove-member-btn") is None


async def test_a_room_is_in_members_sidebars_and_search(room):
    alice, bob, carol, cid, q, a = room
    listed = soup(await (await bob.get("/conversations", headers=htmx())).get_data(
        as_text=True))
    item = listed.select_one(f"#conv-{cid}")
    assert item is not None and item.select_one(".room-mark") is not None
    assert item.select_one(".item-hover-actions") is None  # the owner's to rename or trash
    assert item.select_one(".item-actions") is None  # nor restore nor destroy
    hits = await (await bob.get("/api/chat/sessions/?q=hello")).get_json()
    assert [s["id"] for s in hits["sessions"]] == [cid]
    assert (await carol.get("/conversations", headers=htmx())).status_code == 200
    assert f"conv-{cid}" not in await (await carol.get("/conversations", headers=htmx())
                                       ).get_data(as_text=True)


# ------------------------------------------------------------------ the AI


async def test_in_a_room_the_ai_answers_when_addressed(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    before = len(fake_upstream.requests)
    response = await send(bob, "just chatting", cid)
    assert len(new_id(await response.get_data(as_text=True))) == 1
    for content, fields in (("@ai what now?", {}), ("hey gpt-4o-mini, thoughts?", {}),
                            ("over to you", {"ask_ai": "on"})):
        fake_upstream.enqueue(Tokens(["ok"]))
        ids = new_id(await (await send(bob, content, cid, **fields)).get_data(as_text=True))
        assert len(ids) == 2, content
        await finished(ids[1])
    assert len([r for r in fake_upstream.requests[before:]
                if r["path"].endswith("/chat/completions")]) == 3
    # As a room setting, every message.
    await alice.put(f"/conversations/{cid}", json={"ai_answers_all": True})
    fake_upstream.enqueue(Tokens(["ok"]))
    ids = new_id(await (await send(bob, "no mention", cid)).get_data(as_text=True))
    assert len(ids) == 2
    await finished(ids[1])


async def test_the_model_sees_each_persons_name_and_the_asker_pays(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    await send(bob, "I like tea", cid)
    fake_upstream.enqueue(Tokens(["noted"]))
    ids = new_id(await (await send(bob, "@ai what do I like?", cid)).get_data(as_text=True))
    reply = await finished(ids[1])
    messages = [(m["role"], m["content"]) for m in fake_upstream.requests[-1]["json"]["messages"]]
    assert messages[-4:] == [("user", "alice: hi all"), ("assistant", "hello"),
                             ("user", "bob: I like tea"), ("user", "bob: @ai what do I like?")]
    record = await UsageRecord.get(message_id=reply.id)
    assert record.owner == bob.owner
    assert (await Message.get(id=reply.id)).author == bob.owner


async def test_a_solo_conversation_is_unchanged(client, fake_upstream):
    solo = CsrfClient(client)
    await register(client, "zoe")
    fake_upstream.enqueue(Tokens(["one"]), Tokens(["two"]))
    ids = new_id(await (await send(solo, "no mention at all")).get_data(as_text=True))
    await finished(ids[1])
    conversation = await Conversation.get()
    assert conversation.mode == Mode.SOLO
    ids = new_id(await (await send(solo, "again", conversation.id)).get_data(as_text=True))
    await finished(ids[1])
    messages = [(m["role"], m["content"]) for m in fake_upstream.requests[-1]["json"]["messages"]]
    assert messages[-1] == ("user", "again")
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    assert page.select_one(".message-author") is None


# ------------------------------------------------------------------ what each member's tab shows


class Tab:
    """A member's open tab: the conversation's channel, read frame by frame."""

    def __init__(self, connection):
        self.connection, self.raw, self.seen = connection, "", 0

    async def next(self, wanted, timeout: float = 5) -> dict:
        """The next frame with data for which `wanted(soup)` holds (frames before it pass)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frames = [e for e in parse_sse(self.raw) if "comment" not in e]
            for frame in frames[self.seen:]:
                self.seen += 1
                if frame["data"] and wanted(soup(frame["data"])):
                    return frame
            chunk = await asyncio.wait_for(self.connection.receive(), deadline - loop.time())
            self.raw += chunk.decode()


def pressed(html, reply: int) -> dict:
    """Which of a reply's vote buttons a fragment shows pressed, as {"up", "down"}."""
    return {side: html.select_one(f"#msg-{reply}-{side}vote")["aria-pressed"] == "true"
            for side in ("up", "down")}


def assert_neutral(html, reply: int, reloads: bool) -> None:
    """A fragment for every member: no one's vote, token or side; a reply someone voted on
    loads each reader's own vote."""
    assert pressed(html, reply) == {"up": False, "down": False}
    assert not html.select(".voted") and not html.select(".mine")
    assert not html.select("input[name=csrf_token]")
    reload = html.select_one(f"#msg-{reply}-actions .vote-reload")
    assert (reload is not None) == reloads
    if reloads:
        assert reload["hx-get"] == f"/messages/{reply}/vote"
        assert reload["hx-trigger"] == "load"


async def own_vote(client, reply: int) -> dict:
    response = await client.get(f"/messages/{reply}/vote", headers=htmx())
    assert response.status_code == 200
    return pressed(soup(await response.get_data(as_text=True)), reply)


async def test_a_regeneration_and_a_version_switch_push_no_ones_vote(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    await alice.post(f"/messages/{a}/vote", form={"rating": "-1"}, headers=htmx())
    await bob.post(f"/messages/{a}/vote", form={"rating": "1"}, headers=htmx())
    async with bob.client.request(await channel(bob, cid), headers={"X-Tab-Id": "bob-tab"}) as tab:
        await tab.send_complete()
        tab = Tab(tab)
        fake_upstream.enqueue(Tokens(["again"]))
        response = await alice.post(f"/messages/{a}/regenerate", form={},
                                    headers=htmx(**{"X-Tab-Id": "alice-tab"}))
        assert response.status_code == 200
        (a2,) = new_id(await response.get_data(as_text=True))
        await finished(a2)
        # The finished reply as pushed to every tab: nobody voted on it, nothing to load.
        frame = await tab.next(lambda html: html.select_one(f"#msg-{a2}-actions .upvote-btn"))
        assert_neutral(soup(frame["data"]), a2, reloads=False)
        assert soup(frame["data"]).select_one("#sidebar-stats") is None  # alice's counts

        # Back to the first version: its bubble comes back, to alice's tab and bob's alike.
        response = await alice.post(f"/messages/{a}/select",
                                    headers=htmx(**{"X-Tab-Id": "alice-tab"}))
        answered = soup(await response.get_data(as_text=True))
        frame = await tab.next(lambda html: html.select_one(f"article#msg-{a}"))
        pushed = soup(frame["data"])
        for html in (answered, pushed):
            assert_neutral(html, a, reloads=True)
        # What each tab then loads is its person's own vote.
        assert await own_vote(bob, a) == {"up": True, "down": False}
        assert await own_vote(alice, a) == {"up": False, "down": True}
        await tab.connection.disconnect()


async def test_a_delete_and_its_undo_push_no_ones_vote(room):
    alice, bob, carol, cid, q, a = room
    await bob.post(f"/messages/{a}/vote", form={"rating": "1"}, headers=htmx())
    async with bob.client.request(await channel(bob, cid), headers={"X-Tab-Id": "bob-tab"}) as tab:
        await tab.send_complete()
        tab = Tab(tab)
        assert (await alice.post(f"/messages/{q}/delete", headers=htmx())).status_code == 200
        frame = await tab.next(lambda html: html.select_one(f"#msg-{q}[hx-swap-oob=delete]"))
        assert "csrf" not in frame["data"]
        assert (await alice.post(f"/messages/{q}/restore", headers=htmx())).status_code == 200
        frame = await tab.next(lambda html: html.select_one(f"article#msg-{a}"))
        pushed = soup(frame["data"])
        assert_neutral(pushed, a, reloads=True)
        assert pushed.select_one(f"article#msg-{q}")["data-author"] == alice.owner
        # The feedback under the reply asks no one "why" until the reader's own is loaded.
        assert pushed.select_one(f"#msg-{a}-feedback .feedback-edit-btn") is None
        assert await own_vote(bob, a) == {"up": True, "down": False}
        assert await own_vote(alice, a) == {"up": False, "down": False}
        await tab.connection.disconnect()


async def test_an_edit_pushed_to_a_room_is_no_ones_own(room):
    alice, bob, carol, cid, q, a = room
    (mine,) = new_id(await (await send(bob, "typo", cid)).get_data(as_text=True))
    async with alice.client.request(await channel(alice, cid),
                                    headers={"X-Tab-Id": "alice-tab"}) as tab:
        await tab.send_complete()
        tab = Tab(tab)
        response = await bob.post(f"/messages/{mine}/edit",
                                  form={"content": "fixed", "rerun": "off"}, headers=htmx())
        assert response.status_code == 200
        (edited,) = new_id(await response.get_data(as_text=True))
        frame = await tab.next(lambda html: html.select_one(f"article#msg-{edited}"))
        bubble = soup(frame["data"]).select_one(f"article#msg-{edited}")
        # Bob's message, on Bob's side in his tabs only (static/room.js reads data-author).
        assert bubble["data-author"] == bob.owner and "mine" not in bubble["class"]
        await tab.connection.disconnect()


async def test_a_reply_streams_last_frame_is_its_readers(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    fake_upstream.enqueue(Tokens(["more"]))
    (_, reply) = new_id(await (await send(bob, "@ai one more", cid)).get_data(as_text=True))
    await finished(reply)
    await alice.post(f"/messages/{reply}/vote", form={"rating": "1"}, headers=htmx())
    await bob.post(f"/messages/{reply}/vote", form={"rating": "-1"}, headers=htmx())
    for client, vote, counts in ((alice, {"up": True, "down": False}, True),
                                 (bob, {"up": False, "down": True}, False)):
        raw = await (await client.get(f"/messages/{reply}/stream?after=0")).get_data(
            as_text=True)
        (final,) = [e for e in parse_sse(raw) if f"msg-{reply}-actions" in e["data"]]
        html = soup(final["data"])
        assert pressed(html, reply) == vote
        # The sidebar's counts are the owner's: a reply in alice's room changes only hers.
        assert (html.select_one("#sidebar-stats") is not None) == counts
        token = html.select_one("input[name=csrf_token]")["value"]
        assert token == await client.token()


async def test_a_vote_reaches_only_its_persons_tabs_and_events(room):
    alice, bob, carol, cid, q, a = room
    url = await channel(bob, cid)
    async with bob.client.request(url, headers={"X-Tab-Id": "bob-tab"}) as tab, \
            bob.client.request(f"/api/conversations/{cid}/events") as api:
        await tab.send_complete()
        await api.send_complete()
        await alice.post(f"/messages/{a}/vote", form={"rating": "1"}, headers=htmx())
        await alice.post(f"/messages/{a}/feedback", headers=htmx(), form={
            "feedback_type": "upvote", "reasons": "accurate", "comment": "alice's words"})
        await bob.post(f"/messages/{a}/vote", form={"rating": "-1"}, headers=htmx())
        # Alice's vote and feedback came first; bob's tab and his program get only his.
        (mine,) = [f for f in await read_frames(api, 3) if f["data"]]
        assert mine["event"] == "feedback_submitted"
        assert json.loads(mine["data"])["feedbackType"] == "downvote"
        frames = [f for f in await read_frames(tab, 3) if f["data"]]
        assert len(frames) == 1
        assert pressed(soup(frames[0]["data"]), a) == {"up": False, "down": True}
        assert "alice's words" not in tab_raw(frames)
        await tab.disconnect()
        await api.disconnect()


def tab_raw(frames: list[dict]) -> str:
    return "".join(f["data"] for f in frames)


async def test_the_scroll_window_shows_the_readers_votes(room, fake_upstream):
    alice, bob, carol, cid, q, a = room
    await alice.post(f"/messages/{a}/vote", form={"rating": "1"}, headers=htmx())
    html = soup(await (await bob.get(f"/c/{cid}/messages?after={q}", headers=htmx())).get_data(
        as_text=True))
    assert pressed(html, a) == {"up": False, "down": False}
