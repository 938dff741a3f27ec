"""Every message action refuses what it cannot act on: unknown, someone else's, deleted,
still streaming, the wrong kind of message, bad input; as an htmx alert and as JSON."""

from datetime import UTC, datetime

import pytest

from hyperchat.chat import versions
from hyperchat.store.schema import ActionLog, Message, Status
from tests.helpers import CsrfClient, act, exchange, soup

ACTIONS = ["edit", "regenerate", "select", "delete", "restore", "continue", "feedback"]
FORMS = {"edit": {"content": "new text"}, "feedback": {"feedback_type": "downvote"}}


@pytest.mark.parametrize("action", ACTIONS)
async def test_unknown_message_is_not_found(client, action):
    response = await act(client, 999, action, **FORMS.get(action, {}))
    assert response.status_code == 404
    assert "does not exist" in soup(await response.get_data(as_text=True)).get_text()


@pytest.mark.parametrize("action", ACTIONS)
async def test_someone_elses_message_is_not_found(app, client, fake_upstream, action):
    q, a = await exchange(client, fake_upstream, "q", "a")
    stranger = app.test_client()
    response = await act(stranger, a if action != "edit" else q, action, **FORMS.get(action, {}))
    assert response.status_code == 404
    assert (await Message.filter(deleted_at__isnull=False).count()) == 0
    assert await Message.all().count() == 2


@pytest.mark.parametrize("action", ["edit", "regenerate", "select", "delete", "continue",
                                    "feedback"])
async def test_deleted_message_is_gone(client, fake_upstream, action):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await act(client, q, "delete")
    target = q if action == "edit" else a
    response = await act(client, target, action, **FORMS.get(action, {}))
    assert response.status_code == 404
    assert "was deleted" in await response.get_data(as_text=True)


@pytest.mark.parametrize(("action", "expected"), [
    ("regenerate", "still being written"), ("delete", "still being written"),
    ("continue", "still being written"),
])
async def test_streaming_reply_is_refused(client, fake_upstream, action, expected):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await Message.filter(id=a).update(status=Status.STREAMING)
    response = await act(client, a, action)
    assert response.status_code == 400
    assert expected in await response.get_data(as_text=True)


@pytest.mark.parametrize(("meanwhile", "status", "expected"), [
    ({"status": Status.STREAMING}, 400,
     "This reply is still being written: stop it or let it finish, then retry."),
    ({"deleted_at": datetime.now(UTC)}, 404, "That message was deleted."),
])
async def test_retry_checks_again_under_the_conversations_lock(client, fake_upstream, monkeypatch,
                                                              meanwhile, status, expected):
    # Another tab retries or deletes the reply between this request's checks and the lock:
    # what the lock's holder reads decides, and nothing is started, saved or audited.
    q, a = await exchange(client, fake_upstream, "q", "a")
    take_lock = versions.lock

    async def lock_after_another_tab(conversation_id):
        await Message.filter(id=a).update(**meanwhile)
        await take_lock(conversation_id)

    monkeypatch.setattr(versions, "lock", lock_after_another_tab)
    response = await act(client, a, "retry")
    assert response.status_code == status
    assert expected in soup(await response.get_data(as_text=True)).get_text()
    assert await Message.filter(parent_id=q).count() == 1
    assert not await ActionLog.filter(action_type="regenerate").exists()
    assert len(fake_upstream.requests) == 1


async def test_editing_a_message_whose_reply_streams_is_refused(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await Message.filter(id=a).update(status=Status.STREAMING)
    for action, form in (("edit", {"content": "other"}), ("delete", {})):
        response = await act(client, q, action, **form)
        assert response.status_code == 400
        assert "still being written" in await response.get_data(as_text=True)


@pytest.mark.parametrize(("action", "which", "form", "expected"), [
    ("edit", "reply", {"content": "x"}, "Only your own messages can be edited"),
    ("regenerate", "user", {}, "Only a reply can be regenerated"),
    ("continue", "user", {}, "Only a reply can be continued"),
    ("feedback", "user", {"feedback_type": "upvote"}, "Only replies take feedback"),
    ("edit", "user", {"content": "   "}, "cannot be empty"),
    ("edit", "user", {"content": "q"}, "The text is unchanged"),
    ("edit", "user", {"content": "x" * 10_001}, "the limit is 10,000"),
    ("regenerate", "reply", {"temperature": "hot"}, "Temperature must be a number"),
    ("regenerate", "reply", {"temperature": "2.5"}, "Temperature must be a number"),
    ("regenerate", "reply", {"model": "nobody/no-such-model"}, "Unknown model"),
    ("restore", "reply", {}, "not deleted"),
    ("feedback", "reply", {"feedback_type": "meh"}, "feedback_type must be"),
    ("feedback", "reply", {"feedback_type": "upvote", "reasons": "too_long"}, "Unknown reason"),
    ("feedback", "reply", {"feedback_type": "downvote", "comment": "x" * 10_001},
     "the limit is 10,000"),
])
async def test_bad_requests_say_what_is_wrong(client, fake_upstream, action, which, form,
                                              expected):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await act(client, q if which == "user" else a, action, **form)
    assert response.status_code == 400
    body = soup(await response.get_data(as_text=True))
    assert expected in body.get_text()
    # htmx shows it in the page's alert region; nothing the person typed is replaced.
    assert response.headers["HX-Retarget"] == "#alerts"
    assert await Message.all().count() == 2


async def test_errors_are_json_for_json_clients(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await CsrfClient(client).post(f"/messages/{q}/regenerate",
                                             headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert (await response.get_json())["ok"] is False


@pytest.mark.config(MESSAGE_UNDO_SECONDS=0)
async def test_undo_is_refused_after_the_undo_window(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await act(client, q, "delete")
    response = await act(client, q, "restore")
    assert response.status_code == 400
    assert "too late" in await response.get_data(as_text=True)


async def test_actions_need_the_csrf_token(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    response = await client.post(f"/messages/{a}/delete", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert (await Message.get(id=a)).deleted_at is None
