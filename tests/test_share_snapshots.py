"""Shares are snapshots: what the owner saw when pressing Share, whatever they do afterwards
until they share again; an expiry, a view count, and the owner's view of all that."""

from datetime import UTC, datetime, timedelta

import pytest

from hyperchat.chat import sharing
from hyperchat.store.schema import Conversation, Message, SharedMessage
from tests.fake_upstream import Tokens
from tests.helpers import act, csrf, exchange, finished, new_id, soup


async def share(client, conversation_id: int, **form):
    token = await csrf(client)
    return await client.post(f"/c/{conversation_id}/share", form=form,
                             headers={"X-CSRF-Token": token, "Accept": "application/json"})


async def public(app, share_id: str) -> list[tuple[str, str]]:
    response = await app.test_client().get(f"/share/{share_id}")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    return [(a["class"][1], a.select_one(".message-content").get_text(strip=True))
            for a in page.select("article.message")]


async def two_turns(client, fake_upstream) -> tuple[Conversation, list[int]]:
    q1, a1 = await exchange(client, fake_upstream, "First question", "First answer")
    conversation = await Conversation.get()
    q2, a2 = await exchange(client, fake_upstream, "Second question", "Second answer",
                            conversation.id)
    return conversation, [q1, a1, q2, a2]


SHARED = [("user", "First question"), ("assistant", "First answer"),
          ("user", "Second question"), ("assistant", "Second answer")]


async def test_editing_after_sharing_changes_nothing_until_shared_again(app, client,
                                                                        fake_upstream):
    conversation, (q1, a1, q2, a2) = await two_turns(client, fake_upstream)
    assert (await (await share(client, conversation.id)).get_json())["messages"] == 4
    fake_upstream.enqueue(Tokens(["Edited answer"]))
    response = await act(client, q2, "edit", content="Edited question")
    reply = new_id(await response.get_data(as_text=True))[-1]
    await finished(reply)
    assert await public(app, conversation.share_id) == SHARED
    await share(client, conversation.id)
    assert await public(app, conversation.share_id) == SHARED[:2] + [
        ("user", "Edited question"), ("assistant", "Edited answer")]


async def test_switching_versions_after_sharing_changes_nothing(app, client, fake_upstream):
    conversation, (q1, a1, q2, a2) = await two_turns(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["Second answer, version 2"]))
    response = await act(client, a2, "regenerate")
    await finished(new_id(await response.get_data(as_text=True))[-1])
    await share(client, conversation.id)
    shared = SHARED[:3] + [("assistant", "Second answer, version 2")]
    assert await public(app, conversation.share_id) == shared
    assert (await act(client, a2, "select")).status_code == 200  # back to version 1
    assert await public(app, conversation.share_id) == shared


async def test_deleting_after_sharing_changes_nothing_even_once_purged(app, client,
                                                                     fake_upstream):
    conversation, (q1, a1, q2, a2) = await two_turns(client, fake_upstream)
    await share(client, conversation.id)
    assert (await act(client, q2, "delete")).status_code == 200
    # Past the undo window the text is purged; the copy keeps what was shown.
    await Message.filter(id__in=[q2, a2]).update(content="")
    assert await public(app, conversation.share_id) == SHARED
    await share(client, conversation.id)
    assert await public(app, conversation.share_id) == SHARED[:2]


async def test_the_copy_goes_with_unsharing_and_with_the_conversation(app, client,
                                                                      fake_upstream):
    conversation, _ = await two_turns(client, fake_upstream)
    await share(client, conversation.id)
    assert await SharedMessage.filter(conversation_id=conversation.id).count() == 4
    token = await csrf(client)
    await client.post(f"/c/{conversation.id}/share/delete", headers={"X-CSRF-Token": token})
    assert await SharedMessage.all().count() == 0
    await share(client, conversation.id)
    await client.post(f"/c/{conversation.id}/delete", headers={"X-CSRF-Token": token})
    await client.post(f"/c/{conversation.id}/destroy", headers={"X-CSRF-Token": token})
    assert await SharedMessage.all().count() == 0


async def test_each_opening_is_counted_and_a_new_share_starts_again(app, client,
                                                                    fake_upstream):
    conversation, _ = await two_turns(client, fake_upstream)
    await share(client, conversation.id)
    for _ in range(3):
        await public(app, conversation.share_id)
    status = await (await client.get(f"/c/{conversation.id}/share",
                                     headers={"Accept": "application/json"})).get_json()
    assert status["views"] == 3 and status["messages"] == 4
    assert status["shared_at"] is not None and status["expires_at"] is None
    await share(client, conversation.id)
    assert (await Conversation.get(id=conversation.id)).share_views == 0


async def test_a_share_expires(app, client, fake_upstream):
    conversation, _ = await two_turns(client, fake_upstream)
    body = await (await share(client, conversation.id, expires_in_days="7")).get_json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=7) - timedelta(minutes=1) < expires - datetime.now(UTC) \
        <= timedelta(days=7)
    assert (await app.test_client().get(f"/share/{conversation.share_id}")).status_code == 200
    await Conversation.filter(id=conversation.id).update(
        share_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = await app.test_client().get(f"/share/{conversation.share_id}")
    assert response.status_code == 404
    # The owner is told, and sharing again (no expiry) brings the link back.
    status = soup(await (await client.get(f"/c/{conversation.id}/share")).get_data(
        as_text=True))
    assert status.select_one(".share-expired") is not None
    body = await (await share(client, conversation.id, expires_in_days="")).get_json()
    assert body["expires_at"] is None and body["shared"] is True
    assert (await app.test_client().get(f"/share/{conversation.share_id}")).status_code == 200


@pytest.mark.parametrize("days", ["2", "-1", "abc", "1.5", "99999999999999999999"])
async def test_an_expiry_outside_the_choices_is_refused(client, fake_upstream, days):
    conversation, _ = await two_turns(client, fake_upstream)
    response = await share(client, conversation.id, expires_in_days=days)
    assert response.status_code == 400
    assert "expires_in_days" in (await response.get_json())["error"]
    assert (await Conversation.get(id=conversation.id)).shared_at is None


async def test_the_owner_sees_what_is_shared_since_when_and_until_when(client, fake_upstream):
    conversation, _ = await two_turns(client, fake_upstream)
    token = await csrf(client)
    response = await client.post(f"/c/{conversation.id}/share", form={"expires_in_days": "1"},
                                 headers={"X-CSRF-Token": token, "HX-Request": "true"})
    status = soup(await response.get_data(as_text=True)).select_one("#share-status")
    details = status.select_one(".share-details").get_text(" ", strip=True)
    assert details.startswith("4 messages, as of")
    conversation = await Conversation.get(id=conversation.id)
    assert status.select("time")[0]["datetime"] == conversation.shared_at.isoformat()
    assert status.select_one(".share-expiry")["datetime"] == \
        conversation.share_expires_at.isoformat()
    assert status.select_one(".share-views").get_text(strip=True) == "0 views"
    assert status.select_one("form.share-form select[name=expires_in_days]") is not None
    # The conversation page shows the same status.
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    assert page.select_one("#share-status .share-link") is not None


async def test_publish_copies_only_the_finished_shown_branch(client, fake_upstream):
    conversation, ids = await two_turns(client, fake_upstream)
    count = await sharing.publish(conversation, None)
    rows = await SharedMessage.filter(conversation_id=conversation.id).order_by("position")
    assert count == 4 and [r.message_id for r in rows] == ids
    assert [r.position for r in rows] == [0, 1, 2, 3]
    copied = await sharing.snapshot(conversation)
    original = await Message.get(id=ids[1])
    assert (copied[1].id, copied[1].content, copied[1].model_id_used) == \
        (original.id, original.content, original.model_id_used)
