"""The message actions for programs (/api/messages, /api/tasks): regenerate, edit with or
without a new reply, delete, feedback with its free-text reason, the tasks read back; with a
Bearer key or the cookie session; another person's ids, bad input and limits."""

import pytest

from hyperchat.accounts import api_keys
from hyperchat.store.schema import Conversation, Message, MessageFeedback, Role, Status, User
from tests.fake_upstream import HttpError, Tokens
from tests.helpers import CsrfClient, act, exchange, finished, sent, shown


@pytest.fixture
async def key(app):
    user = await User.create(username="prog", username_key="prog", password_hash="-")
    _row, secret = await api_keys.create(user, "tests")
    return {"Authorization": f"Bearer {secret}"}


async def say(client, key, fake_upstream, content="q", answer="a") -> tuple[int, int]:
    """Send a message as the key's program (POST /messages, JSON); (user id, reply id)."""
    fake_upstream.enqueue(Tokens([answer]))
    body = await (await client.post("/messages", json={"content": content},
                                    headers=key)).get_json()
    await finished(body["reply"]["id"])
    return body["message"]["id"], body["reply"]["id"]


async def test_regenerate_answers_a_task_that_reads_back_until_completed(client, key,
                                                                         fake_upstream):
    _q, a = await say(client, key, fake_upstream, answer="first answer")
    fake_upstream.enqueue(Tokens(["second"]))
    response = await client.post(f"/api/messages/{a}/regenerate", json={"temperature": 0.8},
                                 headers=key)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["success"] is True
    task_id = body["data"]["task_id"]
    assert body["data"]["stream_url"] == f"/messages/{task_id}/stream"
    await finished(task_id)
    assert fake_upstream.requests[-1]["json"]["temperature"] == 0.8
    task = (await (await client.get(f"/api/tasks/{task_id}", headers=key)).get_json())["data"]
    assert task["status"] == "completed" and task["progress"] == 100
    assert task["regenerates"] == a and task["error"] is None
    assert task["created_at"] and task["started_at"] and task["completed_at"]
    assert (await Message.get(id=task_id)).content == "second"


async def test_a_regeneration_without_a_body_uses_the_defaults(client, key, fake_upstream):
    # What a client that sends Content-Type: application/json and no body gets.
    _q, a = await say(client, key, fake_upstream)
    response = await client.post(f"/api/messages/{a}/regenerate",
                                 headers={**key, "Content-Type": "application/json"})
    assert response.status_code == 200
    task_id = (await response.get_json())["data"]["task_id"]
    await finished(task_id)
    assert "temperature" not in fake_upstream.requests[-1]["json"]


async def test_a_task_in_progress_then_failed_with_its_error(client, key, fake_upstream):
    _q, a = await say(client, key, fake_upstream, answer="x" * 100)
    fake_upstream.enqueue(Tokens(["y"] * 40, interval=0.05))
    task_id = (await (await client.post(f"/api/messages/{a}/regenerate", headers=key))
               .get_json())["data"]["task_id"]
    task = (await (await client.get(f"/api/tasks/{task_id}", headers=key)).get_json())["data"]
    assert task["status"] in ("pending", "in_progress") and task["completed_at"] is None
    assert 0 <= task["progress"] < 100
    await finished(task_id)

    fake_upstream.enqueue(HttpError(500, {"error": {"message": "provider down"}}))
    task_id = (await (await client.post(f"/api/messages/{a}/regenerate", headers=key))
               .get_json())["data"]["task_id"]
    await finished(task_id)
    task = (await (await client.get(f"/api/tasks/{task_id}", headers=key)).get_json())["data"]
    assert task["status"] == "failed" and task["error"]


async def test_edit_with_and_without_a_new_reply(client, key, fake_upstream):
    q, _a = await say(client, key, fake_upstream)
    cid = (await Message.get(id=q)).conversation_id
    fake_upstream.enqueue(Tokens(["new reply"]))
    body = await (await client.put(f"/api/messages/{q}", json={
        "content": "q2", "trigger_regeneration": True}, headers=key)).get_json()
    assert body["success"] is True and body["operation"] == "edit"
    await finished(body["data"]["task_id"])
    assert sent(fake_upstream) == [("user", "q2")]

    requests = len(fake_upstream.requests)
    version = body["data"]["message_id"]
    body = await (await client.put(f"/api/messages/{version}", json={
        "content": "q3", "trigger_regeneration": False}, headers=key)).get_json()
    assert body["data"]["task_id"] is None and body["data"]["stream_url"] is None
    newest = await Message.get(id=body["data"]["message_id"])
    assert newest.content == "q3" and newest.version_of_id == version
    # Saved alone: nothing was asked of the model, no reply follows it.
    assert len(fake_upstream.requests) == requests
    assert not await Message.filter(parent_id=newest.id).exists()
    assert (await Message.filter(conversation_id=cid, on_path=True, deleted_at=None)
            .order_by("-id").first()).id == newest.id


async def test_delete_then_the_task_is_gone(client, key, fake_upstream):
    q, a = await say(client, key, fake_upstream)
    body = await (await client.delete(f"/api/messages/{q}", headers=key)).get_json()
    assert body == {"success": True, "operation": "delete", "data": {
        "message_id": q, "removed_ids": body["data"]["removed_ids"],
        "undo_url": f"/messages/{q}/restore"}}
    assert set(body["data"]["removed_ids"]) >= {q}
    assert (await Message.get(id=a)).deleted_at is not None
    response = await client.get(f"/api/tasks/{a}", headers=key)
    assert response.status_code == 404
    assert (await response.get_json())["success"] is False


async def test_feedback_keeps_the_free_text_reason(client, key, fake_upstream):
    _q, a = await say(client, key, fake_upstream)
    response = await client.post(f"/api/messages/{a}/feedback", json={
        "feedback_type": "upvote", "reason": "Very helpful response"}, headers=key)
    assert response.status_code == 200
    assert (await response.get_json()) == {"success": True, "data": {
        "message_id": a, "feedback_type": "upvote", "reason": "Very helpful response",
        "reasons": []}}
    record = await MessageFeedback.get(message_id=a)
    assert record.comment == "Very helpful response" and record.feedback_type == "upvote"
    assert (await Message.get(id=a)).rating == 1
    # Again, a downvote with a chip: one record, changed.
    await client.post(f"/api/messages/{a}/feedback", json={
        "feedback_type": "downvote", "reasons": ["too_long"]}, headers=key)
    record = await MessageFeedback.get(message_id=a)
    assert (record.feedback_type, record.comment, record.reasons) == \
        ("downvote", "", '["too_long"]')


async def test_the_cookie_session_needs_its_csrf_token(client, fake_upstream):
    _q, a = await exchange(client, fake_upstream, "q", "a")
    response = await client.post(f"/api/messages/{a}/feedback",
                                 json={"feedback_type": "upvote"})
    assert response.status_code == 403
    assert (await response.get_json())["success"] is False
    response = await CsrfClient(client).post(f"/api/messages/{a}/feedback",
                                             json={"feedback_type": "upvote"})
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/messages/{a}/regenerate", {}),
    ("put", "/api/messages/{q}", {"content": "mine now"}),
    ("delete", "/api/messages/{q}", None),
    ("post", "/api/messages/{a}/feedback", {"feedback_type": "upvote"}),
    ("get", "/api/tasks/{a}", None),
    ("get", "/api/conversations/{c}/events", None),
])
async def test_another_persons_ids_are_not_found(app, client, key, fake_upstream, method,
                                                 path, body):
    q, a = await exchange(client, fake_upstream, "q", "a")  # a guest's, not the key's
    c = (await Message.get(id=q)).conversation_id
    kwargs = {"json": body} if body is not None else {}
    response = await app.test_client().open(
        path.format(q=q, a=a, c=c), method=method.upper(), headers=key, **kwargs)
    assert response.status_code == 404
    assert (await response.get_json())["success"] is False
    assert (await Message.get(id=q)).deleted_at is None
    assert await Message.filter(conversation_id=c).count() == 2


@pytest.mark.parametrize(("path", "body", "expected"), [
    ("/api/messages/{a}/regenerate", {"temperature": 3},
     "temperature: input should be less than or equal to 2."),
    ("/api/messages/{a}/regenerate", {"temperature": "warm"},
     "temperature: input should be a valid number."),
    ("/api/messages/{a}/regenerate", {"model": "nobody/such-model"}, "Unknown model"),
    ("/api/messages/{a}/regenerate", [1], "Send a JSON object as the request body."),
    ("/api/messages/{a}/regenerate", "{", "The body is not valid JSON"),
    ("/api/messages/{q}/regenerate", {}, "Only a reply can be regenerated"),
    ("/api/messages/{a}/feedback", {"feedback_type": "meh"}, "feedback_type: input should be"),
    ("/api/messages/{a}/feedback", {}, "feedback_type is required."),
    ("/api/messages/{a}/feedback", {"feedback_type": "upvote", "reasons": ["nope"]},
     "Unknown reason"),
    ("/api/messages/{a}/feedback", {"feedback_type": "upvote", "reason": "x\u0000"}, "NUL"),
    ("/api/messages/{q}/feedback", {"feedback_type": "upvote"}, "Only replies take feedback"),
])
async def test_bad_input_is_a_400_naming_the_field(client, key, fake_upstream, path, body,
                                                   expected):
    q, a = await say(client, key, fake_upstream)
    kwargs = {"data": body, "headers": {**key, "Content-Type": "application/json"}} \
        if isinstance(body, str) else {"json": body, "headers": key}
    response = await client.post(path.format(q=q, a=a), **kwargs)
    assert response.status_code == 400
    answer = await response.get_json()
    assert answer["success"] is False and expected in answer["error"], answer


@pytest.mark.parametrize(("body", "expected"), [
    ({"content": 5}, "content: input should be a valid string."),
    ({"content": "   "}, "The message cannot be empty."),
    ({"content": "x", "trigger_regeneration": "yes"},
     "trigger_regeneration: input should be a valid boolean."),
    ({}, "content is required."),
])
async def test_bad_edits_are_refused(client, key, fake_upstream, body, expected):
    q, a = await say(client, key, fake_upstream)
    response = await client.put(f"/api/messages/{q}", json=body, headers=key)
    assert response.status_code == 400
    assert expected in (await response.get_json())["error"]
    response = await client.put(f"/api/messages/{a}", json={"content": "x"}, headers=key)
    assert "Only your own messages can be edited" in (await response.get_json())["error"]


async def test_a_user_message_is_no_task(client, key, fake_upstream):
    q, _a = await say(client, key, fake_upstream)
    response = await client.get(f"/api/tasks/{q}", headers=key)
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "That task does not exist."


@pytest.mark.config(WRITE_RATE_LIMIT=2)
async def test_the_write_limits_apply(client, key, fake_upstream):
    _q, a = await say(client, key, fake_upstream)  # one write
    first = await client.post(f"/api/messages/{a}/feedback", json={"feedback_type": "upvote"},
                              headers=key)
    assert first.status_code == 200
    refused = await client.post(f"/api/messages/{a}/feedback",
                                json={"feedback_type": "upvote"}, headers=key)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert (await refused.get_json())["success"] is False


async def test_with_the_ai_off_no_path_writes_a_reply(client, key, fake_upstream):
    q, a = await say(client, key, fake_upstream)
    await Conversation.filter(id=(await Message.get(id=q)).conversation_id).update(with_ai=False)
    requests = len(fake_upstream.requests)
    replies = await Message.filter(role=Role.ASSISTANT).count()

    response = await client.post(f"/api/messages/{a}/regenerate", headers=key)
    assert response.status_code == 400 and "The AI is off" in (await response.get_json())["error"]
    body = await (await client.put(f"/api/messages/{q}", json={"content": "q2"},
                                   headers=key)).get_json()
    assert body["success"] is True and body["data"]["task_id"] is None
    # The older JSON routes of the page's buttons: regenerate, retry, continue, Save & rerun.
    version = body["data"]["message_id"]
    response = await client.post(f"/messages/{a}/regenerate", json={}, headers=key)
    assert response.status_code == 400
    assert "The AI is off" in (await response.get_json())["error"]
    response = await client.post(f"/messages/{a}/retry", json={}, headers=key)
    assert response.status_code == 400
    assert "The AI is off" in (await response.get_json())["error"]
    await Message.filter(id=a).update(status=Status.STOPPED)
    response = await client.post(f"/messages/{a}/continue", json={}, headers=key)
    assert response.status_code == 400
    assert "The AI is off" in (await response.get_json())["error"]
    response = await client.post(f"/messages/{version}/edit", json={"content": "q4"},
                                 headers=key)
    assert response.status_code == 200 and (await response.get_json())["message_id"] is None
    assert len(fake_upstream.requests) == requests
    assert await Message.filter(role=Role.ASSISTANT).count() == replies


async def test_save_and_rerun_in_the_page_honours_the_ai_setting(client, fake_upstream):
    q, _a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id
    await Conversation.filter(id=cid).update(with_ai=False)
    response = await act(client, q, "edit", content="q, edited")
    assert response.status_code == 200
    assert await Message.filter(role=Role.ASSISTANT).count() == 1
    assert [text for _role, text in await shown(client, cid)] == ["q, edited"]


async def test_the_page_can_save_an_edit_without_a_rerun(client, fake_upstream):
    q, _a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id
    requests = len(fake_upstream.requests)
    response = await act(client, q, "edit", content="q, saved", rerun="0")
    assert response.status_code == 200
    assert len(fake_upstream.requests) == requests
    assert [text for _role, text in await shown(client, cid)] == ["q, saved"]


async def test_the_routes_and_their_models_are_in_the_openapi_document(client):
    document = await (await client.get("/openapi.json")).get_json()
    paths = document["paths"]
    for path, methods in {
            "/api/messages/{message_id}/regenerate": {"post"},
            "/api/messages/{message_id}": {"put", "delete"},
            "/api/messages/{message_id}/feedback": {"post"},
            "/api/tasks/{task_id}": {"get"},
            "/conversations/": {"get", "post"},
            "/conversations/{conversation_id}/messages": {"get", "post"},
            "/api/v1/chat/": {"post"},
            "/api/v1/chat/conversation/{conversation_id}": {"get", "patch", "delete"},
            "/api/v1/chat/conversations": {"get"}}.items():
        assert methods <= set(paths[path]), path
    edit = paths["/api/messages/{message_id}"]["put"]["requestBody"]["content"]
    schema = edit["application/json"]["schema"]
    assert set(schema["properties"]) == {"content", "trigger_regeneration"}
