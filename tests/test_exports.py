"""Exports (Markdown, JSON, zip) and the JSON import that reads them back."""

import asyncio
import copy
import io
import json
import os
import sys
import zipfile
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from hyperchat.chat import exports
from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, finished, owner_of, start_reply

IMPORT = "/api/chat/sessions/import/"
DOCUMENT_KEYS = ["format", "id", "exportedAt", "title", "createdAt", "archived", "messages"]
MESSAGE_KEYS = ["role", "content", "reasoning", "createdAt", "finishedAt", "status", "rating",
                "modelIdUsed", "promptTokens", "completionTokens", "tokensEstimated", "error"]
THOUGHT = "They want decorators.\n\nShow <b>@cache</b> & a wrapper."
CODE_ANSWER = "Use `@`:\n\n```python\n@cache\ndef f():\n    return 1\n```\n\n<b>raw</b> & émoji 🎉"


async def rich_conversation(client, *, archived=False) -> Conversation:
    """One conversation with every kind of message the app stores."""
    start = datetime(2025, 1, 27, 10, 0, 0, 123456, tzinfo=UTC)
    conversation = await Conversation.create(owner=await owner_of(client), title="Decorators",
                                             archived=archived, created_at=start)

    async def add(minutes, **fields):
        moment = start + timedelta(minutes=minutes)
        return await Message.create(conversation=conversation, created_at=moment,
                                    finished_at=moment + timedelta(seconds=3), **fields)

    await add(0, role=Role.SYSTEM, content="Be brief.")
    await add(1, role=Role.USER, content="How do I use\n  Python decorators?")
    await add(2, role=Role.ASSISTANT, content=CODE_ANSWER, reasoning=THOUGHT, rating=1,
              model_id_used="openai/gpt-4o-mini", prompt_tokens=12, completion_tokens=40)
    await add(3, role=Role.USER, content="And classes?")
    await add(4, role=Role.ASSISTANT, content="Half an ans", status=Status.STOPPED, rating=-1,
              model_id_used="openai/gpt-4o-mini", prompt_tokens=30, completion_tokens=3,
              tokens_estimated=True)
    await add(5, role=Role.ASSISTANT, content="", status=Status.ERROR,
              error="The model provider reported an error (502): boom")
    return conversation


async def export_json(client, conversation_id: int) -> dict:
    response = await client.get(f"/c/{conversation_id}/export.json")
    assert response.status_code == 200
    return json.loads(await response.get_data(as_text=True))


async def import_document(client, document):
    if isinstance(document, bytes):
        return await CsrfClient(client).post(IMPORT, data=document,
                                             headers={"Content-Type": "application/json"})
    return await CsrfClient(client).post(IMPORT, json=document)


def without_identity(document: dict) -> dict:
    """What a round trip keeps: everything but the source id and the export time."""
    return {k: v for k, v in document.items() if k not in ("id", "exportedAt")}


# ----------------------------------------------------------------------------- export


async def test_export_markdown_is_a_transcript_with_role_headings_and_verbatim_content(client):
    conversation = await rich_conversation(client)
    response = await client.get(f"/c/{conversation.id}/export.md")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="conversation-{conversation.id}.md"')
    assert response.headers["Cache-Control"] == "private, no-store"
    assert await response.get_data(as_text=True) == (
        "# Decorators\n\n"
        "## System\n\nBe brief.\n\n"
        "## User\n\nHow do I use\n  Python decorators?\n\n"
        "## Assistant\n\n"
        "> **Thought process**\n>\n> They want decorators.\n>\n"
        "> Show <b>@cache</b> & a wrapper.\n\n"
        f"{CODE_ANSWER}\n\n"
        "## User\n\nAnd classes?\n\n"
        "## Assistant\n\nHalf an ans\n\n*(Stopped before the reply finished.)*\n\n"
        "## Assistant\n\n*(Error: The model provider reported an error (502): boom)*\n")


async def test_export_json_writes_the_documented_v1_format(client):
    conversation = await rich_conversation(client, archived=True)
    response = await client.get(f"/c/{conversation.id}/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="conversation-{conversation.id}.json"')
    document = json.loads(await response.get_data(as_text=True))
    assert list(document) == DOCUMENT_KEYS
    assert document["format"] == "hyperchat.conversation.v1"
    assert (document["id"], document["title"], document["archived"]) == (
        conversation.id, "Decorators", True)
    assert document["createdAt"] == "2025-01-27T10:00:00.123Z"
    assert [list(m) for m in document["messages"]] == [MESSAGE_KEYS] * 6
    assert [m["role"] for m in document["messages"]] == [
        "system", "user", "assistant", "user", "assistant", "assistant"]
    assert document["messages"][2] == {
        "role": "assistant", "content": CODE_ANSWER, "reasoning": THOUGHT,
        "createdAt": "2025-01-27T10:02:00.123Z",
        "finishedAt": "2025-01-27T10:02:03.123Z", "status": "complete", "rating": 1,
        "modelIdUsed": "openai/gpt-4o-mini", "promptTokens": 12, "completionTokens": 40,
        "tokensEstimated": False, "error": None}
    assert (document["messages"][4]["status"], document["messages"][4]["tokensEstimated"]) == (
        "stopped", True)
    assert document["messages"][5]["error"].endswith("boom")


async def test_export_json_of_a_streamed_reply_keeps_model_and_usage(client, fake_upstream):
    await finished(await start_reply(client, fake_upstream,
                                     Tokens(["Hello", " there"], prompt_tokens=11),
                                     content="Say hello"))
    conversation = await Conversation.get()
    document = await export_json(client, conversation.id)
    user, reply = document["messages"]
    assert (user["role"], user["content"]) == ("user", "Say hello")
    assert (reply["content"], reply["status"], reply["modelIdUsed"], reply["promptTokens"]) == (
        "Hello there", "complete", "openai/gpt-4o-mini", 11)


async def test_export_zip_holds_every_conversation_but_the_trash(app, client):
    active = await rich_conversation(client)
    archived = await rich_conversation(client, archived=True)
    trashed = await rich_conversation(client)
    trashed.deleted_at = datetime.now(UTC)
    await trashed.save()
    await rich_conversation(app.test_client())  # someone else's
    response = await client.get("/export/all.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="hyperchat-export-')
    assert disposition.endswith('.zip"')
    with zipfile.ZipFile(io.BytesIO(await response.get_data())) as archive:
        assert sorted(archive.namelist()) == sorted(
            [f"conversation-{active.id}.json", f"conversation-{archived.id}.json"])
        for conversation in (active, archived):
            inside = json.loads(archive.read(f"conversation-{conversation.id}.json"))
            alone = await export_json(client, conversation.id)
            assert without_identity(inside) == without_identity(alone)
            assert inside["id"] == conversation.id


async def test_export_zip_of_a_new_browser_is_an_empty_archive(client):
    response = await client.get("/export/all.zip")
    with zipfile.ZipFile(io.BytesIO(await response.get_data())) as archive:
        assert archive.namelist() == []


@pytest.mark.parametrize("extension", ["md", "json"])
async def test_export_of_someone_elses_conversation_is_not_found(app, client, extension):
    conversation = await rich_conversation(client)
    response = await app.test_client().get(f"/c/{conversation.id}/export.{extension}")
    assert response.status_code == 404
    assert "Decorators" not in await response.get_data(as_text=True)


@pytest.mark.parametrize("extension", ["md", "json"])
async def test_export_of_an_unknown_conversation_is_not_found(client, extension):
    assert (await client.get(f"/c/424242/export.{extension}")).status_code == 404


# ----------------------------------------------------------------------------- import


async def test_import_round_trip_is_identical_except_id_and_export_time(client):
    original = await rich_conversation(client, archived=True)
    first = await export_json(client, original.id)
    response = await import_document(client, first)
    assert response.status_code == 201
    session = await response.get_json()
    assert session["id"] != original.id
    assert response.headers["Location"] == f"/api/chat/sessions/{session['id']}/"
    assert (session["title"], session["archived"], session["messageCount"]) == (
        "Decorators", True, 6)
    assert session["createdAt"] == first["createdAt"]
    # Its place in the list is its latest message's, not the moment of the import.
    assert session["lastActivityAt"] == first["messages"][-1]["createdAt"]
    second = await export_json(client, session["id"])
    assert second["id"] == session["id"]
    assert without_identity(second) == without_identity(first)
    assert second["messages"] == first["messages"]


async def test_import_belongs_to_the_importer_with_a_new_unshared_link(app, client):
    original = await rich_conversation(client)
    await CsrfClient(client).post(f"/c/{original.id}/share")
    document = await export_json(client, original.id)
    other = app.test_client()
    session = await (await import_document(other, document)).get_json()
    copy_ = await Conversation.get(id=session["id"])
    assert copy_.owner == await owner_of(other) != original.owner
    assert copy_.shared_at is None and copy_.deleted_at is None
    assert copy_.share_id != original.share_id
    assert session["shareId"] is None
    assert (await app.test_client().get(f"/share/{copy_.share_id}")).status_code == 404
    # The importer sees it; the original owner's list is unchanged.
    listed = await (await other.get("/api/chat/sessions/")).get_json()
    assert [s["id"] for s in listed["sessions"]] == [copy_.id]
    mine = await (await client.get("/api/chat/sessions/")).get_json()
    assert [s["id"] for s in mine["sessions"]] == [original.id]


async def test_import_fills_in_the_optional_fields(client):
    before = datetime.now(UTC)
    response = await import_document(client, {
        "format": "hyperchat.conversation.v1", "title": "Minimal",
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
    assert response.status_code == 201
    conversation = await Conversation.get(id=(await response.get_json())["id"])
    assert conversation.archived is False and conversation.created_at >= before
    messages = await Message.filter(conversation_id=conversation.id).order_by("id")
    assert [(m.role, m.content, m.status, m.rating, m.tokens_estimated) for m in messages] == [
        (Role.USER, "hi", Status.COMPLETE, 0, False),
        (Role.ASSISTANT, "yo", Status.COMPLETE, 0, False)]
    assert all(m.finished_at == m.created_at for m in messages)


async def test_import_of_a_reply_exported_while_streaming_marks_it_failed(client):
    response = await import_document(client, {
        "format": "hyperchat.conversation.v1", "title": "Cut",
        "messages": [{"role": "assistant", "content": "Par", "status": "streaming",
                      "finishedAt": None}]})
    assert response.status_code == 201
    message = await Message.get(conversation_id=(await response.get_json())["id"])
    assert (message.status, message.content, message.error) == (
        Status.ERROR, "Par", exports.STILL_STREAMING)


async def test_imported_conversation_is_found_by_search(client):
    response = await import_document(client, {
        "format": "hyperchat.conversation.v1", "title": "Imported",
        "messages": [{"role": "user", "content": "zygomorphic flowers"}]})
    session_id = (await response.get_json())["id"]
    found = await (await client.get("/api/chat/sessions/?q=zygomorphic")).get_json()
    assert [s["id"] for s in found["sessions"]] == [session_id]


def valid_document() -> dict:
    return {
        "format": "hyperchat.conversation.v1", "id": 9, "exportedAt": "2025-01-27T11:00:00Z",
        "title": "Valid", "createdAt": "2025-01-27T10:00:00.000Z", "archived": False,
        "messages": [
            {"role": "user", "content": "q", "createdAt": "2025-01-27T10:00:01.000Z",
             "finishedAt": "2025-01-27T10:00:01.000Z", "status": "complete", "rating": 0,
             "modelIdUsed": None, "promptTokens": None, "completionTokens": None,
             "tokensEstimated": False, "error": None},
            {"role": "assistant", "content": "a", "createdAt": "2025-01-27T10:00:02.000Z",
             "finishedAt": "2025-01-27T10:00:03.000Z", "status": "complete", "rating": 1,
             "modelIdUsed": "m", "promptTokens": 1, "completionTokens": 1,
             "tokensEstimated": True, "error": None},
        ],
    }


def changed(path: tuple, value=..., drop=False):
    """valid_document() with one value replaced (or removed) at `path`."""
    document = copy.deepcopy(valid_document())
    target = document
    for key in path[:-1]:
        target = target[key]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


BAD_DOCUMENTS = {
    "not an object": ([valid_document()], "Send a hyperchat.conversation.v1 JSON object"),
    "no format": (changed(("format",), drop=True), '"format" must be'),
    "other format": (changed(("format",), "hyperchat.conversation.v2"), '"format" must be'),
    "unknown key": (changed(("titel",), "x"), "unknown keys: titel"),
    "no title": (changed(("title",), drop=True), 'needs "title"'),
    "empty title": (changed(("title",), "  "), "title is invalid"),
    "long title": (changed(("title",), "x" * 201), "at most 200"),
    "title not text": (changed(("title",), 5), "title is invalid"),
    "NUL in title": (changed(("title",), "a\x00b"), "NUL"),
    "bad createdAt": (changed(("createdAt",), "yesterday"), "createdAt must be an ISO 8601"),
    "naive createdAt": (changed(("createdAt",), "2025-01-27T10:00:00"), "with a timezone"),
    "createdAt not text": (changed(("createdAt",), 1737971200), "createdAt must be an ISO"),
    "archived not bool": (changed(("archived",), "no"), "archived must be true or false"),
    "no messages": (changed(("messages",), drop=True), '"messages" must be a list'),
    "messages not list": (changed(("messages",), {"0": {}}), '"messages" must be a list'),
    "message not object": (changed(("messages", 0), "hi"), "messages[0] must be an object"),
    "message unknown key": (changed(("messages", 0, "text"), "x"), "unknown keys: text"),
    "no role": (changed(("messages", 0, "role"), drop=True), 'messages[0] needs "role"'),
    "bad role": (changed(("messages", 1, "role"), "bot"), "messages[1].role must be"),
    "role not text": (changed(("messages", 1, "role"), ["user"]), "messages[1].role must be"),
    "no content": (changed(("messages", 0, "content"), drop=True), 'needs "content"'),
    "content null": (changed(("messages", 0, "content"), None), "content must be a string"),
    "NUL in content": (changed(("messages", 0, "content"), "a\x00"), "NUL"),
    "bad status": (changed(("messages", 1, "status"), "done"), "messages[1].status must be"),
    "rating 2": (changed(("messages", 1, "rating"), 2), "rating must be 1, 0 or -1"),
    "rating true": (changed(("messages", 1, "rating"), True), "rating must be 1, 0 or -1"),
    "rated question": (changed(("messages", 0, "rating"), 1), "only a reply can be rated"),
    "question with a thought process": (changed(("messages", 0, "reasoning"), "Hmm"),
                                        "only a reply has a thought process"),
    "negative tokens": (changed(("messages", 1, "promptTokens"), -1), "non-negative integer"),
    "fractional tokens": (changed(("messages", 1, "completionTokens"), 1.5), "non-negative"),
    "tokens as text": (changed(("messages", 1, "promptTokens"), "3"), "non-negative integer"),
    "estimated not bool": (changed(("messages", 1, "tokensEstimated"), 1), "true or false"),
    "long model id": (changed(("messages", 1, "modelIdUsed"), "m" * 201), "at most 200"),
    "error not text": (changed(("messages", 1, "error"), 5), "error must be a string or null"),
    "reasoning not text": (changed(("messages", 1, "reasoning"), ["x"]),
                           "messages[1].reasoning must be a string or null"),
    "NUL in reasoning": (changed(("messages", 1, "reasoning"), "a\x00"), "NUL"),
    "bad finishedAt": (changed(("messages", 1, "finishedAt"), "soon"), "finishedAt must be"),
    "out of range": (changed(("messages", 1, "createdAt"), "0001-01-01T00:00:00+01:00"),
                     "createdAt must be an ISO 8601"),
}


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
async def test_import_rejects_a_bad_document_with_a_clear_message(client, name):
    document, expected = BAD_DOCUMENTS[name]
    response = await import_document(client, document)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["ok"] is False and expected in body["error"], body["error"]
    assert await Conversation.all().count() == 0
    assert await Message.all().count() == 0


@pytest.mark.parametrize("raw", [b"", b"not json", b"null", b'{"format": '])
async def test_import_rejects_a_body_that_is_not_json(client, raw):
    response = await import_document(client, raw)
    assert response.status_code == 400
    assert await Conversation.all().count() == 0


async def test_import_accepts_the_valid_example(client):
    assert (await import_document(client, valid_document())).status_code == 201


async def test_import_refuses_more_messages_than_the_limit(client, monkeypatch):
    monkeypatch.setattr(exports, "MAX_MESSAGES", 1)
    response = await import_document(client, valid_document())
    assert response.status_code == 400
    assert "at most 1 messages" in (await response.get_json())["error"]


async def test_import_writes_nothing_when_saving_the_messages_fails(app, monkeypatch):
    # Messages go in by chunks: the second one fails, after the first was saved.
    from hyperchat.store.database import Insert

    saved = Insert.run
    chunks = []

    async def second_fails(self, start=0, stop=None):
        chunks.append(start)
        if len(chunks) == 2:
            raise RuntimeError("disk full")
        await saved(self, start, stop)

    monkeypatch.setattr(exports, "IMPORT_CHUNK", 1)
    monkeypatch.setattr(Insert, "run", second_fails)
    assert len(valid_document()["messages"]) > 1
    with pytest.raises(RuntimeError):
        await exports.import_conversation(valid_document(), "someone")
    assert await Conversation.all().count() == 0
    assert await Message.all().count() == 0


async def test_an_import_is_seen_by_nobody_until_it_is_complete(client, monkeypatch):
    transaction = exports.in_transaction
    seen = []

    @asynccontextmanager
    async def watched():
        async with transaction():
            yield
        # Between two chunks: the person's list does not show it, nor anybody's trash.
        listed = await (await client.get("/api/chat/sessions/")).get_json()
        trash = await Conversation.filter(deleted_at__isnull=False).values_list("owner",
                                                                                flat=True)
        seen.append((listed["total"], trash))

    monkeypatch.setattr(exports, "IMPORT_CHUNK", 1)
    monkeypatch.setattr(exports, "in_transaction", watched)
    response = await import_document(client, valid_document())
    assert response.status_code == 201
    assert len(seen) == len(valid_document()["messages"])
    assert all(total == 0 and owners == [""] for total, owners in seen)
    assert (await (await client.get("/api/chat/sessions/")).get_json())["total"] == 1


# ----------------------------------------------------------------------------- command line


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hyperchat.chat.exports", *args,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_command_line_exports_and_imports_a_conversation(client, database_url, tmp_path):
    original = await rich_conversation(client)
    path = tmp_path / "export.json"
    code, _, err = await run_cli(database_url, "export", str(original.id), str(path))
    assert code == 0, err
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert without_identity(exported) == without_identity(
        await export_json(client, original.id))
    code, out, err = await run_cli(database_url, "import", str(path), "--owner", "someone")
    assert code == 0, err
    imported = await Conversation.get(id=int(out))
    assert imported.owner == "someone" and imported.title == "Decorators"
    assert await Message.filter(conversation_id=imported.id).count() == 6
    code, out, err = await run_cli(database_url, "export", str(original.id), "-")
    assert code == 0, err
    assert without_identity(json.loads(out)) == without_identity(exported)
    markdown = tmp_path / "export.md"
    code, _, err = await run_cli(database_url, "export", str(original.id), str(markdown))
    assert code == 0, err
    assert markdown.read_text(encoding="utf-8").startswith("# Decorators\n\n## System\n")


async def test_command_line_reports_a_bad_file(client, database_url, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "nope"}), encoding="utf-8")
    code, _, err = await run_cli(database_url, "import", str(path), "--owner", "someone")
    assert code == 1 and '"format" must be' in err
    code, _, err = await run_cli(database_url, "export", "424242", str(tmp_path / "x.json"))
    assert code == 1 and "no conversation 424242" in err
    assert await Conversation.all().count() == 0

