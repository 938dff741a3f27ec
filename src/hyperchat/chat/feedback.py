"""Feedback on replies: one editable record per person and reply (table
message_feedback), holding the vote, reason chips and free text."""

import json

from tortoise.exceptions import IntegrityError

from hyperchat.chat import audit
from hyperchat.store.schema import Conversation, FeedbackType, Message, MessageFeedback
from hyperchat.web.errors import BadRequest

# Reason chips, per vote. "other" asks for the free text.
REASONS = {
    FeedbackType.UPVOTE: {
        "accurate": "Accurate", "helpful": "Helpful", "well_written": "Well written",
        "followed_instructions": "Followed instructions", "other": "Other",
    },
    FeedbackType.DOWNVOTE: {
        "not_factual": "Not factually correct",
        "not_following_instructions": "Didn't follow instructions",
        "too_long": "Too long", "too_short": "Too short", "unsafe": "Unsafe or harmful",
        "other": "Other",
    },
}
RATING_TYPES = {1: FeedbackType.UPVOTE, -1: FeedbackType.DOWNVOTE}


def reasons_of(record: MessageFeedback | None) -> list[str]:
    return json.loads(record.reasons) if record else []


async def of(message: Message, owner: str) -> MessageFeedback | None:
    return await MessageFeedback.get_or_none(message_id=message.id, owner=owner)


async def record_vote(message: Message, owner: str, rating: int) -> MessageFeedback | None:
    """A vote sets the person's record (the type changes and any reasons of the other type
    go; 0 clears the vote and the record) and, the owner's vote, the reply's rating column
    (what analytics and exports read). In a room each person's vote is their own record;
    pages show each person theirs (chat/rooms.py:own_votes)."""
    if owner == await Conversation.filter(id=message.conversation_id).first().values_list(
            "owner", flat=True):
        await Message.filter(id=message.id).update(rating=rating)
    message.rating = rating
    if rating == 0:
        await MessageFeedback.filter(message_id=message.id, owner=owner).delete()
        return None
    kind = RATING_TYPES[rating]
    ip, agent = audit.client()
    record = await of(message, owner)
    if record is None:
        try:
            return await MessageFeedback.create(
                message_id=message.id, conversation_id=message.conversation_id, owner=owner,
                feedback_type=kind, client_ip=ip, user_agent=agent)
        except IntegrityError:
            # Two votes at once: the other made the record a moment ago; this one updates it.
            record = await MessageFeedback.get(message_id=message.id, owner=owner)
    if record.feedback_type != kind:
        record.feedback_type, record.reasons = kind, "[]"
    record.client_ip, record.user_agent = ip, agent
    await record.save()
    return record


def parse(form, max_chars: int) -> tuple[int, list[str], str]:
    """Validate a feedback form: vote (up/down), reasons of that vote, free text."""
    raw = form.get("feedback_type", "")
    kind = {"upvote": FeedbackType.UPVOTE, "downvote": FeedbackType.DOWNVOTE}.get(
        raw if isinstance(raw, str) else "")
    if kind is None:
        raise BadRequest("feedback_type must be upvote or downvote.")
    reasons = form.getlist("reasons")
    if not all(isinstance(r, str) for r in reasons):
        raise BadRequest("reasons must be a list of reason codes.")
    unknown = [str(r) for r in reasons if r not in REASONS[kind]]
    if unknown:
        raise BadRequest(f"Unknown reason for a {kind}: {', '.join(unknown)}.")
    comment = form.get("comment") or ""
    if not isinstance(comment, str):
        raise BadRequest("comment must be text.")
    comment = comment.strip()
    if len(comment) > max_chars:
        raise BadRequest(f"The comment is {len(comment):,} characters long; the limit is "
                         f"{max_chars:,}. Shorten it and save again.")
    return (1 if kind == FeedbackType.UPVOTE else -1), list(dict.fromkeys(reasons)), comment


async def save(message: Message, owner: str, rating: int, reasons: list[str],
               comment: str) -> MessageFeedback:
    record = await record_vote(message, owner, rating)
    record.reasons, record.comment = json.dumps(reasons), comment
    await record.save()
    return record
