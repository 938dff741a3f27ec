"""The chat sessions JSON API (/api/chat/sessions/, seed 003): shapes, filters, errors."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.helpers import CsrfClient, owner_of

API = "/api/chat/sessions"
SESSION_KEYS = {"id", "title", "createdAt", "updatedAt", "lastActivityAt", "archived",
                "deletedAt", "messageCount", "sharedAt", "shareId", "shareUrl"}
MESSAGE_KEYS = {"id", "role", "content", "reasoning", "createdAt", "status", "rating",
                "modelIdUsed", "promptTokens", "completionTokens", "tokensEstimated", "error",
                "author"}


async def call(client, method, path, **kwargs):
    """Send an API request with the session's CSRF token."""
    if kwargs.get("json", ...) is None:
        del kwargs["json"]  # no body at all, rather than a JSON null
    return await getattr(CsrfClient(client), method)(path, **kwargs)


async def make(client, title="Chat", *, archived=False, trashed=False, messages=0,
               last_activity=None) -> Conversation:
    """A conversation of `client`'s session, straight in the database."""
    conversation = await Conversation.create(
        owner=await owner_of(client), title=title, archived=archived,
        deleted_at=datetime.now(UTC) if trashed else None,
        last_activity_at=last_activity or datetime.now(UTC))
    for i in range(messages):
        await Message.create(conversation=conversation, role=Role.USER if i % 2 == 0 else
                             Role.ASSISTANT, content=f"message {i}", finished_at=datetime.now(UTC))
    return conversation


# ----------------------------------------------------------------------------- list


async def test_list_sessions_is_empty_for_a_new_browser(client):
    response = await client.get(f"{API}/")
    assert response.status_code == 200
    assert await response.get_json() == {"sessions": [], "page": 1, "pageSize": 30, "total": 0,
                                         "hasMore": False}


async def test_list_sessions_shape_is_camel_case_with_message_count(client):
    conversation = await make(client, "Decorators", messages=3)
    body = await (await client.get(f"{API}/")).get_json()
    [session] = body["sessions"]
    assert set(session) == SESSION_KEYS
    assert session["id"] == conversation.id and session["title"] == "Decorators"
    assert session["messageCount"] == 3
    assert session["archived"] is False and session["deletedAt"] is None
    assert session["shareId"] is None and session["shareUrl"] is None
    assert session["createdAt"].endswith("Z")
    assert datetime.fromisoformat(session["createdAt"]) - conversation.created_at < timedelta(
        milliseconds=1)


async def test_list_sessions_paginates_most_recent_activity_first(client):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made = [await make(client, f"chat {i}", last_activity=start + timedelta(hours=i))
            for i in range(5)]
    newest_first = [c.id for c in reversed(made)]
    pages = []
    for page in (1, 2, 3):
        body = await (await client.get(f"{API}/?page={page}&pageSize=2")).get_json()
        assert (body["page"], body["pageSize"], body["total"]) == (page, 2, 5)
        assert body["hasMore"] is (page < 3)
        pages.append([s["id"] for s in body["sessions"]])
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    body = await (await client.get(f"{API}/?page=4&pageSize=2")).get_json()
    assert body["sessions"] == [] and body["hasMore"] is False


async def test_list_sessions_shows_active_by_default_archived_on_request_never_trash(client):
    active = await make(client, "active")
    archived = await make(client, "archived", archived=True)
    await make(client, "trashed", trashed=True)
    await make(client, "trashed archived", archived=True, trashed=True)

    async def ids(query=""):
        body = await (await client.get(f"{API}/{query}")).get_json()
        return [s["id"] for s in body["sessions"]], body["total"]

    assert await ids() == ([active.id], 1)
    assert await ids("?archived=false") == ([active.id], 1)
    assert await ids("?archived=true") == ([archived.id], 1)


async def test_list_sessions_shows_only_the_callers_sessions(app, client):
    await make(client, "mine")
    stranger = app.test_client()
    body = await (await stranger.get(f"{API}/")).get_json()
    assert body["sessions"] == [] and body["total"] == 0


async def test_list_sessions_counts_messages_without_a_query_per_session(client, caplog):
    async def queries_for_listing() -> int:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            response = await client.get(f"{API}/?pageSize=100")
        assert response.status_code == 200
        return len(caplog.records)

    await make(client, messages=2)
    few = await queries_for_listing()
    assert 0 < few <= 3  # the page, its total, the message counts
    for _ in range(10):
        await make(client, messages=2)
    assert await queries_for_listing() == few
    body = await (await client.get(f"{API}/")).get_json()
    assert [s["messageCount"] for s in body["sessions"]] == [2] * 11


async def test_list_sessions_searches_titles_and_messages_with_q(client):
    title_hit = await make(client, "Python decorators")
    message_hit = await make(client, "Other")
    await Message.create(conversation=message_hit, role=Role.USER,
                         content="how do decorators wrap a function?")
    await make(client, "Unrelated", messages=2)
    archived_hit = await make(client, "Archived decorators", archived=True)
    await make(client, "Trashed decorators", trashed=True)

    body = await (await client.get(f"{API}/?q=decorators")).get_json()
    assert sorted(s["id"] for s in body["sessions"]) == sorted([title_hit.id, message_hit.id])
    assert body["total"] == 2 and body["hasMore"] is False
    body = await (await client.get(f"{API}/?q=decorators&archived=true")).get_json()
    assert [s["id"] for s in body["sessions"]] == [archived_hit.id]
    body = await (await client.get(f"{API}/?q=decorators&pageSize=1")).get_json()
    assert len(body["sessions"]) == 1 and body["total"] == 2 and body["hasMore"] is True
    body = await (await client.get(f"{API}/?q=nothingmatchesthis")).get_json()
    assert body["sessions"] == [] and body["total"] == 0


async def test_list_sessions_search_lists_a_conversation_once_however_many_hits(client):
    conversation = await make(client, "decorators again")
    for _ in range(3):
        await Message.create(conversation=conversation, role=Role.USER, content="decorators")
    body = await (await client.get(f"{API}/?q=decorators")).get_json()
    assert [s["id"] for s in body["sessions"]] == [conversation.id]
    assert body["sessions"][0]["messageCount"] == 3


@pytest.mark.parametrize("query", [
    "page=0", "page=-1", "page=x", "page=1.5", "pageSize=0", "pageSize=101", "pageSize=ten",
    "archived=yes", "archived=1", "archived=",
])
async def test_list_sessions_rejects_bad_query_parameters(client, query):
    response = await client.get(f"{API}/?{query}")
    assert response.status_code == 400
    body = await response.get_json()
    assert body["ok"] is False and query.split("=")[0] in body["error"]


async def test_api_paths_work_with_and_without_the_trailing_slash(client):
    conversation = await make(client)
    for path in (API, f"{API}/", f"{API}/{conversation.id}", f"{API}/{conversation.id}/",
                 f"{API}/stats", f"{API}/stats/"):
        assert (await client.get(path)).status_code == 200, path
    response = await call(client, "post", API, json={})
    assert response.status_code == 201


# ----------------------------------------------------------------------------- create


async def test_create_session_makes_an_empty_new_chat(client):
    response = await call(client, "post", f"{API}/")
    assert response.status_code == 201
    body = await response.get_json()
    assert set(body) == SESSION_KEYS
    assert body["title"] == "New chat" and body["messageCount"] == 0
    assert response.headers["Location"] == f"{API}/{body['id']}/"
    conversation = await Conversation.get(id=body["id"])
    assert conversation.owner == await owner_of(client)
    assert conversation.shared_at is None and conversation.deleted_at is None
    listed = await (await client.get(f"{API}/")).get_json()
    assert [s["id"] for s in listed["sessions"]] == [body["id"]]


async def test_create_session_takes_a_title_and_cleans_its_whitespace(client):
    response = await call(client, "post", f"{API}/", json={"title": "  How to\n use   decorators "})
    assert response.status_code == 201
    assert (await response.get_json())["title"] == "How to use decorators"


BAD_TITLES = ["", "   ", "x" * 201, 5, None, True, ["a"], {"a": 1}, "nul\x00byte"]


@pytest.mark.parametrize("title", BAD_TITLES)
async def test_create_session_rejects_an_invalid_title(client, title):
    response = await call(client, "post", f"{API}/", json={"title": title})
    assert response.status_code == 400
    assert (await response.get_json())["ok"] is False
    assert await Conversation.all().count() == 0


@pytest.mark.parametrize(("body", "error"), [
    (b"[1]", "Send a JSON object as the request body."),
    (b"not json", "The body is not valid JSON: Expecting value (line 1, column 1)."),
    (b"null", "Send a JSON object as the request body."),
    (b'"title"', "Send a JSON object as the request body."),
    (b"42", "Send a JSON object as the request body."),
])
async def test_create_session_rejects_a_body_that_is_not_a_json_object(client, body, error):
    response = await call(client, "post", f"{API}/", data=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert (await response.get_json())["error"] == error
    assert await Conversation.all().count() == 0


# ----------------------------------------------------------------------------- show


async def test_show_session_includes_its_messages_oldest_first(client):
    conversation = await make(client, "Decorators")
    question = await Message.create(conversation=conversation, role=Role.USER,
                                    content="How do I use decorators?")
    answer = await Message.create(
        conversation=conversation, role=Role.ASSISTANT, content="Like **this**.\n\n```py\n@x\n```",
        rating=1, model_id_used="openai/gpt-4o-mini", prompt_tokens=7, completion_tokens=9)
    failed = await Message.create(conversation=conversation, role=Role.ASSISTANT, content="Par",
                                  status=Status.ERROR, error="The provider failed.",
                                  tokens_estimated=True, completion_tokens=1)
    response = await client.get(f"{API}/{conversation.id}/")
    assert response.status_code == 200
    body = await response.get_json()
    assert set(body) == SESSION_KEYS | {"messages"}
    assert body["messageCount"] == 3
    assert [set(m) for m in body["messages"]] == [MESSAGE_KEYS] * 3
    assert [m["id"] for m in body["messages"]] == [question.id, answer.id, failed.id]
    assert body["messages"][0] == {
        "id": question.id, "role": "user", "content": "How do I use decorators?",
        "reasoning": None, "createdAt": body["messages"][0]["createdAt"], "status": "complete",
        "rating": 0,
        "modelIdUsed": None, "promptTokens": None, "completionTokens": None,
        "tokensEstimated": False, "error": None,
        # A guest's message: no account, no name (names are shown in rooms only).
        "author": {"user_id": None, "username": None}}
    assert body["messages"][1]["content"] == "Like **this**.\n\n```py\n@x\n```"
    assert (body["messages"][1]["rating"], body["messages"][1]["modelIdUsed"],
            body["messages"][1]["promptTokens"], body["messages"][1]["completionTokens"]) == (
        1, "openai/gpt-4o-mini", 7, 9)
    assert (body["messages"][2]["status"], body["messages"][2]["error"],
            body["messages"][2]["tokensEstimated"]) == ("error", "The provider failed.", True)


async def test_show_session_reveals_the_share_link_only_while_shared(client):
    conversation = await make(client)
    body = await (await client.get(f"{API}/{conversation.id}/")).get_json()
    assert body["shareId"] is None and body["sharedAt"] is None
    await call(client, "post", f"/c/{conversation.id}/share",
               headers={"Accept": "application/json"})
    body = await (await client.get(f"{API}/{conversation.id}/")).get_json()
    assert body["shareId"] == conversation.share_id
    assert body["shareUrl"] == f"http://localhost/share/{conversation.share_id}"
    assert body["sharedAt"] is not None


# ----------------------------------------------------------------------------- update


async def test_update_session_renames_it(client):
    conversation = await make(client, "Old")
    response = await call(client, "put", f"{API}/{conversation.id}/", json={"title": " New "})
    assert response.status_code == 200
    body = await response.get_json()
    assert body["title"] == "New" and body["archived"] is False
    assert (await Conversation.get(id=conversation.id)).title == "New"


async def test_update_session_archives_and_unarchives_it(client):
    conversation = await make(client)
    body = await (await call(client, "put", f"{API}/{conversation.id}/",
                             json={"archived": True})).get_json()
    assert body["archived"] is True
    listed = await (await client.get(f"{API}/?archived=true")).get_json()
    assert [s["id"] for s in listed["sessions"]] == [conversation.id]
    body = await (await call(client, "put", f"{API}/{conversation.id}/",
                             json={"archived": False})).get_json()
    assert body["archived"] is False
    assert (await Conversation.get(id=conversation.id)).archived is False


async def test_update_session_renames_and_archives_at_once_and_ignores_other_keys(client):
    conversation = await make(client, "Old", messages=2)
    response = await call(client, "put", f"{API}/{conversation.id}/",
                          json={"title": "New", "archived": True, "color": "red"})
    body = await response.get_json()
    assert (body["title"], body["archived"], body["messageCount"]) == ("New", True, 2)


@pytest.mark.parametrize("payload", [
    *({"title": title} for title in BAD_TITLES),
    {"archived": "true"}, {"archived": 1}, {"archived": None},
    {"title": "Fine", "archived": "yes"},  # nothing is saved when one field is wrong
    {"title": "x" * 201, "archived": True},
    {}, {"name": "New"},
])
async def test_update_session_rejects_invalid_input_and_changes_nothing(client, payload):
    conversation = await make(client, "Old")
    response = await call(client, "put", f"{API}/{conversation.id}/", json=payload)
    assert response.status_code == 400
    assert (await response.get_json())["ok"] is False
    after = await Conversation.get(id=conversation.id)
    assert (after.title, after.archived) == ("Old", False)


@pytest.mark.parametrize("body", [b"[1]", b"not json", b"null", b""])
async def test_update_session_rejects_a_body_that_is_not_a_json_object(client, body):
    conversation = await make(client, "Old")
    response = await call(client, "put", f"{API}/{conversation.id}/", data=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert (await Conversation.get(id=conversation.id)).title == "Old"


# ----------------------------------------------------------------------------- delete, restore


async def test_delete_session_moves_it_to_the_trash(client):
    conversation = await make(client, messages=2)
    response = await call(client, "delete", f"{API}/{conversation.id}/")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["id"] == conversation.id and body["deletedAt"] is not None
    assert (await (await client.get(f"{API}/")).get_json())["sessions"] == []
    stats = await (await client.get(f"{API}/stats/")).get_json()
    assert (stats["trash"], stats["active"]) == (1, 0)
    assert await Message.filter(conversation_id=conversation.id).count() == 2
    shown = await client.get(f"{API}/{conversation.id}/")  # still readable, to restore it
    assert shown.status_code == 200


async def test_deleting_a_session_twice_keeps_the_first_trash_date(client):
    conversation = await make(client)
    first = await (await call(client, "delete", f"{API}/{conversation.id}/")).get_json()
    second = await (await call(client, "delete", f"{API}/{conversation.id}/")).get_json()
    assert second["deletedAt"] == first["deletedAt"]


async def test_permanent_delete_removes_messages_and_kills_the_share_link(app, client):
    conversation = await make(client, messages=2)
    await call(client, "post", f"/c/{conversation.id}/share",
               headers={"Accept": "application/json"})
    share_url = f"/share/{conversation.share_id}"
    assert (await app.test_client().get(share_url)).status_code == 200
    response = await call(client, "delete", f"{API}/{conversation.id}/?permanent=true")
    assert response.status_code == 204
    assert await response.get_data() == b""
    assert not await Conversation.filter(id=conversation.id).exists()
    assert await Message.filter(conversation_id=conversation.id).count() == 0
    assert (await app.test_client().get(share_url)).status_code == 404
    assert (await client.get(f"{API}/{conversation.id}/")).status_code == 404


async def test_permanent_delete_false_only_moves_to_the_trash(client):
    conversation = await make(client)
    response = await call(client, "delete", f"{API}/{conversation.id}/?permanent=false")
    assert response.status_code == 200
    assert (await Conversation.get(id=conversation.id)).deleted_at is not None


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""])
async def test_delete_session_rejects_other_permanent_values(client, value):
    conversation = await make(client)
    response = await call(client, "delete", f"{API}/{conversation.id}/?permanent={value}")
    assert response.status_code == 400
    assert (await Conversation.get(id=conversation.id)).deleted_at is None


async def test_restore_session_takes_it_out_of_the_trash(client):
    conversation = await make(client, trashed=True)
    response = await call(client, "post", f"{API}/{conversation.id}/restore/")
    assert response.status_code == 200
    assert (await response.get_json())["deletedAt"] is None
    listed = await (await client.get(f"{API}/")).get_json()
    assert [s["id"] for s in listed["sessions"]] == [conversation.id]


async def test_restore_session_not_in_the_trash_changes_nothing(client):
    conversation = await make(client)
    before = await (await client.get(f"{API}/{conversation.id}/")).get_json()
    del before["messages"]
    response = await call(client, "post", f"{API}/{conversation.id}/restore")
    assert response.status_code == 200
    assert await response.get_json() == before


# ----------------------------------------------------------------------------- stats


async def test_stats_counts_in_camel_case(client):
    conversation = await make(client, messages=1)
    await Message.create(conversation=conversation, role=Role.ASSISTANT, content="x",
                         prompt_tokens=10, completion_tokens=15)
    await make(client, archived=True)
    await make(client, trashed=True)
    response = await client.get(f"{API}/stats/")
    assert response.status_code == 200
    assert await response.get_json() == {
        "total": 3, "active": 1, "archived": 1, "trash": 1, "messages": 2,
        "promptTokens": 10, "completionTokens": 15, "tokens": 25}


# ----------------------------------------------------------------------------- authorization


def endpoints(conversation_id: int):
    """Every endpoint that names a session: (method, path, JSON body)."""
    path = f"{API}/{conversation_id}/"
    return [("get", path, None), ("put", path, {"title": "Mine now"}), ("delete", path, None),
            ("delete", path + "?permanent=true", None), ("post", path + "restore/", None)]


async def test_foreign_session_is_not_found_on_every_endpoint(app, client):
    conversation = await make(client, "Private", messages=1, trashed=False)
    stranger = app.test_client()
    for method, path, payload in endpoints(conversation.id):
        response = await call(stranger, method, path, json=payload)
        assert response.status_code == 404, (method, path)
        assert await response.get_json() == {"ok": False,
                                             "error": "That conversation does not exist."}
    after = await Conversation.get(id=conversation.id)
    assert (after.title, after.deleted_at) == ("Private", None)
    assert await Message.filter(conversation_id=conversation.id).count() == 1


async def test_unknown_session_is_not_found_with_the_same_answer(client):
    for method, path, payload in endpoints(424242):
        response = await call(client, method, path, json=payload)
        assert response.status_code == 404, (method, path)
        assert await response.get_json() == {"ok": False,
                                             "error": "That conversation does not exist."}


def mutations(conversation_id: int):
    path = f"{API}/{conversation_id}/"
    return [("post", f"{API}/", {"title": "x"}), ("put", path, {"title": "Changed"}),
            ("delete", path, None), ("delete", path + "?permanent=true", None),
            ("post", path + "restore/", None),
            ("post", f"{API}/import/", {"format": "hyperchat.conversation.v1",
                                        "title": "x", "messages": []})]


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
async def test_mutating_endpoints_require_the_csrf_token(client, token):
    conversation = await make(client, "Kept", trashed=False)
    for method, path, payload in mutations(conversation.id):
        headers = {} if token is None else {"X-CSRF-Token": token}
        body = {} if payload is None else {"json": payload}
        response = await getattr(client, method)(path, headers=headers, **body)
        assert response.status_code == 403, (method, path)
        body = await response.get_json()  # JSON, although the check runs before the view
        assert body["ok"] is False and "CSRF" in body["error"]
    assert await Conversation.all().count() == 1
    assert (await Conversation.get(id=conversation.id)).title == "Kept"


async def test_csrf_error_is_json_without_a_json_body_or_accept_header(app):
    fresh = app.test_client()  # no session at all
    response = await fresh.delete(f"{API}/1/")
    assert response.status_code == 403
    assert response.mimetype == "application/json"
    assert (await response.get_json())["ok"] is False


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", f"{API}/abc/", 404), ("get", f"{API}/1/messages/", 404),
    ("patch", f"{API}/1/", 405), ("put", f"{API}/", 405),
])
async def test_unrouted_api_paths_answer_json_errors_too(client, method, path, status):
    response = await call(client, method, path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert (await response.get_json())["ok"] is False


async def test_html_pages_keep_their_html_errors(client):
    response = await client.get("/c/424242")
    assert response.status_code == 404 and response.mimetype == "text/html"
