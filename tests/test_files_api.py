"""The file endpoints (/api/v1/files) with real files made in tests/files_helpers.py, through
the cookie session (CSRF header) and a Bearer key, on SQLite and PostgreSQL."""

import asyncio
import hashlib
import uuid
from pathlib import Path

import httpx
import pytest

from hyperchat.accounts import api_keys
from hyperchat.store.schema import Attachment, AttachmentStatus, User
from tests import files_helpers as made
from tests.helpers import CsrfClient, wait_until

pytestmark = pytest.mark.config(TRANSCRIPTION_BASE_URL=None)
UPLOAD = "/api/v1/files/upload"


def multipart(*parts: tuple[str, str, bytes], content_type: str = "application/octet-stream"):
    """A multipart body of file parts (field, filename, bytes), as a browser sends it."""
    boundary = uuid.uuid4().hex
    body = bytearray()
    for field, filename, data in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                 f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(client, path: str, *parts, headers: dict | None = None):
    body, part_headers = multipart(*parts)
    return await client.post(path, data=body, headers={**part_headers, **(headers or {})})


def stored(app) -> list[Path]:
    """The originals kept, and any temporary upload left behind."""
    root = Path(app.app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def browser(client):
    return CsrfClient(client)


async def test_upload_text_pdf_returns_its_text_and_keeps_the_original(app, browser):
    pdf = made.text_pdf(["Hello from page one", "And page two"])
    response = await upload(browser, f"{UPLOAD}/pdf", ("file", "report.pdf", pdf))
    assert response.status_code == 201, await response.get_data(as_text=True)
    found = await response.get_json()
    assert found["success"] is True and found["kind"] == "pdf" and found["pages"] == 2
    assert "[Page 1]\nHello from page one" in found["extracted_text"]
    assert "And page two" in found["extracted_text"]
    assert found["ocr_pages"] == 0 and found["ocr_confidence"] is None
    original = await browser.get(found["download_url"])
    assert original.status_code == 200 and await original.get_data() == pdf
    assert "attachment" in original.headers["Content-Disposition"]
    assert [p.name for p in stored(app)] == [hashlib.sha256(pdf).hexdigest()]


async def test_scanned_pdf_pages_without_text_are_ocrd_and_only_those(browser):
    pdf = made.scanned_pdf(["Invoice number 4711"], text_pages=["A typed cover page"])
    response = await upload(browser, UPLOAD, ("file", "scan.pdf", pdf))
    found = await response.get_json()
    assert response.status_code == 201, found
    assert found["pages"] == 2 and found["ocr_pages"] == 1
    assert "A typed cover page" in found["extracted_text"]
    assert "Invoice number 4711" in found["extracted_text"]
    assert found["ocr_confidence"] > 60


async def test_docx_becomes_markdown_with_headings_lists_and_tables(browser):
    response = await upload(browser, UPLOAD, ("file", "report.docx", made.docx_file()))
    found = await response.get_json()
    assert response.status_code == 201, found
    text = found["extracted_text"]
    assert found["kind"] == "docx"
    assert "# Quarterly report" in text and "## Highlights" in text
    assert "- New office in Lyon\n- Hiring doubled" in text
    assert "| Region | Sales |\n| --- | --- |\n| North | 42 |" in text


@pytest.mark.parametrize("name, data", [
    ("notes.txt", "plain notes, café".encode()),
    ("table.csv", b"a,b\n1,2\n"),
    ("data.json", b'{"k": [1, 2]}'),
    ("main.py", b"def f():\n    return 1\n"),
    ("README.md", b"# Title\n\n* item\n"),
])
async def test_text_kinds_are_read_as_they_are(browser, name, data):
    response = await upload(browser, UPLOAD, ("file", name, data))
    found = await response.get_json()
    assert response.status_code == 201, found
    assert found["kind"] == "text" and found["extracted_text"] == data.decode()


@pytest.mark.parametrize("format", ["PNG", "JPEG", "WEBP", "GIF", "TIFF"])
async def test_images_are_read_by_ocr_with_a_confidence(browser, format):
    image = made.png(["The quick brown fox", "jumps over 42 dogs"], format=format)
    response = await upload(browser, f"{UPLOAD}/image", ("file", f"photo.{format.lower()}", image))
    found = await response.get_json()
    assert response.status_code == 201, found
    assert "quick brown fox" in found["extracted_text"]
    assert found["ocr_confidence"] > 60


async def test_a_file_uploaded_twice_is_stored_once(app, browser):
    data = b"the same bytes twice\n"
    first = await (await upload(browser, UPLOAD, ("file", "a.txt", data))).get_json()
    second = await (await upload(browser, UPLOAD, ("file", "b.txt", data))).get_json()
    assert first["id"] != second["id"]
    assert len(stored(app)) == 1
    # Removing one keeps the original for the other.
    assert (await browser.delete(f"/api/v1/files/{first['id']}")).status_code == 204
    assert len(stored(app)) == 1
    assert (await browser.delete(f"/api/v1/files/{second['id']}")).status_code == 204
    assert stored(app) == []


async def test_kind_is_told_by_content_not_name(browser):
    # A PDF named .png goes to the image endpoint: refused as the PDF it is.
    response = await upload(browser, f"{UPLOAD}/image",
                            ("file", "photo.png", made.text_pdf(["I am a PDF"])))
    assert response.status_code == 415
    assert "is a PDF file, not an Image file" in (await response.get_json())["error"]
    # The same file at /upload is read as a PDF.
    response = await upload(browser, UPLOAD, ("file", "photo.png", made.text_pdf(["I am a PDF"])))
    assert (await response.get_json())["kind"] == "pdf"


@pytest.mark.parametrize("name, data, status, says", [
    ("program.pdf", b"MZ\x90\x00" + b"\x00" * 200, 415, "program"),
    ("elf.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, 415, "program"),
    ("archive.docx", b"PK\x03\x04" + b"\x00" * 200, 415, "ZIP archive"),
    ("empty.txt", b"", 400, "is empty"),
    ("binary.bin", bytes(range(256)) * 10, 415, "binary"),
])
async def test_unreadable_kinds_are_refused_and_nothing_is_stored(app, browser, name, data,
                                                                  status, says):
    response = await upload(browser, UPLOAD, ("file", name, data))
    assert response.status_code == status
    assert says in (await response.get_json())["error"]
    assert stored(app) == [] and await Attachment.all().count() == 0


@pytest.mark.parametrize("name, data, says", [
    ("locked.pdf", made.text_pdf(["secret"], password="pw"), "encrypted"),
    ("broken.pdf", made.text_pdf(["cut"])[:300], "damaged"),
    ("bomb.png", made.png_bomb(), "too many pixels"),
    ("bomb.docx", made.docx_bomb(), "zip bomb"),
])
async def test_hostile_files_end_in_a_clear_error_and_nothing_is_kept(app, browser, name, data,
                                                                      says):
    response = await upload(browser, UPLOAD, ("file", name, data))
    found = await response.get_json()
    assert response.status_code == 422, found
    assert found["success"] is False and says in found["error"]
    assert stored(app) == [] and await Attachment.all().count() == 0


@pytest.mark.config(PDF_MAX_PAGES=5)
async def test_a_pdf_over_the_page_limit_is_refused(browser):
    response = await upload(browser, UPLOAD, ("file", "long.pdf", made.text_pdf(["p"] * 6)))
    assert response.status_code == 422
    assert "6 pages; at most 5" in (await response.get_json())["error"]


@pytest.mark.config(MAX_UPLOAD_SIZE=100_000)
@pytest.mark.parametrize("path", [UPLOAD, f"{UPLOAD}/batch"])
async def test_too_large_is_413_and_nothing_is_left(app, browser, path):
    # One file: its Content-Length alone is refused; in a batch (room for ten), the reader
    # stops at the file's limit as the bytes come.
    response = await upload(browser, path, ("file", "big.txt", b"x" * 200_000))
    assert response.status_code == 413
    assert "limit" in (await response.get_json())["error"]
    assert stored(app) == [] and await Attachment.all().count() == 0


@pytest.mark.config(STORAGE_QUOTA=1000)
async def test_the_storage_quota_is_enforced(browser):
    assert (await upload(browser, UPLOAD, ("file", "a.txt", b"a" * 800))).status_code == 201
    response = await upload(browser, UPLOAD, ("file", "b.txt", b"b" * 800))
    assert response.status_code == 413
    assert "storage" in (await response.get_json())["error"]


async def test_batch_reads_each_file_and_refuses_more_than_ten(app, browser):
    response = await upload(browser, f"{UPLOAD}/batch",
                            ("files", "a.txt", b"alpha\n"), ("files", "b.docx", made.docx_file()))
    found = await response.get_json()
    assert response.status_code == 200 and found["count"] == 2
    assert [f["kind"] for f in found["files"]] == ["text", "docx"]
    eleven = [("files", f"{i}.txt", f"file {i}\n".encode()) for i in range(11)]
    response = await upload(browser, f"{UPLOAD}/batch", *eleven)
    assert response.status_code == 400
    assert "At most 10 files" in (await response.get_json())["error"]
    assert await Attachment.all().count() == 2
    assert list(Path(app.app.config["UPLOAD_DIR"]).rglob(".upload-*")) == []


# In the part's header a backslash is escaped: "..\\\\boot.ini" arrives as ..\\boot.ini.
@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\\\boot.ini", "a/b.txt", "bad\x07.txt"])
async def test_names_with_folders_or_control_characters_are_refused(app, browser, name):
    response = await upload(browser, UPLOAD, ("file", name, b"text\n"))
    assert response.status_code == 400
    assert "not a plain file name" in (await response.get_json())["error"]
    assert stored(app) == []


async def test_html_in_a_name_is_shown_as_text(browser):
    name = '<img src=x onerror=alert(1)>.txt'
    response = await upload(browser, f"{UPLOAD}?wait=false", ("file", name, b"hi\n"),
                            headers={"HX-Request": "true"})
    html = await response.get_data(as_text=True)
    assert response.status_code == 202
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.txt" in html


async def test_audio_without_transcription_configured_says_so(app, browser):
    response = await upload(browser, f"{UPLOAD}/audio", ("file", "memo.wav", made.wav()))
    assert response.status_code == 422
    assert "transcription is not configured" in (await response.get_json())["error"]
    assert stored(app) == []


@pytest.mark.config(TRANSCRIPTION_API_KEY="speech-key", TRANSCRIPTION_MODEL="whisper-test")
async def test_audio_is_transcribed_by_the_provider(app, browser, fake_upstream):
    app.app.extensions["files"].transcriber.base_url = fake_upstream.url
    response = await upload(browser, f"{UPLOAD}/audio", ("file", "memo.wav", made.wav()))
    found = await response.get_json()
    assert response.status_code == 201, found
    assert found["extracted_text"] == fake_upstream.transcript
    request = fake_upstream.requests[-1]
    assert request["path"].endswith("/audio/transcriptions")
    assert request["headers"]["authorization"] == "Bearer speech-key"
    assert b'name="model"\r\n\r\nwhisper-test' in request["body"]
    assert b"RIFF" in request["body"]
    # keep=false: the transcript only (the recorder), nothing kept.
    response = await upload(browser, f"{UPLOAD}/audio?keep=false", ("file", "m.wav", made.wav()))
    found = await response.get_json()
    assert found["extracted_text"] == fake_upstream.transcript and found["id"] is None
    assert await Attachment.all().count() == 1


async def test_info_says_what_is_accepted_and_available(browser):
    found = await (await browser.get(f"{UPLOAD}/info")).get_json()
    assert found["limits"]["max_upload_size"] == 25 * 1024 * 1024
    assert found["limits"]["max_files"] == 10
    assert found["extractors"]["ocr"] is True
    assert found["extractors"]["transcription"] is False
    assert "not configured" in found["extractors"]["transcription_reason"]
    assert "pdf" in found["accepted"]["pdf"]


@pytest.mark.config(OCR_ENABLED=False)
async def test_ocr_turned_off_is_reported_and_images_refused(browser):
    found = await (await browser.get(f"{UPLOAD}/info")).get_json()
    assert found["extractors"]["ocr"] is False
    assert "turned off" in found["extractors"]["ocr_reason"]
    response = await upload(browser, f"{UPLOAD}/image", ("file", "a.png", made.png(["hi"])))
    assert response.status_code == 422 and "turned off" in (await response.get_json())["error"]


async def test_bearer_key_uploads_and_another_owner_sees_404(app, client):
    user = await User.create(username="prog", username_key="prog", password_hash="-")
    _row, key = await api_keys.create(user, "tests")
    response = await upload(client, UPLOAD, ("file", "k.txt", b"by key\n"),
                            headers={"Authorization": f"Bearer {key}"})
    found = await response.get_json()
    assert response.status_code == 201, found
    other = CsrfClient(app.test_client())
    assert (await other.get(found["status_url"])).status_code == 404
    assert (await other.get(found["download_url"])).status_code == 404
    assert (await other.delete(found["status_url"])).status_code == 404


async def test_upload_without_csrf_header_is_refused_without_reading_it(app, client):
    response = await upload(client, UPLOAD, ("file", "a.txt", b"hi\n"))
    assert response.status_code == 403
    assert await Attachment.all().count() == 0


async def test_htmx_upload_answers_a_chip_at_once_then_its_state(browser):
    response = await upload(browser, UPLOAD, ("file", "r.pdf", made.text_pdf(["x"] * 3)),
                            headers={"HX-Request": "true"})
    assert response.status_code == 202
    html = await response.get_data(as_text=True)
    assert 'data-status="extracting"' in html
    attachment = await Attachment.get()

    async def ready():
        return (await Attachment.get(id=attachment.id)).status != AttachmentStatus.EXTRACTING
    await wait_until(ready, timeout=30)
    chip = await (await browser.get(f"/api/v1/files/{attachment.id}",
                                    headers={"HX-Request": "true"})).get_data(as_text=True)
    assert 'data-status="ready"' in chip and 'name="attachments"' in chip
    assert "3 pages" in chip


@pytest.mark.config(MAX_UPLOAD_SIZE=100_000)
async def test_a_large_upload_is_answered_413_while_it_still_streams_in(request, app_config):
    """Behind a real server: a chunked upload (no length announced) of a file far past the
    limit is answered 413 after about the limit, while the client is still sending."""
    import socket

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from hyperchat import create_app
    from tests.conftest import marked_config

    app = create_app({**app_config, **marked_config(request.node)})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        async with httpx.AsyncClient() as probe:  # up once it answers (after its lifespan)
            for _ in range(200):
                try:
                    await probe.get(f"http://127.0.0.1:{port}/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        user = await User.create(username="big", username_key="big", password_hash="-")
        _row, key = await api_keys.create(user, "tests")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        boundary = "b0undary"
        writer.write((f"POST {UPLOAD}/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {key}\r\nTransfer-Encoding: chunked\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                f"filename=\"huge.txt\"\r\n\r\n").encode()
        writer.write(b"%x\r\n%s\r\n" % (len(head), head))
        sent = 0
        answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
        # A 50 MB file, 64 KB at a time, until the server answers.
        while not answer.done() and sent < 50_000_000:
            chunk = b"x" * 65_536
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            await writer.drain()
            await asyncio.sleep(0.01)
        status_line = (await asyncio.wait_for(answer, 10)).split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 413")
        assert sent < 2_000_000, f"answered only after {sent:,} bytes"
        writer.close()
        assert await Attachment.all().count() == 0
    finally:
        stop.set()
        await server


async def test_without_tesseract_ocr_shows_as_not_installed(browser, monkeypatch):
    from hyperchat.files import extractors

    monkeypatch.setattr(extractors.shutil, "which", lambda name: None)
    extractors.ocr_available.cache_clear()
    try:
        found = await (await browser.get(f"{UPLOAD}/info")).get_json()
        assert found["extractors"]["ocr"] is False
        assert "tesseract-ocr is not installed" in found["extractors"]["ocr_reason"]
        # A scanned PDF then says why its pages could not be read.
        response = await upload(browser, UPLOAD, ("file", "scan.pdf", made.scanned_pdf(["x"])))
        assert response.status_code == 422
        assert "not installed" in (await response.get_json())["error"]
    finally:
        extractors.ocr_available.cache_clear()


@pytest.mark.config(DEFAULT_MODEL="hyperchat/demo")
async def test_the_offline_demo_explains_that_it_cannot_transcribe(browser):
    found = await (await browser.get(f"{UPLOAD}/info")).get_json()
    assert "offline demo model cannot transcribe" in found["extractors"]["transcription_reason"]
