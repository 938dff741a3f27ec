"""Files in a conversation: sent with a message, given to the model as a delimited document
block, shown on the bubble, refused while still being read, and gone with the conversation."""

from urllib.parse import urlencode

import pytest

from hyperchat.chat import conversations
from hyperchat.store.schema import Attachment, Conversation
from tests import files_helpers as made
from tests.helpers import CsrfClient, csrf, finished, new_id, sent, soup, wait_until
from tests.test_files_api import UPLOAD, stored, upload

pytestmark = pytest.mark.config(ATTACHMENT_MAX_TOKENS=1000)


async def send(client, content: str, conversation_id: int | None = None, *,
               attachments: list[str] = (), token: str | None = None):
    """The composer's POST /messages with its ready chips' repeated `attachments` fields."""
    pairs = [("content", content), ("csrf_token", token or await csrf(client))]
    pairs += [("attachments", a) for a in attachments]
    if conversation_id:
        pairs.append(("conversation_id", str(conversation_id)))
    return await client.post("/messages", data=urlencode(pairs), headers={
        "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"})


async def uploaded(client, name: str, data: bytes) -> int:
    found = await (await upload(CsrfClient(client), UPLOAD, ("file", name, data))).get_json()
    assert found["status"] == "ready", found
    return found["id"]


async def test_the_model_gets_the_document_with_the_message(client, fake_upstream):
    pdf_id = await uploaded(client, "report.pdf", made.text_pdf(["Revenue was 42 million"]))
    text_id = await uploaded(client, "notes.txt", b"remember the milk\n")
    response = await send(client, "Summarize these", attachments=[str(pdf_id), str(text_id)])
    assert response.status_code == 200, await response.get_data(as_text=True)
    reply_id = new_id(await response.get_data(as_text=True))[-1]
    await finished(reply_id)
    [(role, content)] = sent(fake_upstream)
    assert role == "user"
    assert content == ('<document name="report.pdf" kind="PDF" pages="1">\n'
                       "Revenue was 42 million\n</document>\n\n"
                       '<document name="notes.txt" kind="Text">\nremember the milk\n'
                       "</document>\n\nSummarize these")
    # The next message in the conversation still carries the earlier file as context.
    conversation = await Conversation.get()
    response = await send(client, "And again?", conversation.id)
    await finished(new_id(await response.get_data(as_text=True))[-1])
    history = sent(fake_upstream)
    assert history[0][1].startswith('<document name="report.pdf"')
    assert history[-1] == ("user", "And again?")


async def test_the_bubble_shows_the_files_after_a_reload_and_the_owner_downloads(client,
                                                                              fake_upstream):
    attachment_id = await uploaded(client, "a.docx", made.docx_file())
    response = await send(client, "", attachments=[str(attachment_id)])
    await finished(new_id(await response.get_data(as_text=True))[-1])
    conversation = await Conversation.get()
    assert conversation.title == "a.docx"  # a file alone: the title is its name
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    [item] = page.select("article.message.user .attached-file")
    link = item.select_one("a.attached-name")
    assert link.get_text() == "a.docx"
    assert "Word" in item.select_one(".attached-meta").get_text()
    assert (await client.get(link["href"])).status_code == 200


async def test_a_file_still_being_read_is_refused_and_the_message_kept(client):
    attachment = await Attachment.create(owner="nobody-yet", name="x.pdf", kind="pdf",
                                         media_type="application/pdf", size=10,
                                         sha256="0" * 64)
    token = await csrf(client)
    async with client.session_transaction() as session:
        owner = session["user_identifier"]
    await Attachment.filter(id=attachment.id).update(owner=owner)
    response = await send(client, "my long typed text", token=token,
                          attachments=[str(attachment.id)])
    assert response.status_code == 400
    assert "still being read" in await response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert await Conversation.all().count() == 0


async def test_someone_elses_upload_cannot_be_sent(app, client):
    other = app.test_client()
    theirs = await uploaded(other, "t.txt", b"theirs\n")
    response = await send(client, "steal", attachments=[str(theirs)])
    assert response.status_code == 400
    assert "gone" in await response.get_data(as_text=True)


async def test_too_long_is_truncated_visibly(client, fake_upstream):
    attachment_id = await uploaded(client, "long.txt", b"word " * 2000)  # ~2,500 tokens
    found = await (await client.get(f"/api/v1/files/{attachment_id}")).get_json()
    assert found["truncated"] is True and len(found["extracted_text"]) == 4000
    response = await send(client, "read it", attachments=[str(attachment_id)])
    await finished(new_id(await response.get_data(as_text=True))[-1])
    block = sent(fake_upstream)[0][1]
    assert 'truncated="only the first 4,000 characters of about 10,000"' in block


@pytest.mark.config(ATTACHMENT_OVERFLOW="refuse")
async def test_too_long_is_refused_when_so_set(client):
    response = await upload(CsrfClient(client), UPLOAD, ("file", "long.txt", b"word " * 2000))
    assert response.status_code == 422
    assert "limit per file is 1,000" in (await response.get_json())["error"]


async def test_files_go_with_their_conversation_after_the_trash(app, client, fake_upstream):
    attachment_id = await uploaded(client, "a.txt", b"kept until purged\n")
    response = await send(client, "hi", attachments=[str(attachment_id)])
    await finished(new_id(await response.get_data(as_text=True))[-1])
    conversation = await Conversation.get()
    await conversations.move_to_trash(conversation)
    assert len(stored(app)) == 1  # in the trash: still there
    from datetime import UTC, datetime, timedelta
    await conversations.purge_trash(30, now=datetime.now(UTC) + timedelta(days=31))
    assert await Attachment.all().count() == 0
    files = app.app.extensions["files"]
    # The original is old enough to collect (a fresh one may belong to a row being written).
    import os
    import time
    for path in stored(app):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    assert await files.collect(24) == 1
    assert stored(app) == []


async def test_uploads_never_sent_are_forgotten(app, client):
    attachment_id = await uploaded(client, "a.txt", b"staged\n")
    from datetime import UTC, datetime, timedelta
    await Attachment.filter(id=attachment_id).update(
        created_at=datetime.now(UTC) - timedelta(hours=25))
    await app.app.extensions["files"].collect(24)
    assert await Attachment.all().count() == 0


async def test_extracting_chip_polls_and_cancel_removes_everything(app, client):
    browser = CsrfClient(client)
    response = await upload(browser, UPLOAD, ("file", "r.pdf", made.text_pdf(["x"] * 40)),
                            headers={"HX-Request": "true"})
    chip = soup(await response.get_data(as_text=True)).select_one("li.chip")
    assert chip["data-status"] == "extracting" and chip["hx-trigger"].startswith("load")
    remove = chip.select_one(".chip-remove")["data-remove-url"]
    assert (await browser.delete(remove, headers={"HX-Request": "true"})).status_code == 200
    assert await Attachment.all().count() == 0

    async def gone():
        return stored(app) == []
    await wait_until(gone, timeout=10)


async def test_exports_carry_the_files_text_and_import_brings_it_back(client, fake_upstream):
    attachment_id = await uploaded(client, "plan.docx", made.docx_file())
    response = await send(client, "see the plan", attachments=[str(attachment_id)])
    await finished(new_id(await response.get_data(as_text=True))[-1])
    conversation = await Conversation.get()
    document = await (await client.get(f"/c/{conversation.id}/export.json")).get_json()
    [file] = document["messages"][0]["attachments"]
    assert (file["name"], file["kind"], file["size"]) == ("plan.docx", "docx",
                                                            len(made.docx_file()))
    assert file["text"].startswith("# Quarterly report")
    assert "attachments" not in document["messages"][1]
    markdown = await (await client.get(f"/c/{conversation.id}/export.md")).get_data(as_text=True)
    assert "**Attached: plan.docx** (docx," in markdown and "> # Quarterly report" in markdown
    response = await CsrfClient(client).post("/api/chat/sessions/import/", json=document)
    assert response.status_code == 201, await response.get_data(as_text=True)
    imported = (await response.get_json())["id"]
    again = await (await client.get(f"/c/{imported}/export.json")).get_json()
    assert again["messages"] == document["messages"]
    # The imported file goes to the model like any other; it has no original to download.
    copy = await Attachment.get(conversation_id=imported)
    assert (await client.get(f"/api/v1/files/{copy.id}/original")).status_code == 410


@pytest.mark.parametrize("attachments, says", [
    ([{"name": "a", "kind": "exe", "text": "x"}], "kind must be one of"),
    ([{"name": "a", "kind": "text"}], 'needs "text"'),
    ([{"name": "a", "kind": "text", "text": "x", "secret": 1}], "unknown keys"),
    ("nope", "must be a list"),
])
async def test_import_checks_the_files(client, attachments, says):
    document = {"format": "hyperchat.conversation.v1", "title": "t", "messages": [
        {"role": "user", "content": "hi", "attachments": attachments}]}
    response = await CsrfClient(client).post("/api/chat/sessions/import/", json=document)
    assert response.status_code == 400
    assert says in (await response.get_json())["error"]


async def test_share_page_lists_files_only_when_the_owner_chooses(client, fake_upstream):
    attachment_id = await uploaded(client, "private-notes.txt", b"secret plans\n")
    response = await send(client, "see", attachments=[str(attachment_id)])
    await finished(new_id(await response.get_data(as_text=True))[-1])
    conversation = await Conversation.get()
    browser = CsrfClient(client)
    await browser.post(f"/c/{conversation.id}/share")
    stranger_page = f"/share/{conversation.share_id}"
    page = await (await client.get(stranger_page)).get_data(as_text=True)
    assert "private-notes.txt" not in page and "secret plans" not in page
    form = urlencode([("expires_in_days", ""), ("attachments", "off"), ("attachments", "on")])
    response = await browser.post(f"/c/{conversation.id}/share", data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    page = soup(await (await client.get(stranger_page)).get_data(as_text=True))
    [item] = page.select(".attached-file")
    assert item.select_one(".attached-name").get_text() == "private-notes.txt"
    assert item.select_one("a") is None  # never the original
    assert "secret plans" not in str(page)


async def test_an_edited_message_keeps_its_files_for_the_model(client, fake_upstream):
    attachment_id = await uploaded(client, "facts.txt", b"the sky is green\n")
    response = await send(client, "what colour?", attachments=[str(attachment_id)])
    message_id, reply_id = new_id(await response.get_data(as_text=True))
    await finished(reply_id)
    response = await CsrfClient(client).post(f"/messages/{message_id}/edit", form={
        "content": "what colour is the sky?"}, headers={"HX-Request": "true"})
    assert response.status_code == 200, await response.get_data(as_text=True)
    await finished(new_id(await response.get_data(as_text=True))[-1])
    [(role, content)] = sent(fake_upstream)
    assert content == ('<document name="facts.txt" kind="Text">\nthe sky is green\n'
                       "</document>\n\nwhat colour is the sky?")
    assert await Attachment.filter(sha256=(await Attachment.get(id=attachment_id)).sha256) \
        .count() == 2


@pytest.mark.config(EXTRACT_TIMEOUT=0.3)
async def test_a_file_that_takes_too_long_ends_in_a_clear_error(app, client):
    scan = made.scanned_pdf(["One line that takes OCR a while"] * 1)
    response = await upload(CsrfClient(client), UPLOAD, ("file", "slow.pdf", scan))
    found = await response.get_json()
    assert response.status_code == 422, found
    assert "took longer than the limit" in found["error"]
    assert stored(app) == []
    # The pool is usable again for the next file.
    assert (await upload(CsrfClient(client), UPLOAD, ("file", "a.txt", b"ok\n"))).status_code \
        == 201


async def test_search_finds_a_message_by_its_files_name_and_text(client, fake_upstream):
    attachment_id = await uploaded(client, "zeppelin-manual.txt", b"helium valves open slowly\n")
    response = await send(client, "read this", attachments=[str(attachment_id)])
    await finished(new_id(await response.get_data(as_text=True))[-1])
    conversation = await Conversation.get()
    for query, marked in (("zeppelin", "zeppelin"), ("helium valves", "helium")):
        page = soup(await (await client.get(f"/search?q={query}")).get_data(as_text=True))
        [hit] = page.select(".search-hit")
        assert f"/c/{conversation.id}" in hit.select_one("a")["href"]
        assert "zeppelin-manual.txt" in hit.get_text()
        assert marked in [m.get_text().lower() for m in hit.select("mark")]


async def test_a_reading_no_worker_does_ends_in_a_clear_error(app, client):
    from datetime import UTC, datetime, timedelta
    await csrf(client)
    async with client.session_transaction() as session:
        owner = session["user_identifier"]
    attachment = await Attachment.create(owner=owner, name="lost.pdf", kind="pdf",
                                         media_type="application/pdf", size=10,
                                         sha256="0" * 64)
    await Attachment.filter(id=attachment.id).update(
        created_at=datetime.now(UTC) - timedelta(hours=1))
    chip = await (await client.get(f"/api/v1/files/{attachment.id}",
                                   headers={"HX-Request": "true"})).get_data(as_text=True)
    assert 'data-status="error"' in chip and "server stopped while reading" in chip
