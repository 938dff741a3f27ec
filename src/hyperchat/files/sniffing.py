"""The kind of a file, told by its first bytes: never by its name or the Content-Type its
sender claims (a PDF named `.png` is a PDF; a program named `.pdf` is refused)."""

from dataclasses import dataclass

import filetype

# How much of the start of a file is looked at.
HEAD = 8192

PDF, DOCX, TEXT, IMAGE, AUDIO = "pdf", "docx", "text", "image", "audio"
KINDS = (PDF, DOCX, TEXT, IMAGE, AUDIO)
LABELS = {PDF: "PDF", DOCX: "Word", TEXT: "Text", IMAGE: "Image", AUDIO: "Audio"}

# Media types filetype reports, by our kind. WebM and MP4 containers are taken as audio: a
# browser's recorder writes audio/webm, and .m4a is an MP4 container; a video in them is
# sent to transcription like a recording (the provider reads its sound).
_BY_MEDIA_TYPE = {
    "application/pdf": PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
    "image/png": IMAGE, "image/jpeg": IMAGE, "image/webp": IMAGE, "image/gif": IMAGE,
    "image/tiff": IMAGE,
    "audio/mpeg": AUDIO, "audio/x-wav": AUDIO, "audio/wav": AUDIO, "audio/ogg": AUDIO,
    "audio/mp4": AUDIO, "audio/m4a": AUDIO, "audio/x-m4a": AUDIO, "audio/webm": AUDIO,
    "video/webm": AUDIO, "video/mp4": AUDIO, "audio/opus": AUDIO,
}

# What people are told is accepted (the info endpoint, the file picker's hint).
ACCEPTED = {
    PDF: ["pdf"],
    DOCX: ["docx"],
    TEXT: ["txt", "md", "csv", "json", "and source code (any UTF-8 text)"],
    IMAGE: ["png", "jpeg", "webp", "gif", "tiff"],
    AUDIO: ["mp3", "wav", "m4a", "webm", "ogg"],
}


class Unsupported(ValueError):
    """Not a kind we read; the message says what it looks like and what is accepted."""


@dataclass(frozen=True)
class Sniffed:
    kind: str
    media_type: str


def sniff(head: bytes, complete: bool) -> Sniffed:
    """The kind of the file that starts with `head` (HEAD bytes, or all of it when
    `complete`). Raises Unsupported."""
    guessed = filetype.guess(head)
    if guessed is not None:
        kind = _BY_MEDIA_TYPE.get(guessed.mime)
        if kind is None:
            raise Unsupported(f"This file is {_described(guessed.mime)}, which cannot be read "
                              f"here. {accepted_sentence()}")
        return Sniffed(kind, guessed.mime)
    if head.startswith(b"PK\x03\x04"):
        raise Unsupported("This is a ZIP archive that is not a Word (.docx) document. "
                          + accepted_sentence())
    if _is_text(head, complete):
        return Sniffed(TEXT, "text/plain")
    raise Unsupported("This file is binary data of a kind that cannot be read here. "
                      + accepted_sentence())


def _described(mime: str) -> str:
    if mime in ("application/x-msdownload", "application/x-executable",
                "application/x-mach-binary", "application/x-elf"):
        return "a program (executable)"
    if mime == "application/zip":
        return "a ZIP archive (not a Word .docx document)"
    return f"of type {mime}"


def accepted_sentence() -> str:
    return "Accepted: PDF, Word (.docx), text and code, images, audio."


def _is_text(head: bytes, complete: bool) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A character cut by the end of HEAD is not an error.
        if complete or error.start < len(head) - 3:
            return False
    return True
