"""Tortoise models. The schema itself lives in migrations/ (aerich), never in generate_schemas.

Every text column holds only storable text, by one rule applied the same way on SQLite and
PostgreSQL (`storable`): NUL characters are removed (PostgreSQL text cannot hold them) and
unpaired surrogates, which are not Unicode scalar values and cannot be encoded as UTF-8, are
replaced with U+FFFD. The rule runs in the text fields themselves, so no write path (a save,
an update, a bulk import) can skip it. Request input never gets that far: web/payloads.py
refuses such text with a 400; the rule is for text that cannot be refused, such as a reply
already streamed by the upstream.
"""

import re
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


# Every id and count column is a 32-bit INTEGER on PostgreSQL: a larger value cannot be stored,
# or even compared with one of them, so input beyond it is refused (web/payloads.py).
INT_MAX = 2**31 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` as every text column stores it: NUL removed, unpaired surrogates as U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return text


def unstorable(text: str) -> str | None:
    """Why `text` would be changed by `storable`, or None when it is stored as it is."""
    if "\x00" in text:
        return "a NUL character (U+0000)"
    if not text.isascii() and (found := _SURROGATE.search(text)):
        return f"an unpaired surrogate (U+{ord(found.group()):04X}), which is not valid Unicode"
    return None


class _Storable:
    """Mixed into the text fields: `storable` on the way in; on the way out too, for rows
    written before the rule existed (SQLite accepted NUL)."""

    def to_db_value(self, value, instance):
        value = super().to_db_value(value, instance)
        return storable(value) if isinstance(value, str) else value

    def to_python_value(self, value):
        value = super().to_python_value(value)
        return storable(value) if isinstance(value, str) else value

    def describe(self, serializable: bool):
        # The same column as the plain field: the schema (and aerich's diff) does not change.
        description = super().describe(serializable)
        base = type(self).__mro__[2]
        description["field_type"] = base.__name__ if serializable else base
        return description


class TextField(_Storable, fields.TextField):
    pass


class CharField(_Storable, fields.CharField):
    pass


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class Status(StrEnum):
    STREAMING = "streaming"
    COMPLETE = "complete"
    STOPPED = "stopped"
    ERROR = "error"


class Mode(StrEnum):
    SOLO = "solo"
    PARTNER = "partner"
    GROUP = "group"


# A reply in these states is finished: it can be shown on a share page and sent as context.
FINISHED = (Status.COMPLETE, Status.STOPPED)


class Conversation(Model):
    id = fields.IntField(primary_key=True)
    share_id = CharField(max_length=SHARE_ID_LENGTH, unique=True, db_index=True,
                                default=new_share_id)
    # The session's random identifier today; an account id once accounts exist.
    owner = CharField(max_length=64, db_index=True)
    title = CharField(max_length=200, default="New chat")
    # Null: private. Otherwise the moment the owner pressed Share; the share page shows the
    # copy taken then (SharedMessage), and pressing Share again takes a new one.
    shared_at = fields.DatetimeField(null=True)
    # Null: the share never expires. Past it, the link answers 404 like an unshared one.
    share_expires_at = fields.DatetimeField(null=True)
    # How many times the share page was opened since the current share was made.
    share_views = fields.IntField(default=0, db_default=0)
    archived = fields.BooleanField(default=False)
    # Null: not in the trash. Otherwise when it was moved there (purged after the retention).
    deleted_at = fields.DatetimeField(null=True)
    # The sidebar's order: moves only when a message is added, so renaming never reorders.
    last_activity_at = fields.DatetimeField(auto_now_add=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Settings (views/settings.py). Null default model: the server's DEFAULT_MODEL answers.
    default_model_id = CharField(max_length=200, null=True)
    mode = fields.CharEnumField(Mode, max_length=16, default=Mode.SOLO, db_default="solo")
    # Off: messages are saved and no reply is generated.
    with_ai = fields.BooleanField(default=True, db_default=True)
    # On: the share page lists the messages' attachments (names and extracted text, never
    # the originals). Off by default: a file is often more private than the chat about it.
    share_attachments = fields.BooleanField(default=False, db_default=False)
    # Partner and group rooms: on, the AI answers every message; off, only when addressed
    # (chat/rooms.py:addressed). Solo conversations always answer every message.
    ai_answers_all = fields.BooleanField(default=False, db_default=False)

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
    content = TextField(default="")
    # A reasoning model's thought process, shown folded above the reply and never sent back
    # as context. Null: none (not a reasoning model, or CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS off).
    reasoning = TextField(null=True)
    rating = fields.IntField(default=0)
    model_id_used = CharField(max_length=200, null=True)
    prompt_tokens = fields.IntField(null=True)
    completion_tokens = fields.IntField(null=True)
    # True when the upstream sent no usage and the counts above are our ~4 chars/token guess.
    tokens_estimated = fields.BooleanField(default=False)
    status = fields.CharEnumField(Status, max_length=16, default=Status.COMPLETE)
    error = TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    # On a user message: the model the person picked for this one message (null: none), which
    # wins over the conversation's default for its reply and that reply's retries.
    model_override = CharField(max_length=200, null=True)
    # Versions and branches (chat/versions.py): a message follows its parent; siblings (same
    # parent and role) are versions of one turn, of which `current` is the one chosen.
    # `on_path` marks the conversation's active branch, so pages read it in one query.
    # A plain id, not a foreign key: a row is never deleted alone, and bulk deletes of a
    # whole conversation must not depend on the order rows go in.
    parent_id = fields.IntField(null=True)
    current = fields.BooleanField(default=True, db_default=True)
    on_path = fields.BooleanField(default=True, db_default=True)
    # Null: not deleted. Deleted messages leave every page and every context; Undo clears it.
    deleted_at = fields.DatetimeField(null=True)
    # The version this one regenerates (a reply) or edits (a user message).
    version_of_id = fields.IntField(null=True)
    temperature = fields.FloatField(null=True)
    finish_reason = CharField(max_length=32, null=True)
    # Latency breakdown, in milliseconds: our server before the upstream call, the upstream's
    # time to first token, and first token to the end of the stream.
    server_ms = fields.IntField(null=True)
    ttft_ms = fields.IntField(null=True)
    stream_ms = fields.IntField(null=True)
    # On a reply: the address that asked for it. Until accounts exist, a person is a cookie,
    # and a fresh cookie would reset their limits: the concurrent-replies limit also counts
    # per address (metering/quotas.py).
    client_address = CharField(max_length=64, null=True)
    # Who: on a user message, the person who wrote it; on a reply, the person who asked for
    # it, who pays for it (limits, budgets, its usage record). An owner string ("u:<id>" or a
    # guest id). Null on rows written before rooms had several people: the conversation's
    # owner, the only person who could write then (chat/rooms.py:author_of).
    author = CharField(max_length=64, null=True)

    class Meta:
        table = "message"
        ordering = ["id"]
        # Every page reads one conversation's messages in order.
        indexes = [Index(fields=["conversation_id", "id"], name="idx_message_conversation"),
                   Index(fields=["conversation_id", "parent_id"], name="idx_message_parent"),
                   # The replies still streaming: few, looked for by every worker's reaper
                   # (lifecycle.py) and by the concurrency limit (a scan read every message).
                   Index(fields=["status"], name="idx_message_status"),

                   Index(fields=["client_address", "status"], name="idx_message_address")]

    @property
    def is_assistant(self) -> bool:
        return self.role == Role.ASSISTANT


class AttachmentStatus(StrEnum):
    EXTRACTING = "extracting"
    READY = "ready"
    ERROR = "error"


class Attachment(Model):
    """A file a person uploaded: its text as extracted (what the model is given) and where
    its original is (`sha256`, the key in hyperchat/files/storage.py). Staged (no message)
    until sent with a message; then it belongs to the message's conversation and goes with
    it."""

    id = fields.IntField(primary_key=True)
    owner = CharField(max_length=64, db_index=True)
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="attachments", null=True,
        on_delete=fields.CASCADE)
    # A plain id, as Message.parent_id: messages are deleted in bulk with their conversation.
    message_id = fields.IntField(null=True, db_index=True)
    name = CharField(max_length=255)
    kind = CharField(max_length=16)  # files/sniffing.py's kinds: pdf, docx, text, image, audio
    media_type = CharField(max_length=100)
    size = fields.IntField()
    sha256 = CharField(max_length=64, db_index=True)
    status = fields.CharEnumField(AttachmentStatus, max_length=16,
                                  default=AttachmentStatus.EXTRACTING)
    error = TextField(null=True)
    text = TextField(default="")
    # PDFs: pages read so far and in all (the chip's "page N of M"), and how many were OCR'd.
    pages_done = fields.IntField(null=True)
    pages_total = fields.IntField(null=True)
    ocr_pages = fields.IntField(default=0, db_default=0)
    # Tesseract's mean word confidence (0-100) over what was OCR'd; null: nothing was.
    ocr_confidence = fields.FloatField(null=True)
    tokens = fields.IntField(default=0, db_default=0)
    # The text was cut to ATTACHMENT_MAX_TOKENS (the chip and the model's document say so).
    truncated = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "attachment"
        ordering = ["id"]


class FeedbackType(StrEnum):
    UPVOTE = "upvote"
    DOWNVOTE = "downvote"


class MemberRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class ConversationMember(Model):
    """A person in a partner or group room besides its owner.

    The owner has no row: `Conversation.owner` already says who it is, every conversation
    made before rooms existed stays a solo one without a data migration, and a guest (who has
    no account, so cannot be a row's `user`) still owns its conversations. Everyone else here
    is an account: guests cannot be invited."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="members", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE)
    # ADMIN or MEMBER (the owner is Conversation.owner).
    role = fields.CharEnumField(MemberRole, max_length=16, default=MemberRole.MEMBER)
    joined_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conversation_member"
        unique_together = (("conversation", "user"),)
        # The sidebar and search ask "which rooms is this account in".
        indexes = [Index(fields=["user_id", "conversation_id"], name="idx_member_user")]


class InviteLink(Model):
    """A link that lets an account join a room: a random token (only its sha256 stored),
    an expiry, a maximum number of uses, revocable."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="invites", on_delete=fields.CASCADE)
    token_hash = CharField(max_length=64, unique=True)
    created_by = CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Null: never expires.
    expires_at = fields.DatetimeField(null=True)
    # Null: no limit.
    max_uses = fields.IntField(null=True)
    uses = fields.IntField(default=0, db_default=0)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invite_link"


class MessageFeedback(Model):
    """One editable record per person and reply: the vote, reasons and free text."""

    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="feedback", on_delete=fields.CASCADE)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="feedback", on_delete=fields.CASCADE)
    owner = CharField(max_length=64)
    feedback_type = fields.CharEnumField(FeedbackType, max_length=16)
    # A JSON list of reason codes (feedback.REASONS).
    reasons = TextField(default="[]")
    comment = TextField(default="")
    client_ip = CharField(max_length=64, null=True)
    user_agent = CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "message_feedback"
        unique_together = (("owner", "message"),)


class MessageEdit(Model):
    """Every edit of a user message: the text before and after, and the version it made."""

    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="edits", on_delete=fields.CASCADE)
    new_message_id = fields.IntField()
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="edits", on_delete=fields.CASCADE)
    owner = CharField(max_length=64)
    original_content = TextField()
    edited_content = TextField()
    edited_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "message_edit_history"


class SharedMessage(Model):
    """A copy of one message as its conversation's share page showed it when the owner
    pressed Share: later edits, version switches and deletes change nothing on that page
    until the owner shares again (which replaces the whole copy)."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="shared_messages", on_delete=fields.CASCADE)
    # The order on the page, from 0.
    position = fields.IntField()
    # The message copied (a plain id: the copy outlives the message being purged). The page
    # uses it for its element ids, as the conversation page does.
    message_id = fields.IntField()
    role = fields.CharEnumField(Role, max_length=16)
    content = TextField(default="")
    reasoning = TextField(null=True)
    status = fields.CharEnumField(Status, max_length=16)
    model_id_used = CharField(max_length=200, null=True)
    prompt_tokens = fields.IntField(null=True)
    completion_tokens = fields.IntField(null=True)
    tokens_estimated = fields.BooleanField(default=False)
    server_ms = fields.IntField(null=True)
    ttft_ms = fields.IntField(null=True)
    stream_ms = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "shared_message"
        unique_together = (("conversation", "position"),)


class ActionLog(Model):
    """The audit log: every action on a message, who did it, from where, and what changed."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="action_logs", on_delete=fields.CASCADE)
    # A plain id: the log outlives a message's content being purged.
    message_id = fields.IntField(null=True)
    action_type = CharField(max_length=32)
    owner = CharField(max_length=64)
    # JSON: what the action changed (new version id, temperature, reasons...).
    details = TextField(default="{}")
    client_ip = CharField(max_length=64, null=True)
    user_agent = CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_action_logs"
        indexes = [Index(fields=["conversation_id", "id"], name="idx_action_log_conversation"),
                   Index(fields=["owner", "created_at"], name="idx_action_log_owner")]


class UsageRecord(Model):
    """What one reply used and cost: one row per reply that reached the upstream.

    Kept when its conversation is deleted for good (conversation set to null), so budgets
    and the dashboard's totals cannot be reset by deleting conversations."""

    id = fields.IntField(primary_key=True)
    owner = CharField(max_length=64)
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="usage_records", null=True,
        on_delete=fields.SET_NULL)
    # A plain id: the record outlives the reply.
    message_id = fields.IntField(null=True, unique=True)
    # The API key of a /v1 call (a plain id: the record outlives a deleted key); null for
    # replies written in the app.
    api_key_id = fields.IntField(null=True)
    model = CharField(max_length=200)
    prompt_tokens = fields.IntField(default=0)
    completion_tokens = fields.IntField(default=0)
    total_tokens = fields.IntField(default=0)
    # USD. Null: unknown (no usage.cost and no catalog price for the model).
    cost = fields.DecimalField(max_digits=20, decimal_places=10, null=True)
    # "provider" (the stream's usage.cost) or "catalog" (tokens x the catalog's prices).
    cost_source = CharField(max_length=16, null=True)
    # True when the upstream sent no usage and the counts are our ~4 chars/token guess.
    tokens_estimated = fields.BooleanField(default=False)
    # Time to first token measured by this server (null: no text arrived).
    ttft_ms = fields.IntField(null=True)
    # The address that asked for the reply: daily budgets also count per address.
    client_address = CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "usage_record"
        indexes = [Index(fields=["owner", "created_at"], name="idx_usage_owner_created"),
                   Index(fields=["client_address", "created_at"],
                         name="idx_usage_address_created"),
                   Index(fields=["model", "created_at"], name="idx_usage_model_created")]


class Budget(Model):
    """A person's own daily budget; the server's DAILY_*_BUDGET settings cap everyone."""

    owner = CharField(max_length=64, primary_key=True)
    daily_tokens = fields.IntField(null=True)
    daily_cost = fields.DecimalField(max_digits=20, decimal_places=10, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "budget"


class AccountRole(StrEnum):
    ADMIN = "admin"
    USER = "user"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    # Signed up under the "approval" policy: cannot sign in until an admin approves.
    PENDING = "pending"
    # Stopped by an admin: its sessions and API keys stop working at once.
    DISABLED = "disabled"


class User(Model):
    """An account. Its conversations and everything else it owns carry the owner string
    `accounts.owner_of(user)` ("u:<id>"), in the same columns a guest's random id fills."""

    id = fields.IntField(primary_key=True)
    # As typed at sign-up, shown on pages.
    username = CharField(max_length=64)
    # NFKC + casefold of the username: "Alice", "alice" and "ａｌｉｃｅ" are one name.
    username_key = CharField(max_length=64, unique=True)
    email = CharField(max_length=254, null=True)
    # Argon2id, in the PHC string format (parameters inside, so a change shows on sign-in).
    password_hash = CharField(max_length=255)
    role = fields.CharEnumField(AccountRole, max_length=16, default=AccountRole.USER)
    status = fields.CharEnumField(AccountStatus, max_length=16, default=AccountStatus.ACTIVE)
    # A one-time password-reset link an admin made (sha256 of its token) and its expiry.
    reset_token_hash = CharField(max_length=64, null=True, unique=True)
    reset_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_sign_in_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account"


class UserSession(Model):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored, and
    deleting the row signs that browser out on every worker at its next request."""

    id = fields.IntField(primary_key=True)
    token_hash = CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    remember = fields.BooleanField(default=False)
    client_ip = CharField(max_length=64, null=True)
    user_agent = CharField(max_length=500, null=True)

    class Meta:
        table = "account_session"
        indexes = [Index(fields=["user_id", "created_at"], name="idx_account_session_user")]


class ApiKey(Model):
    """A named key for programs (`Authorization: Bearer <key>`). Shown once; stored as the
    sha256 of the key (it is random and long, so a slow hash adds nothing) with a visible
    prefix to tell keys apart."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", on_delete=fields.CASCADE)
    name = CharField(max_length=100)
    prefix = CharField(max_length=16)
    key_hash = CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
        indexes = [Index(fields=["user_id", "created_at"], name="idx_api_key_user")]


class SignInThrottle(Model):
    """Failed sign-ins per account name and per address (see accounts.throttle), in the
    database so that every worker counts the same attempts."""

    key = CharField(max_length=200, primary_key=True)
    failures = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sign_in_throttle"
