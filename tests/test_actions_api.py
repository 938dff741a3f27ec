"""The message actions as JSON: the same URLs, a JSON body in, JSON out (errors too)."""

import pytest

from hyperchat.store.schema import Message, MessageFeedback
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, exchange, finished, sent


async def post(client, message_id: int, action: str, body: dict | None = None):
    return await CsrfClient(client, {"Accept": "application/json"}).post(
        f"/messages/{message_id}/{action}", json=body or {})


async def test_regenerate_edit_select_delete_restore_and_feedback_as_json(client,
                                                                          fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id

    fake_upstream.enqueue(Tokens(["b"]))
    response = await post(client, a, "regenerate", {"temperature": 0.3})
    assert response.status_code == 200
    body = await response.get_json()
    assert body["ok"] is True and body["stream_url"] == f"/messages/{body['message_id']}/stream"
    assert (await finished(body["message_id"])).content == "b"
    assert fake_upstream.requests[-1]["json"]["temperature"] == 0.3

    fake_upstream.enqueue(Tokens(["c"]))
    body = await (await post(client, q, "edit", {"content": "q, again"})).get_json()
    await finished(body["message_id"])
    assert (await Message.get(id=body["version_id"])).content == "q, again"
    assert sent(fake_upstream) == [("user", "q, again")]

    body = await (await post(client, q, "select")).get_json()
    assert body["shown"][:1] == [q]

    body = await (await post(client, q, "delete")).get_json()
    assert q in body["deleted"] and body["undo_url"] == f"/messages/{q}/restore"
    body = await (await post(client, q, "restore")).get_json()
    assert body["shown"][0] == q

    body = await (await post(client, a, "feedback", {
        "feedback_type": "downvote", "reasons": ["too_long"], "comment": "long"})).get_json()
    assert body["feedback"] == {"message_id": a, "feedback_type": "downvote",
                                "reasons": ["too_long"], "comment": "long"}
    assert (await MessageFeedback.get(message_id=a)).comment == "long"
    assert await Message.filter(conversation_id=cid).count() == 5


@pytest.mark.parametrize(("action", "body", "expected"), [
    ("edit", {"content": 5}, "content must be a string"),
    ("regenerate", {"temperature": "warm"}, "Temperature must be a number"),
    ("feedback", {"feedback_type": ["upvote"]}, "feedback_type must be"),
    ("feedback", {"feedback_type": "upvote", "reasons": [{"x": 1}]}, "reasons must be a list"),
    ("feedback", {"feedback_type": "upvote", "comment": 3}, "comment must be a string"),
])
async def test_bad_json_is_refused_as_json(client, fake_upstream, action, body, expected):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await post(client, q if action == "edit" else a, action, body)
    assert response.status_code == 400
    answer = await response.get_json()
    assert answer["ok"] is False and expected in answer["error"]
