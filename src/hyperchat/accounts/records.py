"""Everything an account owns, exported or deleted as a whole."""

import io
import json
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

from tortoise.transactions import in_transaction

from hyperchat.accounts import owner_of
from hyperchat.accounts.merge import owned_models
from hyperchat.chat.exports import conversation_dict
from hyperchat.store.schema import ApiKey, Conversation, Message, User, UserSession


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(rows: list[dict], hidden: tuple[str, ...] = ()) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items() if k not in hidden} for row in rows]


async def export(user: User) -> bytes:
    """A zip: account.json (the account, its sessions and API keys without secrets, and every
    owned table's rows), and one conversation-<id>.json per conversation, trash included."""
    owner = owner_of(user)
    now = datetime.now(UTC)
    document = {
        "format": "hyperchat.account.v1",
        "exported_at": now.isoformat(),
        "account": _rows(await User.filter(id=user.id).values(),
                         ("password_hash", "reset_token_hash", "username_key"))[0],
        "sessions": _rows(await UserSession.filter(user_id=user.id).values(),
                          ("token_hash",)),
        "api_keys": _rows(await ApiKey.filter(user_id=user.id).values(), ("key_hash",)),
    }
    for model in owned_models():
        if model is Conversation:
            continue
        document[model._meta.db_table] = _rows(await model.filter(owner=owner).values())
    conversations = await Conversation.filter(owner=owner).order_by("id")
    messages: dict[int, list[Message]] = {c.id: [] for c in conversations}
    for message in await Message.filter(conversation__owner=owner, on_path=True,
                                        deleted_at=None).order_by("id"):
        messages.setdefault(message.conversation_id, []).append(message)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("account.json", json.dumps(document, ensure_ascii=False, indent=2))
        for conversation in conversations:
            archive.writestr(f"conversation-{conversation.id}.json", json.dumps(
                conversation_dict(conversation, messages[conversation.id], now),
                ensure_ascii=False, indent=2))
    return buffer.getvalue()


async def delete(user: User) -> None:
    """Delete the account and all it owns, in one transaction."""
    owner = owner_of(user)
    async with in_transaction():
        ids = await Conversation.filter(owner=owner).values_list("id", flat=True)
        if ids:
            await Message.filter(conversation_id__in=ids).delete()
        for model in owned_models():
            await model.filter(owner=owner).delete()
        await User.filter(id=user.id).delete()
