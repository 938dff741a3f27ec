"""POST /rate_message/<id>: the JSON API for votes."""

import pytest

from hyperchat.store.schema import Message
from tests.helpers import CsrfClient, exchange, soup


@pytest.fixture
async def reply(client, fake_upstream):
    _, reply_id = await exchange(client, fake_upstream, "hi", "ok")
    return reply_id


async def rate(client, message_id, body, **kwargs):
    """POST any body (a dict as JSON) to /rate_message/<id>, with the session's token."""
    if isinstance(body, dict):
        kwargs["json"] = body
    else:
        kwargs["data"] = body
    return await CsrfClient(client).post(f"/rate_message/{message_id}", **kwargs)


@pytest.mark.parametrize("rating", [1, -1, 0])
async def test_rate_message_sets_the_rating(client, reply, rating):
    response = await rate(client, reply, {"rating": rating})
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True, "message_id": reply, "rating": rating}
    assert (await Message.get(id=reply)).rating == rating


async def test_rating_survives_reload_and_toggles_back_to_zero(client, reply):
    await rate(client, reply, {"rating": 1})
    message = await Message.get(id=reply)
    page = soup(await (await client.get(f"/c/{message.conversation_id}")).get_data(as_text=True))
    assert "voted" in page.select_one(f"#msg-{reply} .upvote-btn")["class"]
    assert "voted" not in page.select_one(f"#msg-{reply} .downvote-btn")["class"]
    await rate(client, reply, {"rating": 0})
    page = soup(await (await client.get(f"/c/{message.conversation_id}")).get_data(as_text=True))
    assert not page.select(f"#msg-{reply} .voted")


@pytest.mark.parametrize("body", [
    {}, {"rating": 2}, {"rating": "1"}, {"rating": None}, {"rating": True}, {"rating": 1.0},
    {"rate": 1},
])
async def test_rate_message_rejects_other_values(client, reply, body):
    response = await rate(client, reply, body)
    assert response.status_code == 400
    assert (await response.get_json())["ok"] is False
    assert (await Message.get(id=reply)).rating == 0


@pytest.mark.parametrize("body", [b"rating=1", b"{not json", b"[1]", b""])
async def test_rate_message_rejects_a_non_json_body(client, reply, body):
    response = await rate(client, reply, body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert (await response.get_json())["ok"] is False


async def test_rate_message_rejects_a_user_message(client, reply):
    user_message = await Message.get(role="user")
    response = await rate(client, user_message.id, {"rating": 1})
    assert response.status_code == 400


async def test_rate_message_unknown_id_is_not_found(client, reply):
    response = await rate(client, 424242, {"rating": 1})
    assert response.status_code == 404
    assert (await response.get_json())["ok"] is False


async def test_rate_message_rejects_foreign_session(app, reply):
    stranger = app.test_client()
    response = await rate(stranger, reply, {"rating": 1})
    assert response.status_code == 404
    assert (await Message.get(id=reply)).rating == 0


@pytest.mark.parametrize("token", ["", "wrong-token"])
async def test_rate_message_requires_the_csrf_token(client, reply, token):
    response = await rate(client, reply, {"rating": 1}, headers={"X-CSRF-Token": token})
    assert response.status_code == 403
    assert (await Message.get(id=reply)).rating == 0


async def test_rate_message_rejects_a_session_without_csrf_token(app, reply):
    fresh = app.test_client()  # never visited a page: no session, no token
    response = await fresh.post(f"/rate_message/{reply}", json={"rating": 1})
    assert response.status_code == 403
    response = await fresh.post(f"/rate_message/{reply}", json={"rating": 1},
                                headers={"X-CSRF-Token": ""})
    assert response.status_code == 403
