"""Get-or-404 helpers: every view loads what it touches through these, so authorization
never depends on a template's `{% if %}`."""

from hyperchat.store.schema import Conversation, Message
from hyperchat.web.errors import Forbidden, NotFound


async def get_conversation(conversation_id: int, owner: str) -> Conversation:
    conversation = await Conversation.get_or_none(id=conversation_id)
    if conversation is None:
        raise NotFound("That conversation does not exist.")
    if conversation.owner != owner:
        raise Forbidden("That conversation belongs to someone else.")
    return conversation


async def get_message(message_id: int, owner: str) -> Message:
    message = await Message.get_or_none(id=message_id).select_related("conversation")
    if message is None:
        raise NotFound("That message does not exist.")
    if message.conversation.owner != owner:
        raise Forbidden("That message belongs to someone else's conversation.")
    return message


async def get_shared_conversation(share_id: str) -> Conversation:
    conversation = await Conversation.get_or_none(share_id=share_id, shared_at__not_isnull=True)
    if conversation is None:
        raise NotFound("This shared conversation does not exist or is no longer shared.")
    return conversation
