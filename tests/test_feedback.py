"""Feedback: one editable record per person and reply, with reasons, free text, address and
user agent; the old rating API keeps working and feeds the same record."""

import asyncio
import json

import pytest

from hyperchat.live import tab_events
from hyperchat.store.schema import Message, MessageFeedback
from tests.helpers import CsrfClient, act, exchange, follow_tab_events, owner_of, soup, vote


async def test_vote_then_reasons_and_text_make_one_record(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await vote(client, a, -1, headers={"User-Agent": "Tab/1"})
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
    await vote(client, a, 1)
    record = await MessageFeedback.get(message_id=a)
    assert record.feedback_type == "upvote" and json.loads(record.reasons) == []
    assert (await Message.get(id=a)).rating == 1
    # Clearing the vote clears the record.
    await vote(client, a, 0)
    assert await MessageFeedback.all().count() == 0
    assert (await Message.get(id=a)).rating == 0


async def test_each_person_has_their_own_record(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=a)).conversation_id
    # A second person's record on the same reply (no page lets anyone else vote on it yet, so
    # it is written as the domain would write it).
    other = await MessageFeedback.create(message_id=a, conversation_id=cid, owner="someone-else",
                                         feedback_type="downvote", reasons='["unsafe"]')
    await act(client, a, "feedback", feedback_type="upvote", reasons="helpful")
    await act(client, a, "feedback", feedback_type="upvote", reasons="accurate")
    mine = await MessageFeedback.get(message_id=a, owner=await owner_of(client))
    assert (mine.feedback_type, json.loads(mine.reasons)) == ("upvote", ["accurate"])
    assert await MessageFeedback.filter(message_id=a).count() == 2
    await other.refresh_from_db()
    assert (other.feedback_type, json.loads(other.reasons)) == ("downvote", ["unsafe"])
    # Nor can the other person reach the owner's record through the page.
    stranger = app.test_client()
    assert (await act(stranger, a, "feedback", feedback_type="downvote")).status_code == 404
    assert (await MessageFeedback.get(id=mine.id)).feedback_type == "upvote"


async def test_the_reply_bubble_offers_to_edit_feedback_after_a_vote(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=a)).conversation_id
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{a}-feedback").get_text(strip=True) == ""
    await act(client, a, "feedback", feedback_type="upvote")
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    button = page.select_one(f"#msg-{a}-feedback .feedback-edit-btn")
    assert button["hx-get"] == f"/messages/{a}/feedback?edit=1"


async def test_a_vote_from_the_page_answers_with_the_fragment_other_tabs_get(app, client,
                                                                              fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=a)).conversation_id
    follower = await follow_tab_events(app, a)
    # The page's buttons: an htmx POST, the rating rendered in (the active vote's clears it).
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    up = page.select_one(f"#msg-{a}-upvote")
    assert up["hx-post"] == f"/messages/{a}/vote"
    assert json.loads(up["hx-vals"]) == {"rating": 1}

    response = await act(client, a, "vote", rating="1")
    assert response.status_code == 200
    fragment = soup(await response.get_data(as_text=True))
    # The buttons, out of band, now pressed, and the form asking why, open.
    actions = fragment.select_one(f"#msg-{a}-actions")
    assert actions["hx-swap-oob"] == "outerHTML"
    pressed = actions.select_one(".upvote-btn")
    assert pressed["aria-pressed"] == "true" and "voted" in pressed["class"]
    assert json.loads(pressed["hx-vals"]) == {"rating": 0}
    form = fragment.select_one(f"form#msg-{a}-feedback.editing")
    assert form["hx-swap-oob"] == "outerHTML"
    assert form.select_one("input[name=feedback_type]")["value"] == "upvote"
    assert (await Message.get(id=a)).rating == 1

    # Other tabs get the same buttons, and the summary rather than the form.
    event = await asyncio.wait_for(anext(follower), 2)
    assert event.type == tab_events.FEEDBACK_SUBMITTED and event.origin == "tab-a"
    other = soup(event.html)
    assert str(other.select_one(f"#msg-{a}-actions")) == str(actions)
    summary = other.select_one(f"#msg-{a}-feedback")
    assert summary.name == "div" and summary["hx-swap-oob"] == "outerHTML"
    assert summary.select_one(".feedback-edit-btn").get_text() == "Tell us why"

    # Clearing the vote: no form, the record gone.
    fragment = soup(await (await act(client, a, "vote", rating="0")).get_data(as_text=True))
    assert fragment.select_one(".upvote-btn")["aria-pressed"] == "false"
    assert fragment.select_one(f"#msg-{a}-feedback form") is None
    assert fragment.select_one(f"#msg-{a}-feedback").get_text(strip=True) == ""
    assert await MessageFeedback.all().count() == 0
    await follower.aclose()


async def test_other_tabs_see_the_feedback_summary_with_its_reasons(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    follower = await follow_tab_events(app, a)
    await act(client, a, "feedback", feedback_type="downvote", reasons="too_long",
              comment="Rambles.")
    summary = soup((await asyncio.wait_for(anext(follower), 2)).html).select_one(
        f"#msg-{a}-feedback .feedback-summary")
    assert [c.get_text() for c in summary.select(".chip.chosen")] == ["Too long"]
    assert "Rambles." in summary.get_text()
    await follower.aclose()


async def test_a_vote_answers_json_clients_like_the_rating_api(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await CsrfClient(client).post(f"/messages/{a}/vote", json={"rating": -1})
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True, "message_id": a, "rating": -1}
    assert (await MessageFeedback.get(message_id=a)).feedback_type == "downvote"


@pytest.mark.parametrize("rating", ["2", "", "up", "1.0", None])
async def test_a_vote_refuses_what_is_not_1_minus_1_or_0(client, fake_upstream, rating):
    q, a = await exchange(client, fake_upstream, "q", "a")
    form = {} if rating is None else {"rating": rating}
    response = await act(client, a, "vote", **form)
    assert response.status_code == 400
    assert "rating must be 1, -1 or 0" in await response.get_data(as_text=True)
    assert (await Message.get(id=a)).rating == 0


async def test_a_vote_refuses_json_true_for_1(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await CsrfClient(client).post(f"/messages/{a}/vote", json={"rating": True})
    assert response.status_code == 400


async def test_only_replies_take_votes_and_only_their_owners(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await act(client, q, "vote", rating="1")
    assert response.status_code == 400
    assert "Only replies can be rated." in await response.get_data(as_text=True)
    stranger = app.test_client()
    assert (await act(stranger, a, "vote", rating="1")).status_code == 404
    assert (await Message.get(id=a)).rating == 0
    assert await MessageFeedback.all().count() == 0


async def test_a_deleted_reply_takes_no_vote(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await act(client, a, "delete")
    assert (await act(client, a, "vote", rating="1")).status_code == 404
