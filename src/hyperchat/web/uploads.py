"""Files as they stream in: our own multipart reader (werkzeug's sans-IO decoder fed from
the request body as it arrives), so that limits act before the upload is all read. Each file
goes to a temporary file under UPLOAD_DIR while its size and SHA-256 are counted and its
first bytes sniffed; past MAX_UPLOAD_SIZE, the storage quota or the number of files, or on a
kind that cannot be read, the request is answered at once (413, 400, 415) and every
temporary file of the request removed: nothing is half-stored. Upload views declare
`payloads.takes_stream()`, so no hook reads their body first."""

import hashlib
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from quart import request
from quart.wrappers import Request
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder

from hyperchat.files import sniffing
from hyperchat.web.errors import BadRequest, HTTPError

# Room for the multipart framing and small fields around the files.
OVERHEAD = 64 * 1024
SLICE = 64 * 1024
UPLOAD_PREFIX = "/api/v1/files/upload"


class TooLarge(HTTPError):
    status = 413


class UnsupportedKind(HTTPError):
    status = 415


@dataclass
class Received:
    path: Path
    name: str
    size: int
    sha256: str
    kind: str
    media_type: str


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}".replace(
                ".0 ", " ")
        size /= 1024
    return f"{size} GB"


def request_class(max_upload: int, max_files: int) -> type[Request]:
    """The app's request class: Quart refuses any body over MAX_CONTENT_LENGTH (16 MB) as it
    arrives; an upload URL may carry up to `max_files` files of `max_upload` bytes (the
    reader below holds each one to its own limit)."""
    limit = max_files * (max_upload + OVERHEAD)

    class UploadingRequest(Request):
        def __init__(self, method, scheme, path, *args, **kwargs):
            if path.startswith(UPLOAD_PREFIX) and method == "POST":
                kwargs["max_content_length"] = limit
            super().__init__(method, scheme, path, *args, **kwargs)

    return UploadingRequest


def clean_name(raw: str) -> str:
    """The file's name as shown: a plain name, at most 255 characters (keeping its
    extension). A name with a folder in it or control characters is refused: a browser only
    ever sends the plain name."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        return "file"
    if ("/" in name or "\\" in name or name in (".", "..")
            or any(unicodedata.category(c) in ("Cc", "Cs") for c in name)):
        shown = "".join(c if c.isprintable() else "?" for c in name[:80])
        raise BadRequest(f'The file name "{shown}" is not a plain file name (no folders, no '
                         "control characters). Rename the file and upload it again.")
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:255 - len(extension) - 2] + "…." + extension) if dot and len(
            extension) < 20 else name[:254] + "…"
    return name


async def receive(*, incoming: Path, max_files: int, max_size: int,
                  quota_left: int) -> tuple[list[Received], dict[str, str]]:
    """The request's files (part name `file` or `files`) and its small text fields, each file
    stored in a temporary file under `incoming`. Raises TooLarge, BadRequest or
    UnsupportedKind, having removed every temporary file."""
    if request.mimetype != "multipart/form-data" or "boundary" not in request.mimetype_params:
        raise BadRequest("Send the file as multipart/form-data, in a part named \"file\".")
    length = request.content_length
    if length is not None and length > max_files * (max_size + OVERHEAD):
        raise TooLarge(f"This upload is {size_text(length)}; the limit is "
                       f"{size_text(max_size)} per file, {max_files} files at once.")
    # No memory limit in the decoder itself: it counts the bytes it holds, which is any chunk
    # fed to it; the body is fed in slices and the fields are bounded below instead.
    decoder = MultipartDecoder(request.mimetype_params["boundary"].encode("latin-1"),
                               max_parts=max_files + 32)
    incoming.mkdir(parents=True, exist_ok=True)
    reading = _Reading(incoming, max_files, max_size, quota_left)
    try:
        async for chunk in request.body:
            for start in range(0, len(chunk), SLICE):
                if reading.ended:  # past the closing boundary: only the epilogue is left
                    break
                decoder.receive_data(chunk[start:start + SLICE])
                reading.drain(decoder)
        if not reading.ended:
            decoder.receive_data(None)
            reading.drain(decoder)
    except ValueError as error:  # the decoder: a malformed body, too many parts
        reading.discard()
        raise BadRequest(f"The upload could not be read (a malformed multipart body: "
                         f"{error}).") from None
    except BaseException:
        reading.discard()
        raise
    if reading.current is not None or not reading.ended:
        reading.discard()
        raise BadRequest("The upload was cut off before its end.")
    if not reading.files:
        raise BadRequest("No file in this upload: send it in a part named \"file\".")
    return reading.files, reading.fields


class _Reading:
    """The state of one multipart body as its events come."""

    def __init__(self, incoming: Path, max_files: int, max_size: int, quota_left: int):
        self.incoming, self.max_files = incoming, max_files
        self.max_size, self.quota_left = max_size, quota_left
        self.files: list[Received] = []
        self.fields: dict[str, str] = {}
        self.current: _Incoming | None = None
        self.field_name: str | None = None
        self.field_value = bytearray()
        self.total = 0
        self.ended = False

    def drain(self, decoder: MultipartDecoder) -> None:
        while not self.ended and (event := decoder.next_event()) is not NEED_DATA:
            self.handle(event)

    def handle(self, event) -> None:
        if isinstance(event, Epilogue):
            self.ended = True
        elif isinstance(event, File):
            if len(self.files) + (self.current is not None) >= self.max_files:
                raise BadRequest(f"At most {self.max_files} files at once; this upload has "
                                 "more. Send the others with the next message.")
            self.current = _Incoming(self.incoming, clean_name(event.filename or ""))
        elif isinstance(event, Field):
            self.field_name, self.field_value = event.name, bytearray()
        elif isinstance(event, Data):
            if self.current is not None:
                self.file_data(self.current, event)
            elif self.field_name is not None:
                self.field_value += event.data
                if len(self.field_value) > OVERHEAD:
                    raise BadRequest(f"The form field {self.field_name[:80]!r} is too long.")
                if not event.more_data:
                    self.fields[self.field_name] = self.field_value.decode("utf-8", "replace")
                    self.field_name = None

    def file_data(self, current: "_Incoming", event: Data) -> None:
        self.total += len(event.data)
        current.write(event.data)
        if current.size > self.max_size:
            raise TooLarge(f"{current.name} is larger than the {size_text(self.max_size)} "
                           "limit per file.")
        if self.total > self.quota_left:
            raise TooLarge(f"{current.name} does not fit in your storage: "
                           f"{size_text(max(self.quota_left, 0))} left of your quota. "
                           "Delete conversations with files you no longer need.")
        current.sniff(complete=not event.more_data)
        if not event.more_data:
            self.files.append(current.finish())
            self.current = None

    def discard(self) -> None:
        for received in self.files:
            received.path.unlink(missing_ok=True)
        if self.current is not None:
            self.current.discard()


class _Incoming:
    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        descriptor, path = tempfile.mkstemp(dir=directory, prefix=".upload-")
        self.path = Path(path)
        self.file = os.fdopen(descriptor, "wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = bytearray()
        self.sniffed: sniffing.Sniffed | None = None

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)
        if len(self.head) < sniffing.HEAD:
            self.head += data[:sniffing.HEAD - len(self.head)]

    def sniff(self, complete: bool) -> None:
        if self.sniffed is not None or (len(self.head) < sniffing.HEAD and not complete):
            return
        if complete and self.size == 0:
            raise BadRequest(f"{self.name} is empty (0 bytes): there is nothing to read.")
        try:
            self.sniffed = sniffing.sniff(bytes(self.head), complete)
        except sniffing.Unsupported as refused:
            raise UnsupportedKind(f"{self.name}: {refused}") from None

    def finish(self) -> Received:
        self.file.close()
        assert self.sniffed is not None
        return Received(self.path, self.name, self.size, self.hash.hexdigest(),
                        self.sniffed.kind, self.sniffed.media_type)

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)
