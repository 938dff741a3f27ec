"""Message actions on the tree of versions: edit, regenerate, choose a version, delete and
undo, continue. Each runs in one transaction that locks the conversation, so two tabs acting
on one message at once each get their own version, numbered in order, none lost.

Functions return what changed; the views render it, start generations and publish events.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from hyperchat.chat import audit, versions
from hyperchat.files import attachments
from hyperchat.store.schema import Conversation, Message, MessageEdit, Role, Status
from hyperchat.upstream.client import ChatMessage
from hyperchat.web.errors import BadRequest, NotFound

# What the model is asked to do to continue a reply: portable across providers, unlike
# sending the partial reply as a trailing assistant message (a prefill only some honour).
CONTINUE_PROMPT = ("Continue your last message from exactly where it stopped. Do not repeat "
                   "anything already written and do not add an introduction.")


@dataclass
class Started:
    """A reply to generate: the message, its context, and the thread's change."""

    reply: Message | None  # None: an edit saved without a new reply
    context: list[ChatMessage]
    change: versions.ThreadChange
    prefix: str = ""
    version_id: int | None = None  # an edit's new version of the message


def refuse_deleted(message: Message) -> None:
    if message.deleted_at is not None:
        raise NotFound("That message was deleted.")


def refuse_streaming(message: Message, doing: str) -> None:
    if message.status == Status.STREAMING:
        raise BadRequest(f"This reply is still being written: stop it or let it finish, "
                         f"then {doing}.")


async def _recheck(message: Message, doing: str | None = None) -> None:
    """Under the conversation's lock, check again what another tab may have changed since
    the view loaded the message: deleted meanwhile, or (for `doing`) streaming again."""
    fresh = await Message.get(id=message.id)
    refuse_deleted(fresh)
    if doing is not None:
        refuse_streaming(fresh, doing)


async def ai_is_on(conversation_id: int) -> bool:
    """The conversation's `with_ai` setting, read now (a settings page may have just changed
    it): off, no path writes a reply."""
    found = await Conversation.filter(id=conversation_id).values_list("with_ai", flat=True)
    return bool(found and found[0])


async def refuse_without_ai(conversation_id: int, doing: str) -> None:
    if not await ai_is_on(conversation_id):
        raise BadRequest(f"The AI is off in this conversation (see its settings): turn it on "
                         f"to {doing}.")


async def _touch(conversation_id: int) -> None:
    await Conversation.filter(id=conversation_id).update(last_activity_at=datetime.now(UTC))


async def edit(message: Message, content: str, owner: str, *, rerun: bool = True) -> Started:
    """Save `content` as a new version of a user message and, with `rerun` and the AI on,
    start a new reply to it (else the version is saved alone: `reply` is None); the old
    version and everything after it stay, as another branch."""
    refuse_deleted(message)
    if message.role != Role.USER:
        raise BadRequest("Only your own messages can be edited; regenerate a reply instead.")
    if content == message.content:
        raise BadRequest("The text is unchanged: change something, or press Esc to cancel.")
    replies = await Message.filter(parent_id=message.id, role=Role.ASSISTANT,
                                   status=Status.STREAMING, deleted_at=None).exists()
    if replies:
        raise BadRequest("The reply to this message is still being written: stop it or let "
                         "it finish, then edit.")
    cid = message.conversation_id
    now = datetime.now(UTC)
    async with in_transaction():
        await versions.lock(cid)
        await _recheck(message)
        answer = rerun and await ai_is_on(cid)
        before = await versions.shown_ids(cid)
        new = await versions.add_version(message, content=content, status=Status.COMPLETE,
                                         finished_at=now, model_override=message.model_override,
                                         author=owner)
        # The new version keeps the files: the edit changes the words, not what was attached.
        await attachments.copy_to(message.id, new.id)
        reply = await versions.append(cid, new.id, role=Role.ASSISTANT,
                                      status=Status.STREAMING, author=owner) if answer else None
        await MessageEdit.create(message_id=message.id, new_message_id=new.id,
                                 conversation_id=cid, owner=owner,
                                 original_content=message.content, edited_content=content)
        await audit.record(audit.EDIT, cid, owner, message.id, new_message_id=new.id,
                           reply_id=reply.id if reply else None,
                           original_length=len(message.content), edited_length=len(content))
        await _touch(cid)
        change = await versions.change(cid, before)
    context = await versions.context(cid, new.id) if reply else []
    return Started(reply, context, change, version_id=new.id)


async def regenerate(message: Message, owner: str, temperature: float | None,
                     model: str, *, doing: str = "regenerate") -> Started:
    """A new version of a reply, from the same context; the old one stays as a branch.
    (A retry after a failure is the same, `doing="retry"`, audited with `retry: true`.)"""
    refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only a reply can be regenerated; edit your message instead.")
    refuse_streaming(message, doing)
    cid = message.conversation_id
    await refuse_without_ai(cid, doing)
    async with in_transaction():
        await versions.lock(cid)
        await _recheck(message, doing)
        before = await versions.shown_ids(cid)
        # The one who asks for the new version pays for it (and is its author).
        reply = await versions.add_version(message, status=Status.STREAMING,
                                           temperature=temperature, author=owner)
        retry = {"retry": True} if doing == "retry" else {}
        await audit.record(audit.REGENERATE, cid, owner, message.id, new_message_id=reply.id,
                           temperature=temperature, model=model, **retry)
        await _touch(cid)
        change = await versions.change(cid, before)
    return Started(reply, await versions.context(cid, message.parent_id), change)


async def choose(message: Message, owner: str) -> versions.ThreadChange:
    """Show `message`'s branch: it becomes the current version of its turn."""
    refuse_deleted(message)
    cid = message.conversation_id
    async with in_transaction():
        await versions.lock(cid)
        await _recheck(message)
        before = await versions.shown_ids(cid)
        await versions.choose(message)
        await audit.record(audit.SELECT_VERSION, cid, owner, message.id)
        return await versions.change(cid, before)


async def delete(message: Message, owner: str) -> versions.ThreadChange:
    """Delete a message (a user message with its replies). It leaves the page and every
    context; if its turn has other versions, the nearest one is shown instead."""
    refuse_deleted(message)
    refuse_streaming(message, "delete it")
    cid = message.conversation_id
    ids = [message.id]
    if message.role == Role.USER:
        replies = await Message.filter(parent_id=message.id, role=Role.ASSISTANT,
                                       deleted_at=None).values_list("id", "status")
        if any(status == Status.STREAMING for _, status in replies):
            raise BadRequest("The reply to this message is still being written: stop it or "
                             "let it finish, then delete.")
        ids += [id_ for id_, _ in replies]
    async with in_transaction():
        await versions.lock(cid)
        await _recheck(message, "delete it")
        before = await versions.shown_ids(cid)
        await Message.filter(id__in=ids).update(deleted_at=datetime.now(UTC))
        siblings = await versions.siblings_of(message).filter(deleted_at=None) \
            .order_by("id").values_list("id", flat=True)
        switched = None
        if siblings:
            later = [i for i in siblings if i > message.id]
            switched = later[0] if later else siblings[-1]
            await versions.choose(await Message.get(id=switched))
        await audit.record(audit.DELETE, cid, owner, message.id, deleted_ids=ids,
                           shown_instead=switched)
        return await versions.change(cid, before)


async def restore(message: Message, owner: str, undo_seconds: float) -> versions.ThreadChange:
    """Undo a delete: the message (and the replies deleted with it) come back, shown."""
    if message.deleted_at is None:
        raise BadRequest("That message is not deleted.")
    if message.deleted_at < datetime.now(UTC) - timedelta(seconds=undo_seconds):
        raise BadRequest("It is too late to undo this delete.")
    cid = message.conversation_id
    async with in_transaction():
        await versions.lock(cid)
        if (await Message.get(id=message.id)).deleted_at is None:
            raise BadRequest("That message is not deleted.")
        before = await versions.shown_ids(cid)
        together = [message.id]
        if message.role == Role.USER:
            together += await Message.filter(
                parent_id=message.id, deleted_at=message.deleted_at).values_list("id", flat=True)
        await Message.filter(id__in=together).update(deleted_at=None)
        message.deleted_at = None
        await versions.choose(message)
        await audit.record(audit.RESTORE, cid, owner, message.id, restored_ids=together)
        return await versions.change(cid, before)


async def continue_(message: Message, owner: str) -> Started:
    """Stream more of a reply that was stopped or cut by the length limit onto itself."""
    refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only a reply can be continued.")
    refuse_streaming(message, "continue")
    if not (message.status == Status.STOPPED or (message.status == Status.COMPLETE
                                                  and message.finish_reason == "length")):
        raise BadRequest("Only a reply that was stopped or cut short by the length limit "
                         "can be continued.")
    cid = message.conversation_id
    await refuse_without_ai(cid, "continue")
    async with in_transaction():
        await versions.lock(cid)
        updated = await Message.filter(id=message.id, status=message.status).update(
            status=Status.STREAMING, error=None, finish_reason=None)
        if not updated:
            raise BadRequest("This reply changed meanwhile: reload and try again.")
        await audit.record(audit.CONTINUE, cid, owner, message.id,
                           length_before=len(message.content))
        await _touch(cid)
    prefix = message.content
    message.status = Status.STREAMING
    context = await versions.context(cid, message.parent_id)
    context += [ChatMessage(Role.ASSISTANT, prefix), ChatMessage(Role.USER, CONTINUE_PROMPT)]
    change = versions.ThreadChange(inserts=[versions.Insert(
        message.id, "outerHTML", await versions.annotate([message]))])
    return Started(message, context, change, prefix=prefix)


async def purge_deleted(undo_seconds: float) -> int:
    """Erase the text of messages deleted longer ago than the undo window; the rows stay as
    tombstones (the branch runs on through them)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=undo_seconds)
    # Ids first: SQLite's row count would include the search index's trigger writes.
    ids = await Message.filter(deleted_at__lt=cutoff).exclude(content="").values_list(
        "id", flat=True)
    if ids:
        await Message.filter(id__in=list(ids)).update(content="")
    return len(ids)
