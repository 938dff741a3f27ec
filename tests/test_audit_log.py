"""The audit log: every action with its type, message, conversation, actor, address, user
agent, details and time; shown per conversation to its owner only."""

import json

from hyperchat.store.schema import ActionLog, Message, Status
from tests.fake_upstream import Tokens
from tests.helpers import act, act_until_done, exchange, owner_of, soup, vote


async def test_every_action_is_logged_with_who_and_what(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id
    fake_upstream.enqueue(Tokens(["b"]), Tokens(["c"]))
    (v2,) = await act_until_done(client, a, "regenerate", temperature="1.2")
    await act(client, a, "select")
    user, reply = await act_until_done(client, q, "edit", content="q2")
    await act(client, reply, "delete")
    await act(client, reply, "restore")
    await act(client, reply, "feedback", feedback_type="downvote", reasons="too_long")
    await vote(client, reply, 1)

    logs = await ActionLog.filter(conversation_id=cid).order_by("id")
    assert [(log.action_type, log.message_id) for log in logs] == [
        ("regenerate", a), ("select_version", a), ("edit", q), ("delete", reply),
        ("restore", reply), ("feedback", reply), ("vote", reply)]
    owner = await owner_of(client)
    assert {log.owner for log in logs} == {owner}
    assert all(log.client_ip and log.created_at for log in logs)
    assert json.loads(logs[0].details) == {"model": "openai/gpt-4o-mini",
                                           "new_message_id": v2, "temperature": 1.2}
    assert json.loads(logs[2].details)["new_message_id"] == user
    assert json.loads(logs[5].details)["reasons"] == ["too_long"]


async def test_a_retry_is_logged_as_a_regeneration_marked_retry(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await Message.filter(id=a).update(status=Status.ERROR, error="The provider failed.")
    fake_upstream.enqueue(Tokens(["b"]))
    (retried,) = await act_until_done(client, a, "retry")
    (log,) = await ActionLog.filter(action_type="regenerate")
    assert (log.message_id, log.owner) == (a, await owner_of(client))
    assert json.loads(log.details) == {"model": "openai/gpt-4o-mini", "new_message_id": retried,
                                       "retry": True, "temperature": None}


async def test_the_owner_sees_the_activity_page_and_others_do_not(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id
    await act(client, a, "delete")
    page = soup(await (await client.get(f"/c/{cid}/activity")).get_data(as_text=True))
    (row,) = page.select("tr.activity-entry")
    assert row["data-action"] == "delete"
    assert row.select_one("a")["href"] == f"/c/{cid}?m={a}"
    conversation_page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert conversation_page.select_one(".activity-link")["href"] == f"/c/{cid}/activity"
    stranger = app.test_client()
    assert (await stranger.get(f"/c/{cid}/activity")).status_code == 404
