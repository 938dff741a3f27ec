"""Sending a message: the checked text, then one transaction that saves the person's message
at the end of the branch shown and, with the AI on, the reply to be generated. The caller
starts the generation (chat/generation.py) once this has committed."""

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from hyperchat.chat import versions
from hyperchat.chat.conversations import title_from
from hyperchat.files import attachments
from hyperchat.store.schema import Attachment, Conversation, Message, Role, Status
from hyperchat.upstream.client import ChatMessage
from hyperchat.web.errors import BadRequest


@dataclass
class Sent:
    conversation: Conversation
    message: Message
    reply: Message | None  # None with the AI off: the message is only saved
    new_conversation: bool


def checked_content(value, limit: int, *, empty: str = "Type a message first.",
                    again: str = "send again (your text is still in the box)") -> str:
    """A message's text, stripped; BadRequest when it is not text, empty or too long."""
    content = value or ""
    if not isinstance(content, str):
        raise BadRequest("content must be a string.")
    content = content.strip()
    if not content:
        raise BadRequest(empty)
    if len(content) > limit:
        raise BadRequest(f"Your message is {len(content):,} characters long; the limit is "
                         f"{limit:,}. Shorten it and {again}.")
    return content


async def send(owner: str, conversation: Conversation | None, content: str, *,
               answer: bool, model_override: str | None,
               files: list[Attachment] = (), client_address: str | None = None) -> Sent:
    """Save `content` as `owner`'s next message (`owner`: the person writing, who owns a new
    conversation and is the author in an existing one) (in a new conversation when `conversation` is
    None) and, when `answer`, the streaming reply after it, asked for from `client_address`
    (metering/quotas.py). The message is saved before the upstream is called, so it is never
    lost."""
    now = datetime.now(UTC)
    new = conversation is None
    async with in_transaction():
        if conversation is None:
            # A new conversation: nobody else can see it yet, so there is no branch end to
            # look up and no lock to take.
            conversation = await Conversation.create(
                owner=owner, title=title_from(content or files[0].name))
            parent_id = None
        else:
            # Updating its row takes the conversation's lock (versions.lock's: PostgreSQL's row
            # lock, SQLite's one writer), so the end of the branch shown is found under it and
            # two tabs sending at once make one line, not two branches.
            await Conversation.filter(id=conversation.id).update(last_activity_at=now)
            parent_id = await versions.leaf_id(conversation.id)
        message = await versions.append(
            conversation.id, parent_id, role=Role.USER, content=content,
            status=Status.COMPLETE, finished_at=now, model_override=model_override,
            author=owner)
        await attachments.attach(list(files), conversation.id, message.id)
        message.attachments = list(files)
        # The reply's author is the person who asked for it, who pays for it.
        reply = await versions.append(conversation.id, message.id, role=Role.ASSISTANT,
                                      status=Status.STREAMING, author=owner,
                                      client_address=client_address) if answer else None
    return Sent(conversation, message, reply, new)


async def context_for(sent: Sent) -> list[ChatMessage]:
    """What the model sees for the reply: the branch up to the message just sent."""
    if sent.new_conversation:
        return [ChatMessage(Role.USER.value, attachments.with_documents(
            sent.message.content, sent.message.attachments))]
    return await versions.context(sent.conversation.id, sent.message.id, sent.conversation)
