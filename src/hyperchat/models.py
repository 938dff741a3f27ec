"""Tortoise models. The schema itself lives in migrations/ (aerich), never in generate_schemas."""

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SHARE_ID_LENGTH = 22  # ceil(128 / log2(62)): every uuid4 fits, left-padded with "0".


def new_share_id() -> str:
    """Return a base62 encoding of a fresh uuid4 (122 random bits), always 22 characters."""
    n = uuid.uuid4().int
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(BASE62[r])
    return "".join(reversed(out)).rjust(SHARE_ID_LENGTH, "0")


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class Status(StrEnum):
    STREAMING = "streaming"
    COMPLETE = "complete"
    STOPPED = "stopped"
    ERROR = "error"


# A reply in these states is finished: it can be shown on a share page and sent as context.
FINISHED = (Status.COMPLETE, Status.STOPPED)


class Conversation(Model):
    id = fields.IntField(primary_key=True)
    share_id = fields.CharField(max_length=SHARE_ID_LENGTH, unique=True, db_index=True,
                                default=new_share_id)
    # The session's random identifier today; an account id once accounts exist.
    owner = fields.CharField(max_length=64, db_index=True)
    title = fields.CharField(max_length=200, default="New chat")
    # Null: private. Otherwise the moment the owner pressed Share; the share page shows
    # the messages that were finished by then (press again to update the snapshot).
    shared_at = fields.DatetimeField(null=True)
    archived = fields.BooleanField(default=False)
    # Null: not in the trash. Otherwise when it was moved there (purged after the retention).
    deleted_at = fields.DatetimeField(null=True)
    # The sidebar's order: moves only when a message is added, so renaming never reorders.
    last_activity_at = fields.DatetimeField(auto_now_add=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    messages: fields.ReverseRelation["Message"]

    class Meta:
        table = "conversation"
        indexes = [Index(fields=["owner", "last_activity_at"], name="idx_conversation_activity")]


class Message(Model):
    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="messages", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16)
    content = fields.TextField(default="")
    rating = fields.IntField(default=0)
    model_id_used = fields.CharField(max_length=200, null=True)
    prompt_tokens = fields.IntField(null=True)
    completion_tokens = fields.IntField(null=True)
    # True when the upstream sent no usage and the counts above are our ~4 chars/token guess.
    tokens_estimated = fields.BooleanField(default=False)
    status = fields.CharEnumField(Status, max_length=16, default=Status.COMPLETE)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "message"
        ordering = ["id"]
        # Every page reads one conversation's messages in order.
        indexes = [Index(fields=["conversation_id", "id"], name="idx_message_conversation")]

    @property
    def is_assistant(self) -> bool:
        return self.role == Role.ASSISTANT
