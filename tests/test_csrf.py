"""Every state-changing request needs the session's CSRF token."""

import pytest

from hyperchat.store.schema import Conversation, Message
from tests.fake_upstream import Tokens
from tests.helpers import csrf, start_reply

POSTS = ["/messages", "/messages/{reply}/stop", "/messages/{reply}/retry",
         "/rate_message/{reply}", "/messages/{reply}/vote", "/c/{conversation}/share",
         "/c/{conversation}/share/delete", "/c/{conversation}/rename"]


@pytest.fixture
async def ids(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, Tokens(["x"]), content="hello")
    conversation = await Conversation.get()
    return {"conversation": conversation.id, "reply": reply_id}


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("token", [None, "", "forged"])
async def test_post_without_the_right_token_is_forbidden(client, ids, path, token):
    await csrf(client)
    headers = {} if token is None else {"X-CSRF-Token": token}
    before = await Message.all().count()
    response = await client.post(path.format(**ids), headers=headers,
                                 form={"content": "sneaky"})
    assert response.status_code == 403
    assert await Message.all().count() == before


@pytest.mark.parametrize("path", POSTS)
async def test_post_from_a_session_without_a_token_is_forbidden(app, ids, path):
    response = await app.test_client().post(path.format(**ids), headers={"X-CSRF-Token": ""},
                                            form={"content": "sneaky", "csrf_token": ""})
    assert response.status_code == 403


async def test_token_from_another_session_is_refused(app, client, ids):
    other = await csrf(app.test_client())
    response = await client.post("/messages", form={"content": "x", "csrf_token": other})
    assert response.status_code == 403


async def test_form_field_token_is_accepted(client, fake_upstream):
    token = await csrf(client)
    response = await client.post("/messages", form={"content": "ok", "csrf_token": token},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200
