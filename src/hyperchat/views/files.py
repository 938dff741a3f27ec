"""Files: upload (any kind, or an image, a PDF, audio, a batch), what is accepted, an
upload's state (its chip), its original, and remove/cancel. Cookie session (CSRF token in
the X-CSRF-Token header) or a Bearer API key."""

import asyncio

from quart import Blueprint, current_app, jsonify, render_template, send_file, url_for

from hyperchat.files import attachments, sniffing
from hyperchat.files.attachments import Files
from hyperchat.store.schema import Attachment, AttachmentStatus
from hyperchat.web import htmx, payloads, uploads
from hyperchat.web.access import get_attachment
from hyperchat.web.errors import BadRequest, HTTPError
from hyperchat.web.security import current_user

bp = Blueprint("files", __name__, url_prefix="/api/v1/files")


@bp.record_once
def _register_shape(state) -> None:
    # Every error of this API is JSON ({success, error}), even one raised before a view
    # runs (a missing CSRF token, a write limit); the composer's script reads it for the chip.
    state.app.extensions.setdefault("error_shapes", {})[bp.name] = (
        lambda status, message, field=None: {"success": False, "error": message,
                                             **({"field": field} if field else {})})


def _files() -> Files:
    return current_app.extensions["files"]


@bp.post("/upload")
@payloads.takes_stream()
@payloads.takes_query(wait=payloads.Flag(), keep=payloads.Flag())
async def upload():
    """Upload one file of any accepted kind and read its text."""
    return await _upload(None, batch=False)


@bp.post("/upload/image")
@payloads.takes_stream()
@payloads.takes_query(wait=payloads.Flag(), keep=payloads.Flag())
async def upload_image():
    """Upload an image and read its text by OCR."""
    return await _upload(sniffing.IMAGE, batch=False)


@bp.post("/upload/pdf")
@payloads.takes_stream()
@payloads.takes_query(wait=payloads.Flag(), keep=payloads.Flag())
async def upload_pdf():
    """Upload a PDF and read its text (OCR for the pages without a text layer)."""
    return await _upload(sniffing.PDF, batch=False)


@bp.post("/upload/audio")
@payloads.takes_stream()
@payloads.takes_query(wait=payloads.Flag(), keep=payloads.Flag())
async def upload_audio():
    """Upload audio and transcribe it (keep=false: the transcript only, nothing kept)."""
    return await _upload(sniffing.AUDIO, batch=False)


@bp.post("/upload/batch")
@payloads.takes_stream()
@payloads.takes_query(wait=payloads.Flag(), keep=payloads.Flag())
async def upload_batch():
    """Upload up to MAX_FILES_PER_MESSAGE files at once."""
    return await _upload(None, batch=True)


@bp.get("/upload/info")
async def info():
    """What can be uploaded: kinds, limits, and which extractors work right now."""
    config = current_app.config
    files = _files()
    owner = current_user()
    used = await attachments.used(owner) if owner else 0
    available = files.extractors()
    return jsonify({
        "accepted": sniffing.ACCEPTED,
        "kinds": {kind: {"label": sniffing.LABELS[kind], "available": available[kind]}
                  for kind in sniffing.KINDS},
        "limits": {"max_upload_size": config["MAX_UPLOAD_SIZE"],
                   "max_files": config["MAX_FILES_PER_MESSAGE"],
                   "pdf_max_pages": config["PDF_MAX_PAGES"],
                   "max_image_pixels": config["MAX_IMAGE_PIXELS"],
                   "extract_timeout_seconds": config["EXTRACT_TIMEOUT"],
                   "max_tokens_per_file": config["ATTACHMENT_MAX_TOKENS"],
                   "too_long": config["ATTACHMENT_OVERFLOW"]},
        "storage": {"quota": config["STORAGE_QUOTA"], "used": used},
        "extractors": {
            "pdf_text": True, "docx": True, "text": True,
            "ocr": available["ocr"],
            "ocr_reason": None if available["ocr"] else files.extractor.no_ocr_reason(),
            "transcription": available["transcription"],
            "transcription_reason": None if available["transcription"]
            else files.transcriber.unavailable_reason()},
    })


@bp.get("/<int:attachment_id>")
async def show(attachment_id: int):
    """An upload's state: its chip (polled while it is read), or JSON."""
    attachment = await _files().unstuck(await get_attachment(attachment_id, current_user()))
    if htmx.is_request():
        return await render_template("files/_chip.html", attachment=attachment)
    return jsonify(file_json(attachment))


@bp.get("/<int:attachment_id>/original")
async def original(attachment_id: int):
    """Download the original file (its owner only)."""
    attachment = await get_attachment(attachment_id, current_user())
    path = _files().storage.path(attachment.sha256)
    if path is None or attachment.status == AttachmentStatus.ERROR:
        raise HTTPError.with_status(410, "The original of this file is no longer kept.")
    response = await send_file(path, mimetype=attachment.media_type, as_attachment=True,
                               attachment_filename=attachment.name, conditional=False)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.delete("/<int:attachment_id>")
async def delete(attachment_id: int):
    """Remove a file not sent yet, or cancel its reading."""
    attachment = await get_attachment(attachment_id, current_user())
    if attachment.message_id is not None:
        raise BadRequest("This file was sent with a message: it goes when the conversation "
                         "is deleted.")
    await _files().remove(attachment)
    if htmx.is_request():
        return "", 200
    return "", 204


async def _upload(expected: str | None, *, batch: bool):
    files = _files()
    config = current_app.config
    owner = current_user()
    left = config["STORAGE_QUOTA"] - await attachments.used(owner)
    received, _fields = await uploads.receive(
        incoming=files.incoming, max_size=config["MAX_UPLOAD_SIZE"],
        max_files=config["MAX_FILES_PER_MESSAGE"] if batch else 1, quota_left=left)
    try:
        for item in received:
            _check_readable(files, item, expected)
    except BaseException:
        for item in received:
            item.path.unlink(missing_ok=True)
        raise
    stored = []
    for item in received:
        stored.append(await files.store(owner, item))
    if htmx.is_request():
        body = await render_template("files/_chips.html", attachments=stored)
        return body, 202
    query = payloads.query()
    if query.get("wait") is False:
        return jsonify({"success": True, "files": [file_json(a) for a in stored]} if batch
                       else {"success": True, **file_json(stored[0])}), 202
    done = await asyncio.gather(*(files.wait(a) for a in stored))
    failed = [a for a in done if a.status == AttachmentStatus.ERROR]
    for attachment in failed:  # a program is told; nothing of it is kept
        await files.remove(attachment)
    if query.get("keep") is False:
        for attachment in done:
            if attachment.status == AttachmentStatus.READY:
                await files.remove(attachment)
    if batch:
        return jsonify({"success": not failed, "count": len(done),
                        "files": [file_json(a, kept=query.get("keep") is not False
                                            and a.status == AttachmentStatus.READY)
                                  for a in done]}), 200 if not failed else 207
    attachment = done[0]
    if failed:
        return jsonify({"success": False, "error": attachment.error,
                        **file_json(attachment, kept=False)}), 422
    return jsonify({"success": True,
                    **file_json(attachment, kept=query.get("keep") is not False)}), 201


def _check_readable(files: Files, item: uploads.Received, expected: str | None) -> None:
    """Refuse before anything is stored: the wrong kind for this URL, or a kind this server
    cannot read now."""
    if expected is not None and item.kind != expected:
        raise uploads.UnsupportedKind(
            f"{item.name} is {_a(sniffing.LABELS[item.kind])} file, not "
            f"{_a(sniffing.LABELS[expected])} file (told by its content, whatever its name). "
            f"Send it to {url_for('files.upload')}.")
    if item.kind == sniffing.AUDIO and not files.transcriber.available:
        raise HTTPError.with_status(422, f"{item.name}: {files.transcriber.unavailable_reason()}")
    if item.kind == sniffing.IMAGE and not files.extractor.ocr:
        raise HTTPError.with_status(
            422, f"{item.name}: {files.extractor.no_ocr_reason()} Images are read by OCR only.")


def _a(label: str) -> str:
    return ("an " if label[0] in "AEIOU" else "a ") + label


def file_json(attachment: Attachment, *, kept: bool = True) -> dict:
    return {
        "id": attachment.id if kept else None,
        "filename": attachment.name,
        "kind": attachment.kind,
        "content_type": attachment.media_type,
        "size": attachment.size,
        "status": str(attachment.status),
        "error": attachment.error,
        "pages": attachment.pages_total,
        "pages_done": attachment.pages_done,
        "ocr_pages": attachment.ocr_pages,
        "ocr_confidence": attachment.ocr_confidence,
        "tokens": attachment.tokens,
        "truncated": attachment.truncated,
        "extracted_text": attachment.text,
        "status_url": url_for("files.show", attachment_id=attachment.id) if kept else None,
        "download_url": url_for("files.original", attachment_id=attachment.id)
        if kept and attachment.status == AttachmentStatus.READY else None,
    }
