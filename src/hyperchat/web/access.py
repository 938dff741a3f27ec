"""Get-or-404 helpers: every view loads what it touches through these, so authorization
never depends on a template's `{% if %}`.

Someone outside a conversation gets exactly what an id that does not exist gets (404, the
same message), on every route, HTML or JSON: a different answer would tell a stranger which
ids exist. Someone in the room who may not do a thing gets 403, saying who may.

What each person in a room may do (`Need`): every member reads and posts (READ); the owner
and admins change settings and membership (MANAGE); share, export, archive and trash are the
owner's (OWN). On messages: people edit only their own; they delete their own, and the owner
and admins delete anyone's (`require_author`, `require_may_delete`)."""

from enum import IntEnum

from hyperchat.chat import rooms, sharing
from hyperchat.store.schema import Attachment, Conversation, MemberRole, Message
from hyperchat.web.errors import Forbidden, NotFound


class Need(IntEnum):
    READ = 0
    MANAGE = 1
    OWN = 2


_REFUSED = {Need.MANAGE: "Only the room's owner and admins can do that.",
            Need.OWN: "Only the conversation's owner can do that."}


def _require(role: MemberRole, need: Need) -> None:
    if need == Need.MANAGE and role not in rooms.MANAGERS \
            or need == Need.OWN and role != MemberRole.OWNER:
        raise Forbidden(_REFUSED[need])


async def _admit(conversation: Conversation | None, who: str, need: Need) -> None:
    role = await rooms.role_of(conversation, who) if conversation is not None else None
    if role is None:
        raise NotFound("That conversation does not exist.")
    _require(role, need)
    # What the templates and views need to know about the person looking.
    conversation.viewer = who
    conversation.viewer_role = role


async def get_conversation(conversation_id: int, who: str,
                           need: Need = Need.READ) -> Conversation:
    conversation = await Conversation.get_or_none(id=conversation_id)
    await _admit(conversation, who, need)
    return conversation


async def get_message(message_id: int, who: str, need: Need = Need.READ) -> Message:
    message = await Message.get_or_none(id=message_id).select_related("conversation")
    if message is None:
        raise NotFound("That message does not exist.")
    try:
        await _admit(message.conversation, who, need)
    except NotFound:
        raise NotFound("That message does not exist.") from None
    return message


async def get_attachment(attachment_id: int, owner: str) -> Attachment:
    attachment = await Attachment.get_or_none(id=attachment_id, owner=owner)
    if attachment is None:
        raise NotFound("That file does not exist (it was removed, or never uploaded).")
    return attachment


def require_author(message: Message, who: str) -> None:
    """Only the person who wrote a message edits it."""
    if rooms.author_of(message, message.conversation) != who:
        raise Forbidden("You can only edit your own messages.")


def require_may_delete(message: Message, who: str) -> None:
    """Your own messages (and the replies you asked for); the owner and admins, anyone's."""
    if rooms.author_of(message, message.conversation) != who \
            and message.conversation.viewer_role not in rooms.MANAGERS:
        raise Forbidden("You can only delete your own messages; the room's owner and "
                        "admins can delete anyone's.")


async def get_shared_conversation(share_id: str) -> Conversation:
    """A conversation shared and not expired; else 404, as if it had never been shared."""
    conversation = await Conversation.get_or_none(share_id=share_id, shared_at__not_isnull=True)
    if conversation is None or not sharing.is_live(conversation):
        raise NotFound("This shared conversation does not exist or is no longer shared.")
    return conversation
