"""Attachments: a stored upload, its extraction in the background, and what the model and
the pages are given. An upload is staged (no message) until it is sent with a message; it
then belongs to that message's conversation and is deleted with it (after the trash), its
original with its last row."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise.functions import Sum

from hyperchat.files import sniffing
from hyperchat.files.extraction import Extractor
from hyperchat.files.extractors import ExtractionError
from hyperchat.files.storage import Storage
from hyperchat.files.transcription import Transcriber
from hyperchat.store.schema import Attachment, AttachmentStatus

log = logging.getLogger(__name__)

STUCK_GRACE = 60.0  # seconds past EXTRACT_TIMEOUT before a reading nobody does is failed
STOPPED = "The server stopped while reading this file; remove it and attach it again."
CHARS_PER_TOKEN = 4  # the estimate used everywhere (web/rendering.py's estimate_tokens)
TRUNCATE, REFUSE = "truncate", "refuse"


@dataclass
class Overflow:
    max_tokens: int
    policy: str  # TRUNCATE or REFUSE


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) if text else 0


class Files:
    """The app's files service (app.extensions["files"]): storage, extraction and
    transcription, and the extractions running in this process."""

    def __init__(self, storage: Storage, extractor: Extractor, transcriber: Transcriber,
                 overflow: Overflow, incoming: Path) -> None:
        self.storage = storage
        self.extractor = extractor
        self.transcriber = transcriber
        self.overflow = overflow
        self.incoming = incoming
        self._tasks: dict[int, asyncio.Task] = {}

    # ---- capabilities

    def extractors(self) -> dict[str, bool]:
        """Which kinds can be read right now."""
        return {sniffing.PDF: True, sniffing.DOCX: True, sniffing.TEXT: True,
                "ocr": self.extractor.ocr, sniffing.IMAGE: self.extractor.ocr,
                sniffing.AUDIO: self.transcriber.available, "transcription":
                self.transcriber.available}

    # ---- storing

    async def store(self, owner: str, received) -> Attachment:
        """A row for a received upload (its temporary file moved into storage), its
        extraction started."""
        attachment = await Attachment.create(
            owner=owner, name=received.name, kind=received.kind,
            media_type=received.media_type, size=received.size, sha256=received.sha256,
            status=AttachmentStatus.EXTRACTING)
        try:
            await asyncio.to_thread(self.storage.put, received.sha256, received.path)
        except BaseException:
            await Attachment.filter(id=attachment.id).delete()
            received.path.unlink(missing_ok=True)
            raise
        self._tasks[attachment.id] = asyncio.create_task(
            self._extract(attachment), name=f"extract-{attachment.id}")
        self._tasks[attachment.id].add_done_callback(
            lambda _task, id_=attachment.id: self._tasks.pop(id_, None))
        return attachment

    async def wait(self, attachment: Attachment) -> Attachment:
        """The attachment once its extraction ended (here, or in another worker)."""
        task = self._tasks.get(attachment.id)
        if task is not None:
            await asyncio.shield(task)
        else:
            while attachment.status == AttachmentStatus.EXTRACTING:
                await asyncio.sleep(0.2)
                attachment = await self.unstuck(await Attachment.get(id=attachment.id))
        return await Attachment.get(id=attachment.id)

    async def unstuck(self, attachment: Attachment) -> Attachment:
        """`attachment`, failed if it is still "extracting" well past the time limit with no
        task of this process reading it (its worker stopped): its chip must not wait
        forever."""
        limit = timedelta(seconds=self.extractor.limits.timeout + STUCK_GRACE)
        if (attachment.status == AttachmentStatus.EXTRACTING
                and attachment.id not in self._tasks
                and _now() - attachment.created_at > limit):
            await self._failed(attachment, STOPPED)
            attachment = await Attachment.get(id=attachment.id)
        return attachment

    async def remove(self, attachment: Attachment) -> None:
        """Remove (or cancel) a staged upload: its extraction stopped, its row and (when no
        other row names it) its original deleted."""
        task = self._tasks.pop(attachment.id, None)
        if task is not None:
            task.cancel()
        await Attachment.filter(id=attachment.id).delete()
        await self.forget_original(attachment.sha256)

    async def forget_original(self, sha256: str) -> None:
        referenced = await Attachment.filter(sha256=sha256).exclude(
            status=AttachmentStatus.ERROR).exists()
        if not referenced:
            await asyncio.to_thread(self.storage.delete, sha256)

    async def _extract(self, attachment: Attachment) -> None:
        path = self.storage.path(attachment.sha256)

        async def progress(done: int, total: int) -> None:
            await Attachment.filter(id=attachment.id).update(pages_done=done, pages_total=total)

        try:
            if path is None:
                raise ExtractionError("The stored file is missing.")
            if attachment.kind == sniffing.AUDIO:
                text = await self.transcriber.transcribe(path, attachment.name,
                                                         attachment.media_type)
                if not text:
                    raise ExtractionError("No speech was heard in this recording.")
                result_text, pages, ocr_pages, confidence = text, None, 0, None
            else:
                extracted = await self.extractor.extract(str(path), attachment.kind, progress)
                result_text, pages = extracted.text, extracted.pages
                ocr_pages, confidence = extracted.ocr_pages, extracted.confidence
                if not result_text.strip():
                    raise ExtractionError("No text was found in this file." + (
                        " (OCR read no words.)" if ocr_pages else ""))
            tokens = estimate_tokens(result_text)
            truncated = False
            if tokens > self.overflow.max_tokens:
                if self.overflow.policy == REFUSE:
                    raise ExtractionError(
                        f"This file's text is about {tokens:,} tokens; the limit per file is "
                        f"{self.overflow.max_tokens:,} (it would not fit the model's context).")
                result_text = result_text[:self.overflow.max_tokens * CHARS_PER_TOKEN]
                truncated = True
            await Attachment.filter(id=attachment.id).update(
                status=AttachmentStatus.READY, text=result_text, tokens=tokens,
                truncated=truncated, pages_total=pages, pages_done=pages,
                ocr_pages=ocr_pages, ocr_confidence=confidence, finished_at=_now())
        except ExtractionError as error:
            await self._failed(attachment, str(error))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("extraction of attachment %s failed", attachment.id)
            await self._failed(attachment, "This file could not be read (an error on the "
                                           "server; it was logged).")

    async def _failed(self, attachment: Attachment, message: str) -> None:
        # The row stays for its chip to show the error; the original goes at once.
        await Attachment.filter(id=attachment.id).update(
            status=AttachmentStatus.ERROR, error=message, text="", finished_at=_now())
        await self.forget_original(attachment.sha256)

    async def aclose(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self.extractor.aclose()
        await self.transcriber.aclose()

    # ---- housekeeping

    async def collect(self, staged_hours: float) -> int:
        """Forget uploads never sent (staged longer than `staged_hours`), and delete the
        originals no row names any more (conversations purged from the trash, accounts
        deleted). An original younger than an hour is left: its row may be being written."""
        cutoff = _now() - timedelta(hours=staged_hours)
        await Attachment.filter(message_id=None, created_at__lt=cutoff).delete()
        for attachment in await Attachment.filter(status=AttachmentStatus.EXTRACTING):
            await self.unstuck(attachment)
        kept = set(await Attachment.exclude(status=AttachmentStatus.ERROR).values_list(
            "sha256", flat=True))
        removed = 0
        for key in await asyncio.to_thread(lambda: list(self.storage.keys(3600))):
            if key not in kept:
                await asyncio.to_thread(self.storage.delete, key)
                removed += 1
        return removed


def _now() -> datetime:
    return datetime.now(UTC)


async def used(owner: str) -> int:
    """Bytes of originals `owner` keeps (failed uploads keep none)."""
    row = await Attachment.filter(owner=owner).exclude(status=AttachmentStatus.ERROR).annotate(
        total=Sum("size")).first().values("total")
    return int((row or {}).get("total") or 0)


async def staged(owner: str, ids: list[int]) -> list[Attachment]:
    """The attachments `ids` as `owner` may send them now: theirs, not yet sent, read."""
    if not ids:
        return []
    rows = {a.id: a for a in await Attachment.filter(id__in=ids, owner=owner)}
    found = []
    for id_ in dict.fromkeys(ids):
        attachment = rows.get(id_)
        if attachment is None or attachment.message_id is not None:
            raise ExtractionError("An attached file is gone (removed, or sent already). "
                                  "Attach it again.")
        if attachment.status == AttachmentStatus.EXTRACTING:
            raise ExtractionError(f"{attachment.name} is still being read; send when its "
                                  "chip says it is ready.")
        if attachment.status == AttachmentStatus.ERROR:
            raise ExtractionError(f"{attachment.name} could not be read: remove it first.")
        found.append(attachment)
    return found


async def attach(attachments: list[Attachment], conversation_id: int, message_id: int) -> None:
    """Tie staged attachments to the message just saved (inside its transaction)."""
    if attachments:
        await Attachment.filter(id__in=[a.id for a in attachments]).update(
            conversation_id=conversation_id, message_id=message_id)


async def copy_to(message_id: int, new_message_id: int) -> None:
    """Give a new version of a message the files of the one it edits (rows of their own,
    naming the same originals)."""
    rows = await Attachment.filter(message_id=message_id, status=AttachmentStatus.READY)
    if rows:
        await Attachment.bulk_create([Attachment(**{
            **{name: getattr(row, name) for name in row._meta.fields_db_projection
               if name not in ("id", "created_at")},
            "message_id": new_message_id}) for row in rows])


async def of_messages(message_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {}
    if not message_ids:
        return found
    for attachment in await Attachment.filter(message_id__in=message_ids,
                                              status=AttachmentStatus.READY).order_by("id"):
        found.setdefault(attachment.message_id, []).append(attachment)
    return found


def document_block(attachment: Attachment) -> str:
    """The file as the model reads it: a delimited block naming the file, before the
    message's own text."""
    name = attachment.name.replace('"', "'").replace("\n", " ")
    attributes = [f'name="{name}"', f'kind="{sniffing.LABELS.get(attachment.kind, "File")}"']
    if attachment.pages_total:
        attributes.append(f'pages="{attachment.pages_total}"')
    if attachment.kind == sniffing.AUDIO:
        attributes.append('content="transcript"')
    if attachment.truncated:
        attributes.append(f'truncated="only the first {len(attachment.text):,} characters of '
                          f'about {attachment.tokens * CHARS_PER_TOKEN:,}"')
    return f"<document {' '.join(attributes)}>\n{attachment.text.rstrip()}\n</document>"


def with_documents(content: str, attachments: list[Attachment]) -> str:
    if not attachments:
        return content
    blocks = "\n\n".join(document_block(a) for a in attachments)
    return f"{blocks}\n\n{content}" if content else blocks
