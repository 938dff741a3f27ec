"""Export conversations (Markdown, JSON, a zip of JSON) and import the JSON back.

The JSON format, `hyperchat.conversation.v1`::

    {
      "format": "hyperchat.conversation.v1",
      "id": 12,                                  # informational, ignored on import
      "exportedAt": "2025-01-27T10:06:00.000Z",  # informational, ignored on import
      "title": "How to use Python decorators?",
      "createdAt": "2025-01-27T10:00:00.000Z",
      "archived": false,
      "messages": [                              # oldest first
        {"role": "user" | "assistant" | "system",
         "content": "...",                       # verbatim
         "reasoning": "..." | null,              # a reasoning model's thought process
         "createdAt": "...", "finishedAt": "..." | null,
         "status": "complete" | "stopped" | "error",
         "rating": 1 | 0 | -1,                   # only a reply can carry a non-zero rating
         "modelIdUsed": "openai/gpt-4o-mini" | null,
         "promptTokens": 10 | null, "completionTokens": 15 | null,
         "tokensEstimated": false,               # true: counts are our ~4 chars/token guess
         "error": "..." | null,
         "attachments": [                        # a person's files; left out when none
           {"name": "report.pdf", "kind": "pdf", "mediaType": "application/pdf",
            "size": 1234, "pages": 3 | null, "truncated": false,
            "text": "..."}]}                     # the text the model was given
      ]
    }

The originals are not in an export: an imported file has its text and no download.

Times are ISO 8601 with a timezone (exports write UTC milliseconds with a Z). Importing is
strict: `format`, `title` and `messages` are required, every message needs `role` and
`content`, every other field is optional (defaults: now, false, 0, null, "complete") but
type-checked when present, and an unknown key is an error (a typo must not lose data).
A reply exported while it was still streaming imports as an error, as after a restart.

An import creates a new conversation owned by the importer: new id, new (unshared) share
link, last activity = its latest message. Exporting it again gives the same document except
`id` and `exportedAt`.

Command line (DATABASE_URL from the environment, as for the app)::

    python -m hyperchat.chat.exports export ID FILE   # FILE.md: Markdown; else JSON; -: stdout
    python -m hyperchat.chat.exports import FILE --owner OWNER
"""

import argparse
import asyncio
import hashlib
import json
import logging
import sys
import textwrap
import zipfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from tortoise.transactions import in_transaction

from hyperchat.chat import versions
from hyperchat.chat.conversations import clean_title
from hyperchat.config import DEFAULTS
from hyperchat.files import attachments, sniffing
from hyperchat.store import database
from hyperchat.store.schema import (
    INT_MAX,
    Attachment,
    AttachmentStatus,
    Conversation,
    Message,
    Role,
    Status,
    unstorable,
)
from hyperchat.web.errors import BadRequest
from hyperchat.web.payloads import parse_json

log = logging.getLogger(__name__)

FORMAT = "hyperchat.conversation.v1"
MAX_MESSAGES = 10_000
MODEL_ID_MAX = 200
HEADINGS = {Role.USER: "User", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System"}
STILL_STREAMING = "This reply was still being written when the conversation was exported."

TOP_KEYS = {"format", "id", "exportedAt", "title", "createdAt", "archived", "messages"}
# Conversations one query of the zip export loads, and messages per query.
ZIP_BATCH = 50
EXPORT_PAGE = 200
# Messages an import inserts per transaction.
IMPORT_CHUNK = 200
# The owner of an import not finished yet, kept in the trash meanwhile: nobody sees it, and
# one that a crash interrupted goes with the trash purge.
UNFINISHED = ""


@dataclass(frozen=True)
class TextLimits:
    """The longest text an import may store, as everywhere else: what a person may write
    (sent or edited), what a reply and its thought process may hold."""

    written: int
    reply: int
    reasoning: int

    @classmethod
    def of(cls, config: Mapping) -> "TextLimits":
        return cls(written=max(config["MAX_MESSAGE_CHARS"],
                               config.get("CHAT_ACTIONS_MAX_CONTENT_LENGTH", 0)),
                   reply=config["MAX_REPLY_CHARS"], reasoning=config["MAX_REASONING_CHARS"])


MESSAGE_KEYS = {"role", "content", "reasoning", "createdAt", "finishedAt", "status", "rating",
                "modelIdUsed", "promptTokens", "completionTokens", "tokensEstimated", "error",
                "attachments"}
ATTACHMENT_KEYS = {"name", "kind", "mediaType", "size", "pages", "truncated", "text"}
MAX_ATTACHMENT_CHARS = 2_000_000


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, like JavaScript's toISOString()."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------- export


def message_dict(message: Message) -> dict:
    files = getattr(message, "attachments", None)
    return {
        "role": str(message.role),
        "content": message.content,
        "reasoning": message.reasoning,
        "createdAt": iso(message.created_at),
        "finishedAt": iso(message.finished_at),
        "status": str(message.status),
        "rating": message.rating,
        "modelIdUsed": message.model_id_used,
        "promptTokens": message.prompt_tokens,
        "completionTokens": message.completion_tokens,
        "tokensEstimated": message.tokens_estimated,
        "error": message.error,
        **({"attachments": [{"name": a.name, "kind": a.kind, "mediaType": a.media_type,
                             "size": a.size, "pages": a.pages_total,
                             "truncated": a.truncated, "text": a.text} for a in files]}
           if files else {}),
    }


async def with_files(messages: list[Message]) -> list[Message]:
    """`messages`, each with its `attachments` (one query)."""
    files = await attachments.of_messages([m.id for m in messages])
    for message in messages:
        message.attachments = files.get(message.id, [])
    return messages


def conversation_dict(conversation: Conversation, messages: list[Message],
                      exported_at: datetime | None = None) -> dict:
    return {
        "format": FORMAT,
        "id": conversation.id,
        "exportedAt": iso(exported_at or datetime.now(UTC)),
        "title": conversation.title,
        "createdAt": iso(conversation.created_at),
        "archived": conversation.archived,
        "messages": [message_dict(m) for m in messages],
    }


def dumps(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


async def messages_of(conversation: Conversation) -> list[Message]:
    """What the conversation shows: its active branch, without deleted messages."""
    return await with_files(await versions.shown(conversation.id).order_by("id"))


async def to_json(conversation: Conversation) -> str:
    return dumps(conversation_dict(conversation, await messages_of(conversation)))


async def to_markdown(conversation: Conversation) -> str:
    """The title, then each message under its role's heading, its content verbatim (a reply's
    thought process first, as a quoted block)."""
    blocks = [f"# {conversation.title}"]
    for message in await messages_of(conversation):
        blocks.append(f"## {HEADINGS.get(message.role, str(message.role).title())}")
        for file in getattr(message, "attachments", []):
            blocks.append(f"**Attached: {file.name}** ({file.kind}, {file.size:,} bytes)\n\n"
                          + quoted(file.text))
        if message.reasoning:
            blocks.append(quoted("**Thought process**\n\n" + message.reasoning))
        if message.content:
            blocks.append(message.content)
        if message.status == Status.STOPPED:
            blocks.append("*(Stopped before the reply finished.)*")
        elif message.status == Status.ERROR:
            blocks.append(f"*(Error: {message.error or 'the reply failed.'})*")
        elif message.status == Status.STREAMING:
            blocks.append("*(Still being written when exported.)*")
    return "\n\n".join(blocks) + "\n"


def quoted(text: str) -> str:
    """Markdown blockquote of `text`, every line of it ("> " or a bare ">" for blank lines)."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


class _Chunks:
    """A write-only file for zipfile that keeps what is written until it is taken: the zip
    goes out as it is made, never whole in memory (zipfile writes data descriptors when it
    cannot seek back)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _document_ends(conversation: Conversation, moment: datetime) -> tuple[str, str]:
    """A conversation's document (as `dumps` writes it) before its first message and after
    its last: its messages go between, written a page at a time."""
    head, _, tail = dumps(conversation_dict(conversation, [], moment)).rpartition(
        '"messages": []')
    return head + '"messages": [', "]" + tail


def _messages_text(messages: list[Message], first: bool) -> str:
    """Messages as they sit in `dumps`'s output of a document (a JSON string holds no raw
    line break, so indenting every line is exact)."""
    return "".join(("\n" if first and i == 0 else ",\n")
                   + textwrap.indent(json.dumps(message_dict(m), ensure_ascii=False, indent=2),
                                     "    ")
                   for i, m in enumerate(messages))


def _write_messages(entry, messages: list[Message], first: bool) -> None:
    entry.write(_messages_text(messages, first).encode())


async def _pages(conversation_id: int) -> AsyncIterator[list[Message]]:
    """What the conversation shows (its active branch, no deleted messages), oldest first,
    EXPORT_PAGE messages per query."""
    after = 0
    while True:
        page = await Message.filter(conversation_id=conversation_id, on_path=True,
                                    deleted_at=None, id__gt=after) \
            .order_by("id").limit(EXPORT_PAGE)
        if page:
            yield await with_files(page)
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1].id


async def to_zip(owner: str) -> AsyncIterator[bytes]:
    """Every conversation of `owner` but those in the trash (archived ones included), one
    `conversation-<id>.json` each, as the pieces of a zip: each document is written a page
    of messages at a time, serialized and compressed in a thread, and sent on, so that a
    large account neither fills memory nor holds the event loop (or, on SQLite, the database)
    for long."""
    ids = await Conversation.filter(owner=owner, deleted_at__isnull=True).order_by("id") \
        .values_list("id", flat=True)
    now = datetime.now(UTC)
    sink = _Chunks()
    archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED)
    for start in range(0, len(ids), ZIP_BATCH):
        for conversation in await Conversation.filter(
                id__in=ids[start:start + ZIP_BATCH], owner=owner,
                deleted_at__isnull=True).order_by("id"):
            info = zipfile.ZipInfo(f"conversation-{conversation.id}.json",
                                   date_time=now.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            head, tail = _document_ends(conversation, now)
            entry = archive.open(info, "w")
            entry.write(head.encode())
            first = True
            async for page in _pages(conversation.id):
                await asyncio.to_thread(_write_messages, entry, page, first)
                first = False
                if piece := sink.take():  # empty while the compressor holds it all
                    yield piece
            entry.write((tail if first else "\n  " + tail).encode())
            entry.close()
            if piece := sink.take():
                yield piece
    archive.close()
    yield sink.take()


# ----------------------------------------------------------------------------- import


def _fail(where: str, problem: str) -> NoReturn:
    raise BadRequest(f"Not a {FORMAT} document: {where} {problem}.")


def _text(value: object, where: str, *, nullable: bool = False, max_length: int | None = None):
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        _fail(where, "must be a string" + (" or null" if nullable else ""))
    # The request's edge refuses such text already; this holds for the command line too.
    if (problem := unstorable(value)) is not None:
        _fail(where, f"must not contain {problem}")
    if max_length is not None and len(value) > max_length:
        _fail(where, f"must be at most {max_length} characters long")
    return value


def _moment(value: object, where: str, *, nullable: bool = False) -> datetime | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        _fail(where, "must be an ISO 8601 date-time string" + (" or null" if nullable else ""))
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("no timezone")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        _fail(where, "must be an ISO 8601 date-time with a timezone, like "
                     "2025-01-27T10:00:00.000Z")


def _count(value: object, where: str) -> int | None:
    # Exactly JSON integers: True and 1.0 are not token counts. The columns are 32-bit.
    if value is not None and (type(value) is not int or not 0 <= value <= INT_MAX):
        _fail(where, f"must be a non-negative integer (at most {INT_MAX}) or null")
    return value


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(where, "must be true or false")
    return value


def _check_keys(document: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(document) - allowed)
    if unknown:
        _fail(where, f"has unknown keys: {', '.join(unknown)}")


def _message(item: object, index: int, default_time: datetime, limits: TextLimits) -> dict:
    where = f"messages[{index}]"
    if not isinstance(item, dict):
        _fail(where, "must be an object")
    _check_keys(item, MESSAGE_KEYS, where)
    for key in ("role", "content"):
        if key not in item:
            _fail(where, f'needs "{key}"')
    roles = [r.value for r in Role]
    if not isinstance(item["role"], str) or item["role"] not in roles:
        _fail(f"{where}.role", "must be user, assistant or system")
    role = Role(item["role"])
    status_value = item.get("status", Status.COMPLETE.value)
    if not isinstance(status_value, str) or status_value not in [s.value for s in Status]:
        _fail(f"{where}.status", "must be complete, stopped or error")
    status = Status(status_value)
    error = _text(item.get("error"), f"{where}.error", nullable=True)
    if status == Status.STREAMING:
        status, error = Status.ERROR, error or STILL_STREAMING
    rating = item.get("rating", 0)
    if type(rating) is not int or rating not in (1, 0, -1):
        _fail(f"{where}.rating", "must be 1, 0 or -1")
    if rating and role != Role.ASSISTANT:
        _fail(f"{where}.rating", "must be 0: only a reply can be rated")
    reasoning = _text(item.get("reasoning"), f"{where}.reasoning", nullable=True,
                      max_length=limits.reasoning)
    if reasoning and role != Role.ASSISTANT:
        _fail(f"{where}.reasoning", "must be null: only a reply has a thought process")
    created_at = (_moment(item["createdAt"], f"{where}.createdAt") if "createdAt" in item
                  else default_time)
    finished_at = (_moment(item["finishedAt"], f"{where}.finishedAt", nullable=True)
                   if "finishedAt" in item else created_at)
    return {
        "role": role,
        "content": _text(item["content"], f"{where}.content", max_length=limits.reply
                         if role == Role.ASSISTANT else limits.written),
        "reasoning": reasoning,
        "created_at": created_at,
        "finished_at": finished_at,
        "status": status,
        "rating": rating,
        "model_id_used": _text(item.get("modelIdUsed"), f"{where}.modelIdUsed", nullable=True,
                               max_length=MODEL_ID_MAX),
        "prompt_tokens": _count(item.get("promptTokens"), f"{where}.promptTokens"),
        "completion_tokens": _count(item.get("completionTokens"), f"{where}.completionTokens"),
        "tokens_estimated": _flag(item.get("tokensEstimated", False),
                                  f"{where}.tokensEstimated"),
        "error": error,
        "attachments": _attachments(item.get("attachments", []), f"{where}.attachments", role),
    }


def _attachments(value: object, where: str, role: Role) -> list[dict]:
    if not isinstance(value, list):
        _fail(where, "must be a list")
    if value and role != Role.USER:
        _fail(where, "must be empty: only a person's message has files")
    found = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            _fail(here, "must be an object")
        _check_keys(item, ATTACHMENT_KEYS, here)
        for key in ("name", "kind", "text"):
            if key not in item:
                _fail(here, f'needs "{key}"')
        if item["kind"] not in sniffing.KINDS:
            _fail(f"{here}.kind", f"must be one of {', '.join(sniffing.KINDS)}")
        text = _text(item["text"], f"{here}.text", max_length=MAX_ATTACHMENT_CHARS)
        found.append({
            "name": _text(item["name"], f"{here}.name", max_length=255) or "file",
            "kind": item["kind"],
            "media_type": _text(item.get("mediaType"), f"{here}.mediaType", nullable=True,
                                max_length=100) or "application/octet-stream",
            "size": _count(item.get("size"), f"{here}.size") or 0,
            "pages_total": _count(item.get("pages"), f"{here}.pages"),
            "truncated": _flag(item.get("truncated", False), f"{here}.truncated"),
            "text": text, "tokens": attachments.estimate_tokens(text)})
    return found


def parse(document: object, limits: TextLimits) -> tuple[dict, list[dict]]:
    """Validate an export; return the conversation's fields and its messages' fields.
    Raise BadRequest naming the first problem found (a text longer than `limits` too)."""
    if not isinstance(document, dict):
        raise BadRequest(f"Send a {FORMAT} JSON object (as written by export.json).")
    if document.get("format") != FORMAT:
        _fail('"format"', f'must be "{FORMAT}"')
    _check_keys(document, TOP_KEYS, "the document")
    if "title" not in document:
        _fail("the document", 'needs "title"')
    try:
        title = clean_title(document["title"])
    except BadRequest as error:
        _fail("title", f"is invalid ({error.message})")
    _text(title, "title")
    created_at = (_moment(document["createdAt"], "createdAt") if "createdAt" in document
                  else datetime.now(UTC))
    archived = _flag(document.get("archived", False), "archived")
    messages = document.get("messages")
    if not isinstance(messages, list):
        _fail('"messages"', "must be a list")
    if len(messages) > MAX_MESSAGES:
        _fail('"messages"', f"must hold at most {MAX_MESSAGES:,} messages")
    parsed = [_message(item, i, created_at, limits) for i, item in enumerate(messages)]
    last_activity = max([created_at] + [m["created_at"] for m in parsed])
    conversation = {"title": title, "created_at": created_at, "archived": archived,
                    "last_activity_at": last_activity}
    return conversation, parsed


def _rows(messages: list[dict]) -> list[Message]:
    # conversation_id: a placeholder until the conversation exists (Insert.set).
    return [Message(conversation_id=0, **{k: v for k, v in m.items() if k != "attachments"})
            for m in messages]


async def import_conversation(document: object, owner: str,
                              limits: TextLimits | None = None) -> Conversation:
    """Create `owner`'s copy of an exported conversation (see the module docstring).
    Checking the document and preparing its rows run in threads, before the transaction:
    for 10,000 messages that is seconds of work that neither the event loop (every other
    request) nor, on SQLite, the database's only connection must wait for."""
    fields, messages = await asyncio.to_thread(parse, document, limits or TextLimits.of(DEFAULTS))
    insert = await database.Insert.prepare(await asyncio.to_thread(_rows, messages))
    conversation = await Conversation.create(owner=UNFINISHED, deleted_at=datetime.now(UTC),
                                             **fields)
    insert.set("conversation_id", conversation.id)
    try:
        # In chunks, a transaction each: on SQLite a transaction holds the only connection,
        # and 10,000 messages (with their search index) would take it for a second or more.
        for start in range(0, len(insert), IMPORT_CHUNK):
            async with in_transaction():
                await insert.run(start, start + IMPORT_CHUNK)
                # An export is one branch in order: each message follows the one before it.
                await versions.link_linear(conversation.id)
        await _import_files(conversation.id, owner, messages)
        await Conversation.filter(id=conversation.id).update(owner=owner, deleted_at=None)
    except BaseException:
        await asyncio.shield(_discard(conversation.id))
        raise
    conversation.owner, conversation.deleted_at = owner, None
    return conversation


async def _import_files(conversation_id: int, owner: str, messages: list[dict]) -> None:
    """The files' text, on the imported messages (in order: the import's ids ascend)."""
    if not any(m["attachments"] for m in messages):
        return
    ids = await Message.filter(conversation_id=conversation_id).order_by("id").values_list(
        "id", flat=True)
    rows = [Attachment(owner=owner, conversation_id=conversation_id, message_id=id_,
                       status=AttachmentStatus.READY, finished_at=datetime.now(UTC),
                       # No original: a hash of the text names it, so no stored file matches.
                       sha256=hashlib.sha256(f["text"].encode()).hexdigest(), **f)
            for id_, m in zip(ids, messages, strict=True) for f in m["attachments"]]
    await Attachment.bulk_create(rows)


async def _discard(conversation_id: int) -> None:
    try:
        async with in_transaction():
            await Attachment.filter(conversation_id=conversation_id).delete()
            await Message.filter(conversation_id=conversation_id).delete()
            await Conversation.filter(id=conversation_id).delete()
    except Exception:
        log.exception("unfinished import %s not deleted (the trash purge will)", conversation_id)


# ----------------------------------------------------------------------------- command line


async def _run(args: argparse.Namespace) -> int:
    from hyperchat import config
    from hyperchat.store import database as db

    await db.connect(config.from_environment()["DATABASE_URL"])
    try:
        if args.command == "export":
            conversation = await Conversation.get_or_none(id=args.id)
            if conversation is None:
                print(f"no conversation {args.id}", file=sys.stderr)
                return 1
            markdown = args.file.endswith(".md")
            text = await (to_markdown if markdown else to_json)(conversation)
            if args.file == "-":
                sys.stdout.write(text)
            else:
                with open(args.file, "w", encoding="utf-8") as out:
                    out.write(text)
            return 0
        with open(args.file, "rb") as source:
            raw = source.read()
        try:
            # Read as the web import reads a request body (web/payloads.py).
            conversation = await import_conversation(parse_json(raw), args.owner)
        except BadRequest as error:
            print(f"{args.file}: {error.message}", file=sys.stderr)
            return 1
        print(conversation.id)
        return 0
    finally:
        await db.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hyperchat.chat.exports",
                                     description="Export or import one conversation.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write one conversation to FILE")
    export.add_argument("id", type=int)
    export.add_argument("file", help="FILE.md for Markdown, any other name for JSON, - for stdout")
    load = commands.add_parser("import", help="create a conversation from a JSON export")
    load.add_argument("file")
    load.add_argument("--owner", required=True,
                      help="the owner identifier (a session's user_identifier)")
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
