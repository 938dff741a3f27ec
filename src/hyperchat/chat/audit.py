"""The audit log of message actions: type, message, conversation, actor, address, user agent,
details and time (table chat_action_logs)."""

import json

from quart import request

from hyperchat.store.schema import ActionLog

EDIT = "edit"
REGENERATE = "regenerate"
SELECT_VERSION = "select_version"
DELETE = "delete"
RESTORE = "restore"
CONTINUE = "continue"
FEEDBACK = "feedback"
VOTE = "vote"
STOP = "stop"

LABELS = {
    EDIT: "Edited a message", REGENERATE: "Regenerated a reply",
    SELECT_VERSION: "Switched versions", DELETE: "Deleted", RESTORE: "Undid a delete",
    CONTINUE: "Continued a reply", FEEDBACK: "Gave feedback", VOTE: "Voted",
    STOP: "Stopped a reply",
}


def client() -> tuple[str | None, str | None]:
    """The request's address (the socket's, never a client-supplied X-Forwarded-For: a proxy
    in front should be trusted explicitly, in Hypercorn's ProxyFix) and user agent."""
    agent = request.headers.get("User-Agent")
    return request.remote_addr, agent[:500] if agent else None


async def record(action_type: str, conversation_id: int, owner: str,
                 message_id: int | None = None, **details) -> ActionLog:
    ip, agent = client()
    return await ActionLog.create(
        conversation_id=conversation_id, message_id=message_id, action_type=action_type,
        owner=owner, details=json.dumps(details, sort_keys=True, default=str),
        client_ip=ip, user_agent=agent)


async def entries(conversation_id: int, limit: int = 200) -> list[ActionLog]:
    rows = await ActionLog.filter(conversation_id=conversation_id).order_by("-id").limit(limit)
    for row in rows:
        row.details_dict = json.loads(row.details or "{}")
        row.label = LABELS.get(row.action_type, row.action_type)
    return rows
