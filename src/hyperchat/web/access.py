"""Get-or-404 helpers: every view loads what it touches through these, so authorization
never depends on a template's `{% if %}`.

Someone else's id answers exactly as an id that does not exist (404, the same message), on
every route, HTML or JSON: a different answer would tell a stranger which ids exist."""

from hyperchat.chat import sharing
from hyperchat.store.schema import Attachment, Conversation, Message
from hyperchat.web.errors import NotFound


async def get_conversation(conversation_id: int, owner: str) -> Conversation:
    conversation = await Conversation.get_or_none(id=conversation_id, owner=owner)
    if conversation is None:
        raise NotFound("That conversation does not exist.")
    return conversation


async def get_message(message_id: int, owner: str) -> Message:
    message = await Message.get_or_none(id=message_id, conversation__owner=owner) \
        .select_related("conversation")
    if message is None:
        raise NotFound("That message does not exist.")
    return message


async def get_attachment(attachment_id: int, owner: str) -> Attachment:
    attachment = await Attachment.get_or_none(id=attachment_id, owner=owner)
    if attachment is None:
        raise NotFound("That file does not exist (it was removed, or never uploaded).")
    return attachment


async def get_shared_conversation(share_id: str) -> Conversation:
    """A conversation shared and not expired; else 404, as if it had never been shared."""
    conversation = await Conversation.get_or_none(share_id=share_id, shared_at__not_isnull=True)
    if conversation is None or not sharing.is_live(conversation):
        raise NotFound("This shared conversation does not exist or is no longer shared.")
    return conversation
