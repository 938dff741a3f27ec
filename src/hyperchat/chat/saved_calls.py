"""A /v1 call saved in a conversation (seed 003's auto-saved sessions): the call names the
conversation (`X-Hyperchat-Session: <id>` or `new`), and when it ends its new turn and the
reply are appended at the end of the branch shown, as if sent from the app.

The new turn is what the request carries after its last assistant message (the earlier
messages are the history the client keeps, already saved by its earlier calls); a new
conversation takes every message of the request, and its title from the first user message
(the app's title rule). Only text is stored: content parts are joined, tool messages and
tool calls are the client's business.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from hyperchat.chat import versions
from hyperchat.chat.completions import Call
from hyperchat.chat.conversations import title_from
from hyperchat.store.schema import INT_MAX, Conversation, Message, Role, Status, storable
from hyperchat.web.errors import BadRequest

NEW = "new"
STOPPED_TEXT = "The API call ended before the reply finished."
KEPT_ROLES = {"system": Role.SYSTEM, "developer": Role.SYSTEM, "user": Role.USER,
              "assistant": Role.ASSISTANT}


@dataclass
class Saved:
    conversation: Conversation
    before: list[int]  # the branch shown before the call's messages (for the live change)
    reply: Message


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return content or ""


def new_turn(messages: list[dict], whole: bool) -> list[tuple[Role, str]]:
    """The messages to store: all of them (a new conversation), or those after the last
    assistant message."""
    start = 0
    if not whole:
        for at, message in enumerate(messages):
            if message["role"] == "assistant":
                start = at + 1
    turn = [(KEPT_ROLES[m["role"]], storable(_text(m["content"])))
            for m in messages[start:] if m["role"] in KEPT_ROLES]
    return [(role, text) for role, text in turn if text.strip()]


def check_turn(messages: list[dict], whole: bool) -> list[tuple[Role, str]]:
    """The turn to store; refused, before the provider is called, when it has no user text."""
    turn = new_turn(messages, whole)
    if not any(role == Role.USER for role, _ in turn):
        raise BadRequest("To save a call in a session, its messages must end with a user "
                         "message with text (after the last assistant message).")
    return turn


async def open_session(owner: str, named: int | str, messages: list[dict],
                       load) -> tuple[Conversation, bool]:
    """The conversation a call is saved in: `load(id)` (the caller's get-or-404), or for NEW
    one made now, titled by the app's rule, so that its id is in the response's headers
    (`forget` removes it if the call fails before any reply)."""
    whole = named == NEW
    turn = check_turn(messages, whole)
    if not whole:
        return await load(named), False
    first = next(text for role, text in turn if role == Role.USER)
    return await Conversation.create(owner=owner, title=title_from(first)), True


async def forget(conversation: Conversation) -> None:
    """Remove a conversation made for a call that failed before anything was saved in it."""
    if not await Message.filter(conversation_id=conversation.id).exists():
        await conversation.delete()


async def save(conversation: Conversation, whole: bool, call: Call, status: Status) -> Saved:
    """Append the call's new turn (`whole`: every message) and its reply (`status`: complete,
    stopped or error) at the end of the branch shown, in one transaction."""
    now = datetime.now(UTC)
    turn = new_turn(call.request.messages, whole)
    prompt, completion, estimated = call.counts()
    async with in_transaction():
        await Conversation.filter(id=conversation.id).update(last_activity_at=now)
        await versions.lock(conversation.id)
        before = await versions.shown_ids(conversation.id)
        parent_id = await versions.leaf_id(conversation.id)
        for role, text in turn:
            message = await versions.append(conversation.id, parent_id, role=role,
                                            content=text, status=Status.COMPLETE,
                                            finished_at=now)
            parent_id = message.id
        reply = await versions.append(
            conversation.id, parent_id, role=Role.ASSISTANT,
            content=storable(call.summary.text), status=status,
            error=None if status == Status.COMPLETE else STOPPED_TEXT,
            reasoning=storable(call.summary.reasoning) if call.summary.reasoning else None,
            model_id_used=call.model[:200], prompt_tokens=prompt, completion_tokens=completion,
            tokens_estimated=estimated, finish_reason=call.finish_reason()[:32],
            temperature=call.request.options.get("temperature"), finished_at=now)
    call.conversation_id, call.message_id = conversation.id, reply.id
    return Saved(conversation, before, reply)


def session_id(header: str | None) -> int | str | None:
    """The header's value: None (not saved), NEW, or a conversation id (the caller loads it,
    which is a 404 for someone else's)."""
    if header is None:
        return None
    value = header.strip()
    if value.lower() == NEW:
        return NEW
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise BadRequest("X-Hyperchat-Session must be a session id or `new`.")
    if not 1 <= int(value) <= INT_MAX:  # no such row: the caller's get-or-404 says so
        return 0
    return int(value)
