"""Rooms: the people in a conversation, their roles, invites, and when the AI answers.

A conversation's owner is `Conversation.owner` (no row); everyone else is a
`ConversationMember` (an account, with the role admin or member). Guests own solo
conversations only: they cannot be invited, since a member row names an account.

The mode caps how many people a room holds: solo 1 (the owner alone), partner 2, group
ROOM_MAX_PEOPLE (20 by default). Joining past the cap, or a mode below the people already
in, is refused.

What the AI sees in a partner or group room: the room's thread shown (the branch everyone
sees, not only the messages addressed to it), with each person's message prefixed by their
name, "alice: text", so that it can tell people apart; its own replies as they are. A solo
conversation's context is unchanged."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from hyperchat.accounts import OWNER_PREFIX, account_names, is_account_owner, owner_of
from hyperchat.accounts.users import username_key
from hyperchat.store.schema import (
    Conversation,
    ConversationMember,
    InviteLink,
    MemberRole,
    Message,
    MessageFeedback,
    Mode,
    Role,
    User,
)
from hyperchat.web.errors import BadRequest, Forbidden, NotFound

ROLES = (MemberRole.ADMIN, MemberRole.MEMBER)
MANAGERS = (MemberRole.OWNER, MemberRole.ADMIN)
INVITE_TOKEN_BYTES = 24
INVITE_MAX_DAYS = 30
INVITE_MAX_USES = 1000


def account_id(who: str) -> int | None:
    """The account id in an owner string, or None for a guest."""
    rest = who.removeprefix(OWNER_PREFIX)
    return int(rest) if is_account_owner(who) and rest.isdigit() else None


def capacity(mode: Mode, group_max: int) -> int:
    return {Mode.SOLO: 1, Mode.PARTNER: 2}.get(Mode(mode), group_max)


def is_room(conversation: Conversation) -> bool:
    return conversation.mode != Mode.SOLO


async def role_of(conversation: Conversation, who: str) -> MemberRole | None:
    """`who`'s role in the conversation, or None when they are not in it."""
    if conversation.owner == who:
        return MemberRole.OWNER
    user_id = account_id(who)
    if user_id is None:
        return None
    role = await ConversationMember.filter(conversation_id=conversation.id,
                                           user_id=user_id).first().values_list("role",
                                                                                flat=True)
    return MemberRole(role) if role else None


@dataclass(frozen=True)
class Person:
    who: str  # the owner string
    name: str
    role: MemberRole
    joined_at: datetime | None

    @property
    def initials(self) -> str:
        return initials(self.name)


def initials(name: str) -> str:
    """One or two letters for an avatar: the first letters of the name's first two parts
    that start with a letter ("ada_lovelace" -> "AL", "bob_42" -> "BO"), or its first two
    letters."""
    parts = [p for p in re.split(r"[\s._-]+", name) if p and p[0].isalpha()] or [name]
    if len(parts) >= 2:
        return (parts[0][0] + parts[1][0]).upper()
    return (name[:2] or "?").upper()


def hue(who: str) -> int:
    """An avatar's colour, stable per person (a hue on the colour wheel)."""
    return int(hashlib.sha256(who.encode()).hexdigest()[:4], 16) % 360


async def people(conversation: Conversation) -> list[Person]:
    """Everyone in the room, the owner first, then by when they joined."""
    # A solo conversation holds its owner alone (the mode's cap): no member rows to read.
    rows = [] if not is_room(conversation) else await ConversationMember.filter(
        conversation_id=conversation.id).order_by("joined_at", "id").values(
        "user_id", "user__username", "role", "joined_at")
    names = await account_names([conversation.owner])
    owner = Person(conversation.owner, names.get(conversation.owner, "You (guest)"),
                   MemberRole.OWNER, conversation.created_at)
    return [owner] + [Person(f"{OWNER_PREFIX}{r['user_id']}", r["user__username"],
                             MemberRole(r["role"]), r["joined_at"]) for r in rows]


async def count(conversation: Conversation) -> int:
    return 1 + await ConversationMember.filter(conversation_id=conversation.id).count()


def require_manager(role: MemberRole | None) -> None:
    if role not in MANAGERS:
        raise Forbidden("Only the room's owner and admins can do that.")


async def _check_room_for_one_more(conversation: Conversation, group_max: int) -> None:
    if conversation.mode == Mode.SOLO:
        raise BadRequest("This is a solo conversation: make it a partner or group room "
                         "first, then invite people.")
    cap = capacity(conversation.mode, group_max)
    if await count(conversation) >= cap:
        raise BadRequest(f"This {conversation.mode} room is full ({cap} people). "
                         + ("Make it a group room to add more." if conversation.mode
                            == Mode.PARTNER else "Remove someone first."))


async def add(conversation: Conversation, user: User, group_max: int,
              role: MemberRole = MemberRole.MEMBER) -> ConversationMember:
    """Put an account in the room (under the conversation's row lock, so two joins at
    once cannot pass the cap together)."""
    if owner_of(user) == conversation.owner:
        raise BadRequest("You are this room's owner already.")
    async with in_transaction():
        await Conversation.select_for_update().filter(id=conversation.id).first()
        if await ConversationMember.exists(conversation_id=conversation.id, user_id=user.id):
            raise BadRequest(f"{user.username} is in this room already.")
        await _check_room_for_one_more(conversation, group_max)
        return await ConversationMember.create(conversation_id=conversation.id,
                                               user_id=user.id, role=role)


async def invite_by_username(conversation: Conversation, username: str,
                             group_max: int) -> User:
    username = (username or "").strip()
    if not username:
        raise BadRequest("Type the username of the person to invite.")
    user = await User.get_or_none(username_key=username_key(username))
    if user is None or user.status != "active":
        raise BadRequest(f"There is no account named {username!r}. Only people with an "
                         "account can be invited: guests cannot join rooms.")
    await add(conversation, user, group_max)
    return user


async def set_role(conversation: Conversation, user_id: int, role: MemberRole) -> None:
    if role not in ROLES:
        raise BadRequest("role must be admin or member.")
    updated = await ConversationMember.filter(conversation_id=conversation.id,
                                              user_id=user_id).update(role=role)
    if not updated:
        raise NotFound("That person is not in this room.")


async def remove(conversation: Conversation, user_id: int, by_role: MemberRole) -> None:
    """Take someone out of the room. Admins remove members; only the owner removes admins;
    nobody removes the owner."""
    row = await ConversationMember.get_or_none(conversation_id=conversation.id,
                                               user_id=user_id)
    if row is None:
        raise NotFound("That person is not in this room.")
    if row.role == MemberRole.ADMIN and by_role != MemberRole.OWNER:
        raise Forbidden("Only the owner can remove an admin.")
    await row.delete()


async def leave(conversation: Conversation, who: str) -> None:
    if conversation.owner == who:
        raise BadRequest("You own this room, so you cannot leave it; delete it instead.")
    user_id = account_id(who)
    await ConversationMember.filter(conversation_id=conversation.id, user_id=user_id).delete()


async def check_mode(conversation: Conversation, mode: Mode, group_max: int) -> None:
    """Refuse a mode that holds fewer people than the room has."""
    people_now = await count(conversation)
    cap = capacity(mode, group_max)
    if people_now > cap:
        raise BadRequest(f"This room has {people_now} people; a {mode} conversation holds "
                         f"{cap}. Remove people first.")


# ----------------------------------------------------------------------------- invite links


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(conversation: Conversation, by: str, days: float | None,
                        max_uses: int | None) -> tuple[InviteLink, str]:
    """A new invite link; the token is returned once (only its hash is kept)."""
    if conversation.mode == Mode.SOLO:
        raise BadRequest("This is a solo conversation: make it a partner or group room "
                         "first, then invite people.")
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    link = await InviteLink.create(conversation_id=conversation.id, token_hash=_hash(token),
                                   created_by=by, expires_at=expires, max_uses=max_uses)
    return link, token


async def invites(conversation: Conversation) -> list[InviteLink]:
    """The links still usable, newest first."""
    now = datetime.now(UTC)
    rows = await InviteLink.filter(conversation_id=conversation.id,
                                   revoked_at=None).order_by("-id")
    return [r for r in rows if usable(r, now)]


def usable(link: InviteLink, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return (link.revoked_at is None
            and (link.expires_at is None or link.expires_at > now)
            and (link.max_uses is None or link.uses < link.max_uses))


async def invite_for(token: str) -> InviteLink:
    """The link a token names, still usable; else 404 (revoked, expired, used up or never
    made all answer alike)."""
    link = await InviteLink.get_or_none(token_hash=_hash(token or "")).select_related(
        "conversation")
    if link is None or not usable(link) or link.conversation.deleted_at is not None:
        raise NotFound("This invite link does not exist, has expired, was used up, or was "
                       "revoked. Ask for a new one.")
    return link


async def join(token: str, user: User, group_max: int) -> Conversation:
    link = await invite_for(token)
    conversation = link.conversation
    async with in_transaction():
        # Counted only if the join happens, and never past max_uses, even with joins at once.
        taken = await InviteLink.filter(id=link.id, uses=link.uses).update(uses=F("uses") + 1)
        if not taken:
            raise BadRequest("Someone used this invite link at the same moment; try again.")
        await add(conversation, user, group_max)
    return conversation


async def revoke(conversation: Conversation, invite_id: int) -> None:
    updated = await InviteLink.filter(id=invite_id, conversation_id=conversation.id,
                                      revoked_at=None).update(revoked_at=datetime.now(UTC))
    if not updated:
        raise NotFound("That invite link does not exist or is revoked already.")


# ----------------------------------------------------------------------------- the AI


def answers(conversation: Conversation, content: str, model: str, asked: bool) -> bool:
    """Whether the AI answers this message: solo, every one (with the AI on); in a room,
    every one when the room says so, else when addressed (`asked`: the Ask AI button)."""
    if not conversation.with_ai:
        return False
    if not is_room(conversation) or conversation.ai_answers_all or asked:
        return True
    return addressed(content, model)


def addressed(content: str, model: str) -> bool:
    """`@ai` as a word, or the model's name ("gpt-4o" for "openai/gpt-4o"), anywhere."""
    text = content.casefold()
    if re.search(r"(?<![\w@])@ai\b", text):
        return True
    name = model.rsplit("/", 1)[-1].casefold()
    return bool(name) and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def author_of(message: Message, conversation: Conversation) -> str:
    return message.author or conversation.owner


async def room_ids(who: str) -> list[int]:
    """The rooms `who` is a member (not the owner) of."""
    user_id = account_id(who)
    if user_id is None:
        return []
    return await ConversationMember.filter(user_id=user_id).values_list("conversation_id",
                                                                        flat=True)


async def own_votes(messages: list[Message], conversation: Conversation) -> None:
    """Show the person looking (`conversation.viewer`) their own votes: the rating column is
    the owner's; anyone else's vote is their feedback record."""
    who = getattr(conversation, "viewer", conversation.owner)
    if who == conversation.owner or not messages:
        return
    votes = dict(await MessageFeedback.filter(
        owner=who, message_id__in=[m.id for m in messages]).values_list("message_id",
                                                                        "feedback_type"))
    for message in messages:
        kind = votes.get(message.id)
        message.rating = 1 if kind == "upvote" else -1 if kind == "downvote" else 0


async def neutral_votes(messages: list[Message]) -> None:
    """Ready replies rendered once for every member's tab (a change pushed to a room): no
    one's vote shows as pressed, and `vote_reload` marks the replies someone voted on, whose
    bubbles then load each reader's own vote (messages/_actions.html). One query, and for
    the replies nobody voted on (a reply that just finished, say) no request from any tab."""
    replies = [m for m in messages if m.role == Role.ASSISTANT]
    voted = set(await MessageFeedback.filter(
        message_id__in=[m.id for m in replies]).values_list("message_id", flat=True)) \
        if replies else set()
    for message in messages:
        # The rating column is the owner's vote (imports may carry one with no record).
        message.vote_reload = message.id in voted or bool(message.rating)
        message.rating = 0
