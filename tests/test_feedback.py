"""Feedback: one editable record per person and reply, with reasons, free text, address and
user agent; the old rating API keeps working and feeds the same record."""

import json

from hyperchat.store.schema import Message, MessageFeedback
from tests.actions_helpers import act, exchange
from tests.helpers import csrf, soup


async def test_vote_then_reasons_and_text_make_one_record(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    token = await csrf(client)
    response = await client.post(f"/rate_message/{a}", json={"rating": -1},
                                 headers={"X-CSRF-Token": token, "User-Agent": "Tab/1"})
    # Unchanged answer of the old API.
    assert await response.get_json() == {"ok": True, "message_id": a, "rating": -1}
    record = await MessageFeedback.get(message_id=a)
    assert record.feedback_type == "downvote" and record.user_agent == "Tab/1"
    assert record.client_ip

    form = soup(await (await client.get(f"/messages/{a}/feedback?edit=1")).get_data(
        as_text=True))
    chips = {i["value"] for i in form.select("input[name=reasons]")}
    assert {"not_factual", "not_following_instructions", "too_long", "unsafe", "other"} <= chips
    assert form.select_one("input[name=feedback_type]")["value"] == "downvote"

    response = await act(client, a, "feedback", feedback_type="downvote",
                         reasons=["too_long", "not_factual"], comment="Rambles.")
    assert response.status_code == 200
    summary = soup(await response.get_data(as_text=True))
    assert [c.get_text() for c in summary.select(".chip.chosen")] == [
        "Too long", "Not factually correct"]
    assert "Rambles." in summary.get_text()

    # Editing replaces the record, never adds one.
    await act(client, a, "feedback", feedback_type="downvote", reasons="unsafe", comment="")
    (record,) = await MessageFeedback.all()
    assert json.loads(record.reasons) == ["unsafe"] and record.comment == ""
    assert record.created_at <= record.updated_at
    assert (await Message.get(id=a)).rating == -1


async def test_switching_the_vote_drops_the_other_votes_reasons(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await act(client, a, "feedback", feedback_type="downvote", reasons="too_long")
    token = await csrf(client)
    await client.post(f"/rate_message/{a}", json={"rating": 1}, headers={"X-CSRF-Token": token})
    record = await MessageFeedback.get(message_id=a)
    assert record.feedback_type == "upvote" and json.loads(record.reasons) == []
    assert (await Message.get(id=a)).rating == 1
    # Clearing the vote clears the record.
    await client.post(f"/rate_message/{a}", json={"rating": 0}, headers={"X-CSRF-Token": token})
    assert await MessageFeedback.all().count() == 0
    assert (await Message.get(id=a)).rating == 0


async def test_each_person_has_their_own_record(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await act(client, a, "feedback", feedback_type="upvote", reasons="helpful")
    await act(client, a, "feedback", feedback_type="upvote", reasons="accurate")
    assert await MessageFeedback.filter(message_id=a).count() == 1


async def test_the_reply_bubble_offers_to_edit_feedback_after_a_vote(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=a)).conversation_id
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{a}-feedback").get_text(strip=True) == ""
    await act(client, a, "feedback", feedback_type="upvote")
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    button = page.select_one(f"#msg-{a}-feedback .feedback-edit-btn")
    assert button["hx-get"] == f"/messages/{a}/feedback?edit=1"
